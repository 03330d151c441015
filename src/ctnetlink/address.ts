/**
 * IP address text <-> wire bytes, with the exact semantics of glibc's
 * inet_ntop / inet_pton, because `conntrack` prints and parses addresses
 * through them and our output must be byte-identical.
 */

/** Decimal text of every byte value, so formatting a dotted quad allocates only the result. */
const DECIMAL: readonly string[] = Array.from({ length: 256 }, (_, i) => String(i));

/** The dotted quad of the 4 bytes at `off` (inet_ntop AF_INET). Runs for every address of a dump. */
export function formatIPv4(buf: Uint8Array, off: number): string {
  return DECIMAL[buf[off]!]! + '.' + DECIMAL[buf[off + 1]!]! + '.' + DECIMAL[buf[off + 2]!]! + '.' + DECIMAL[buf[off + 3]!]!;
}

/**
 * How glibc's inet_ntop(AF_INET6) lays out the 16 bytes at `off`: the
 * longest run of two or more zero words (the first on a tie) becomes `::`;
 * and when that run starts the address and covers six words, or five words
 * followed by ffff, the last 32 bits print as a dotted quad (`::a.b.c.d`,
 * `::ffff:a.b.c.d`). Packed into one number so that per-entry callers
 * allocate nothing: bits 0-3 the run's first word, bits 4-7 its length (0:
 * no run), bit 8 the dotted-quad tail.
 */
export function ipv6Layout(buf: Uint8Array, off: number): number {
  let bestBase = 0;
  let bestLen = 0;
  let curBase = -1;
  for (let i = 0; i < 8; i++) {
    if (buf[off + 2 * i] === 0 && buf[off + 2 * i + 1] === 0) {
      if (curBase < 0) curBase = i;
      if (i - curBase + 1 > bestLen) {
        bestBase = curBase;
        bestLen = i - curBase + 1;
      }
    } else {
      curBase = -1;
    }
  }
  if (bestLen < 2) return 0;
  const quad = bestBase === 0 && (bestLen === 6 || (bestLen === 5 && buf[off + 10] === 0xff && buf[off + 11] === 0xff));
  return bestBase | (bestLen << 4) | (quad ? IPV6_QUAD_TAIL : 0);
}

export const IPV6_QUAD_TAIL = 0x100;

/**
 * The text of the 16 bytes at `off`, as glibc's inet_ntop(AF_INET6) writes it
 * (layout: ipv6Layout): lower-case hex words without leading zeros.
 */
export function formatIPv6(buf: Uint8Array, off: number): string {
  const layout = ipv6Layout(buf, off);
  const runBase = layout & 0xf;
  const runEnd = runBase + ((layout >> 4) & 0xf);
  let text = '';
  for (let i = 0; i < 8; i++) {
    if (i >= runBase && i < runEnd) {
      if (i === runBase) text += ':';
      continue;
    }
    if (i !== 0) text += ':';
    if (i === 6 && layout & IPV6_QUAD_TAIL) return text + formatIPv4(buf, off + 12);
    text += ((buf[off + 2 * i]! << 8) | buf[off + 2 * i + 1]!).toString(16);
  }
  if (runEnd === 8 && runEnd > runBase) text += ':';
  return text;
}

/**
 * Parses `text[start, end)` as inet_pton(AF_INET) does: exactly four decimal
 * octets, each 0..255 without leading zeros. Writes into `out` at `at`.
 */
export function parseIPv4Into(text: string, start: number, end: number, out: Buffer, at: number): boolean {
  let octets = 0;
  let value = 0;
  let digits = 0;
  for (let i = start; i < end; i++) {
    const ch = text.charCodeAt(i);
    if (ch >= 0x30 && ch <= 0x39) {
      if (digits > 0 && value === 0) return false;
      value = value * 10 + (ch - 0x30);
      if (value > 255) return false;
      if (digits++ === 0 && ++octets > 4) return false;
    } else if (ch === 0x2e && digits > 0) {
      if (octets === 4) return false;
      out[at + octets - 1] = value;
      value = 0;
      digits = 0;
    } else {
      return false;
    }
  }
  if (octets < 4) return false;
  out[at + 3] = value;
  return true;
}

