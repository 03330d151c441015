/**
 * The connlabel name map: /etc/xtables/connlabel.conf read the
 * way libnetfilter_conntrack 1.0.9's nfct_labelmap_new() reads it, so the
 * same names resolve to the same bits and the same file fails the same way.
 *
 * File format: lines `BIT NAME` (BIT a C integer below 1024, NAME made of
 * letters, digits, spaces and `-`, surrounding blanks trimmed); `#` lines,
 * malformed lines, a bit seen before and a name seen before are skipped.
 */
import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { strtoul } from '../libc/numbers';

export const CONNLABEL_CONF = '/etc/xtables/connlabel.conf';

const MAX_BITS = 1024;
/** fgets() buffer of the C reader: longer lines are read in pieces. */
const LINE_MAX = 1023;

export class LabelMap {
  private readonly bits = new Map<string, number>();
  private readonly names: (string | undefined)[] = [];

  private constructor() {}

  /** The bit of a label name, or undefined. */
  bitOf(name: string): number | undefined {
    return this.bits.get(name);
  }

  /**
   * The name of a bit for printing: the name; `''` for a bit below the
   * highest named one that has no name; undefined above it.
   */
  nameOf(bit: number): string | undefined {
    if (bit >= this.names.length) return undefined;
    return this.names[bit] ?? '';
  }

  /** Parses the text of a connlabel.conf; undefined when it names no label (the C reader fails then). */
  static parse(text: string): LabelMap | undefined {
    const map = new LabelMap();
    for (const line of fgetsLines(text)) {
      if (line.startsWith('#')) continue;
      const { value, end } = strtoul(line);
      if (end === 0 || value >= BigInt(MAX_BITS)) continue;
      const bit = Number(value);
      if (map.names[bit] !== undefined) continue;
      const name = trimLabel(line.slice(end));
      if (!name || !/^[A-Za-z0-9 -]*$/.test(name) || map.bits.has(name)) continue;
      map.bits.set(name, bit);
      map.names[bit] = name;
    }
    return map.bits.size > 0 ? map : undefined;
  }
}

/** The result of loading the map: the map, or the line 1.4.7's perror() prints. */
export type LabelMapLoad = { readonly map: LabelMap } | { readonly warning: string };

/**
 * nfct_labelmap_new(NULL) followed by 1.4.7's perror("nfct_labelmap_new")
 * on failure. A file without any valid line fails with errno 0: "Success".
 */
export function loadLabelMap(file: string = CONNLABEL_CONF): LabelMapLoad {
  let text: string;
  try {
    text = readFileSync(file, 'latin1');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    // fopen() of a directory succeeds in C and the first read fails: no labels.
    text = '';
    if (code !== 'EISDIR') return { warning: `nfct_labelmap_new: ${STRERROR[code] ?? code}` };
  }
  const map = LabelMap.parse(text);
  return map ? { map } : { warning: 'nfct_labelmap_new: Success' };
}

/** glibc's strerror() texts for what opening a file can fail with. */
const STRERROR: Readonly<Record<string, string>> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  ENOTDIR: 'Not a directory',
  ELOOP: 'Too many levels of symbolic links',
  ENAMETOOLONG: 'File name too long',
  EMFILE: 'Too many open files',
  ENFILE: 'Too many open files in system',
  EIO: 'Input/output error',
  ENOMEM: 'Cannot allocate memory',
};

/**
 * A label bit set as ctnetlink carries it (CTA_LABELS): 32-bit words in
 * host order, as many as the highest bit needs (libnetfilter_conntrack's
 * nfct_bitmask sizing).
 */
export function labelBitmap(bits: readonly number[]): Buffer {
  const words = new Uint32Array(Math.floor(Math.max(0, ...bits) / 32) + 1);
  for (const bit of bits) words[bit >>> 5]! |= 1 << (bit & 31);
  const out = Buffer.alloc(words.length * 4);
  words.forEach((word, i) => (endianness() === 'LE' ? out.writeUInt32LE(word, i * 4) : out.writeUInt32BE(word, i * 4)));
  return out;
}

/** The pieces fgets() returns with a buffer of LINE_MAX + 1 bytes. */
function* fgetsLines(text: string): Generator<string> {
  let at = 0;
  while (at < text.length) {
    const nl = text.indexOf('\n', at);
    const end = Math.min(nl < 0 ? text.length : nl + 1, at + LINE_MAX);
    yield text.slice(at, end);
    at = end;
  }
}

/** trim_label(): blanks off both ends, the line end dropped; undefined when nothing is left. */
function trimLabel(text: string): string | undefined {
  const nl = text.indexOf('\n');
  const name = (nl < 0 ? text : text.slice(0, nl)).replace(/^[ \f\r\t\v]+/, '').replace(/[ \f\r\t\v]+$/, '');
  return name === '' ? undefined : name;
}
