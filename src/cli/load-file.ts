/**
 * The file of `conntrack -R FILE`: read like 1.4.7 reads it
 * (fgets() pieces of at most 10239 bytes) and cut into argument vectors by
 * its tokenizer (iptables' add_param_to_argv): words split at spaces, tabs
 * and newlines; `"..."` groups (quotes removed, `\x` inside quotes is x, a
 * closing quote ends the word); at most 253 words of at most 1023 bytes.
 *
 * Lines are produced one at a time, because 1.4.7 tokenizes and parses line
 * after line: a tokenizer error on a later line comes after a parse error on
 * an earlier one. The file is never held in memory: it is read in chunks,
 * once (what running the lines needs is spooled, see load-file-spool.ts).
 */
import { isAscii } from 'node:buffer';
import { closeSync, openSync, readSync } from 'node:fs';
import { fastCreate, type FastCreate } from './load-file-fast';
import { ParameterProblem } from './problems';

/** fgets() buffer of 10240 bytes. */
const LINE_MAX = 10239;
/** MAX_ARGC of 1.4.7, counting argv[0] and the terminating slot. */
const ARGC_MAX = 255;
/** Size of the word buffer; a word must leave room for its terminator. */
const WORD_MAX = 1024;

const SPACE = 0x20;
const TAB = 0x09;
const NEWLINE = 0x0a;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const HASH = 0x23;

/** The word being tokenized; its bytes become a string before the next word starts. */
const WORD = Buffer.alloc(WORD_MAX);

/** Bytes read per read(2): many lines at once, and more than one fgets() piece. */
const CHUNK = 64 * 1024;

/** read(2) into buf[offset, offset + length): bytes read, 0 at the end. */
type ReadBytes = (buf: Buffer, offset: number, length: number) => number;

/**
 * A `-R` file, read once. Opened by name, as 1.4.7 fopen()s it: even
 * /dev/stdin then reads a regular file from its start.
 */
export class LoadFile {
  private constructor(private readonly fd: number) {}

  /** Opens FILE (`-` is standard input) as fopen() does in 1.4.7, and fails with its message. */
  static open(name: string): LoadFile {
    const file = name === '-' ? '/dev/stdin' : name;
    try {
      return new LoadFile(openSync(file, 'r'));
    } catch {
      throw new ParameterProblem(`Failed to open file ${file} for reading`);
    }
  }

  /**
   * The argument vectors of the file's command lines, `progname` as
   * argv[0]: blank lines and `#` lines (after leading blanks) yield nothing.
   * A common `-I`/`-A` line comes decided instead (load-file-fast.ts).
   */
  *commands(progname: string): Generator<string[] | FastCreate> {
    const read: ReadBytes = (buf, offset, length) => readOrEnd(() => readSync(this.fd, buf, offset, length, null));
    for (const piece of fgetsPieces(read)) {
      const fast = fastCreate(piece);
      if (fast) {
        yield fast;
        continue;
      }
      const words = tokenizeLine(piece, progname);
      if (words) yield words;
    }
  }

  close(): void {
    closeSync(this.fd);
  }
}

/**
 * fgets() stops at a read error as at the end of the file: 1.4.7 then runs
 * the lines it has (a directory opens fine and reads nothing: EISDIR).
 */
function readOrEnd(read: () => number): number {
  try {
    return read();
  } catch {
    return 0;
  }
}

/**
 * The pieces 1.4.7's fgets() loop reads: up to and including a newline, at
 * most 10239 bytes, the rest at the end. Each piece is valid until the next
 * one is taken; reading goes on in CHUNK-sized reads, so memory stays flat
 * whatever the size of the file.
 */
export function* fgetsPieces(read: ReadBytes): Generator<Buffer> {
  const buf = Buffer.allocUnsafe(CHUNK);
  let start = 0;
  let end = 0;
  let eof = false;
  for (;;) {
    const window = buf.subarray(start, Math.min(end, start + LINE_MAX));
    const nl = window.indexOf(NEWLINE);
    const length = nl >= 0 ? nl + 1 : window.length === LINE_MAX || eof ? window.length : -1;
    if (length === 0) return;
    if (length < 0) {
      buf.copyWithin(0, start, end);
      end -= start;
      start = 0;
      const n = read(buf, end, buf.length - end);
      if (n === 0) eof = true;
      end += n;
      continue;
    }
    yield buf.subarray(start, start + length);
    start += length;
  }
}

/**
 * One line's argv, or undefined for a line 1.4.7 skips. The line is a C
 * string: it ends at a NUL byte.
 */
export function tokenizeLine(piece: Buffer, progname: string): string[] | undefined {
  const nul = piece.indexOf(0);
  const line = nul < 0 ? piece : piece.subarray(0, nul);
  let i = 0;
  while (i < line.length && (line[i] === SPACE || line[i] === TAB)) i++;
  if (line[i] === NEWLINE || line[i] === HASH) return undefined;
  const plainLine = plainWords(line, i, progname);
  if (plainLine) return plainLine;

  const argv = [progname];
  // A word of ASCII bytes outside quotes is a substring of the line read as
  // latin1: one conversion per line instead of one per word.
  let text: string | undefined;
  let start = i;
  let plain = true;
  const add = (length: number): void => {
    if (argv.length + 1 >= ARGC_MAX) throw new ParameterProblem('too many arguments');
    argv.push(plain ? (text ??= line.toString('latin1')).substring(start, start + length) : WORD.toString('utf8', 0, length));
  };
  let length = 0;
  const append = (byte: number): void => {
    WORD[length++] = byte;
    if (byte >= 0x80) plain = false;
    if (length >= WORD_MAX) throw new ParameterProblem('Parameter too long!');
  };

  let quoted = false;
  let escaped = false;
  for (; i < line.length; i++) {
    const c = line[i]!;
    if (length === 0 && !quoted) {
      start = i;
      plain = true;
    }
    if (quoted) {
      if (escaped) {
        append(c);
        escaped = false;
        continue;
      }
      if (c === BACKSLASH) {
        escaped = true;
        continue;
      }
      if (c !== QUOTE) {
        append(c);
        continue;
      }
      // The closing quote ends the word, even an empty one.
      quoted = false;
    } else if (c === QUOTE) {
      quoted = true;
      plain = false;
      continue;
    } else if (c === SPACE || c === TAB || c === NEWLINE) {
      if (length === 0) continue;
    } else {
      append(c);
      continue;
    }
    add(length);
    length = 0;
  }
  if (length > 0) add(length);
  return argv;
}

/**
 * The argv of a line without quotes, all ASCII, within the word limits:
 * words are substrings of the line read as latin1, the common case and
 * several times faster than the byte loop of tokenizeLine, which decides
 * every other line (and its errors).
 */
function plainWords(line: Buffer, from: number, progname: string): string[] | undefined {
  if (line.indexOf(QUOTE, from) >= 0 || !isAscii(line)) return undefined;
  const text = line.toString('latin1');
  const argv = [progname];
  const add = (start: number, end: number): boolean => {
    if (end - start >= WORD_MAX || argv.length + 1 >= ARGC_MAX) return false;
    argv.push(text.substring(start, end));
    return true;
  };
  let start = -1;
  for (let i = from; i < line.length; i++) {
    const c = line[i];
    if (c !== SPACE && c !== TAB && c !== NEWLINE) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      if (!add(start, i)) return undefined;
      start = -1;
    }
  }
  return start < 0 || add(start, line.length) ? argv : undefined;
}