/** The 4 bytes of a strict dotted quad, or undefined (inet_pton AF_INET). */
export function parseIPv4(text: string): Buffer | undefined {
  const out = Buffer.alloc(4);
  return parseIPv4Into(text, 0, text.length, out, 0) ? out : undefined;
}

function hexValue(ch: number): number {
  if (ch >= 0x30 && ch <= 0x39) return ch - 0x30;
  const lower = ch | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

/**
 * The 16 bytes of an IPv6 address, or undefined, as inet_pton(AF_INET6)
 * accepts it: groups of one to four hex digits (either case), at most one
 * `::` standing for at least one zero group, and an optional dotted-quad
 * tail in place of the last two groups.
 */
export function parseIPv6(text: string): Buffer | undefined {
  const out = Buffer.alloc(16);
  const end = text.length;
  if (end === 0) return undefined;
  let i = 0;
  if (text.charCodeAt(0) === 0x3a) {
    if (end < 2 || text.charCodeAt(1) !== 0x3a) return undefined;
    i = 1;
  }
  let at = 0; // next byte of `out` to fill
  let gap = -1; // byte offset where `::` stands
  let token = i; // start of the current group, for a dotted-quad tail
  let digits = 0;
  let value = 0;
  while (i < end) {
    const ch = text.charCodeAt(i++);
    const digit = hexValue(ch);
    if (digit >= 0) {
      if (digits === 4) return undefined;
      value = (value << 4) | digit;
      digits++;
      continue;
    }
    if (ch === 0x3a) {
      token = i;
      if (digits === 0) {
        if (gap >= 0) return undefined;
        gap = at;
        continue;
      }
      // A group may not end the text with a single colon.
      if (i === end || at + 2 > 16) return undefined;
      out[at++] = value >> 8;
      out[at++] = value & 0xff;
      digits = 0;
      value = 0;
      continue;
    }
    if (ch === 0x2e && at + 4 <= 16 && parseIPv4Into(text, token, end, out, at)) {
      at += 4;
      digits = 0;
      break;
    }
    return undefined;
  }
  if (digits > 0) {
    if (at + 2 > 16) return undefined;
    out[at++] = value >> 8;
    out[at++] = value & 0xff;
  }
  if (gap >= 0) {
    // `::` must stand for at least one group.
    if (at === 16) return undefined;
    out.copyWithin(16 - (at - gap), gap, at);
    out.fill(0, gap, 16 - (at - gap));
    at = 16;
  }
  return at === 16 ? out : undefined;
}

/** The family and bytes of an IPv4 or IPv6 address text, or undefined when it is neither. */
export function parseAddress(text: string): { family: 2 | 10; bytes: Buffer } | undefined {
  const v4 = parseIPv4(text);
  if (v4) return { family: 2, bytes: v4 };
  const v6 = parseIPv6(text);
  return v6 ? { family: 10, bytes: v6 } : undefined;
}

/**
 * The wire bytes of an address a caller gave as text, in `family` when it is
 * given (2 or 10), else in whichever family the text parses as. Throws a
 * RangeError for text that is no address of that family: requests must never
 * carry a guessed address.
 */
export function encodeAddress(text: string, family?: number): { family: 2 | 10; bytes: Buffer } {
  const parsed =
    family === 2 ? wrap(2, parseIPv4(text)) : family === 10 ? wrap(10, parseIPv6(text)) : parseAddress(text);
  if (!parsed) {
    const wanted = family === 2 ? 'IPv4 address' : family === 10 ? 'IPv6 address' : 'IP address';
    throw new RangeError(`"${text}" is not an ${wanted}`);
  }
  return parsed;
}

function wrap(family: 2 | 10, bytes: Buffer | undefined): { family: 2 | 10; bytes: Buffer } | undefined {
  return bytes && { family, bytes };
}
