/**
 * Output text assembled as bytes in one reusable Buffer. Formatting a big
 * dump line by line into JS strings makes several short-lived strings per
 * line (and one big one per flush to encode); writing digits and names
 * straight into bytes makes none. The buffer grows when a line does not
 * fit, and whoever writes it out takes the bytes off the front.
 */
const HEX = Buffer.from('0123456789abcdef', 'latin1');

export class TextBuffer {
  buf: Buffer;
  /** Bytes filled so far. */
  length = 0;

  constructor(capacity: number) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  /** Makes room for `n` more bytes. */
  reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(bigger, 0, 0, this.length);
    this.buf = bigger;
  }

  byte(b: number): void {
    this.reserve(1);
    this.buf[this.length++] = b;
  }

  /** Bytes, e.g. a piece encoded once with `latin1`. */
  bytes(b: Uint8Array): void {
    const n = b.length;
    this.reserve(n);
    const buf = this.buf;
    let at = this.length;
    // A loop beats TypedArray#set for the few bytes of a name or tag.
    for (let i = 0; i < n; i++) buf[at++] = b[i]!;
    this.length = at;
  }

  /** A string of one-byte characters (names, tags): copied without encoding. */
  ascii(s: string): void {
    const n = s.length;
    this.reserve(n);
    const buf = this.buf;
    let at = this.length;
    for (let i = 0; i < n; i++) buf[at++] = s.charCodeAt(i);
    this.length = at;
  }

  /** Any string, UTF-8 encoded. */
  text(s: string): void {
    this.reserve(s.length * 3);
    this.length += this.buf.write(s, this.length, 'utf8');
  }

  /** A non-negative integer below 2^53 in decimal, like printf's %u / %llu. */
  uint(n: number): void {
    if (n > 0x7fffffff) {
      // Past int32 arithmetic: marks, ids, counters; rare enough for a string.
      this.ascii(String(n));
      return;
    }
    const digits =
      n < 10000
        ? n < 100 ? (n < 10 ? 1 : 2) : n < 1000 ? 3 : 4
        : n < 1000000 ? (n < 100000 ? 5 : 6) : n < 100000000 ? (n < 10000000 ? 7 : 8) : n < 1000000000 ? 9 : 10;
    this.reserve(digits);
    const buf = this.buf;
    let at = this.length + digits;
    this.length = at;
    while (n >= 10) {
      const q = (n / 10) | 0;
      buf[--at] = 0x30 + (n - q * 10);
      n = q;
    }
    buf[--at] = 0x30 + n;
  }

  /** A 16-bit value in lower-case hex without leading zeros, like printf's %x. */
  hex16(n: number): void {
    const digits = n < 0x10 ? 1 : n < 0x100 ? 2 : n < 0x1000 ? 3 : 4;
    this.reserve(digits);
    const buf = this.buf;
    let at = this.length + digits;
    this.length = at;
    for (let i = 0; i < digits; i++, n >>= 4) buf[--at] = HEX[n & 0xf]!;
  }

  /** Drops the first `n` bytes (they have been written out), keeping the rest. */
  consume(n: number): void {
    this.buf.copy(this.buf, 0, n, this.length);
    this.length -= n;
  }
}
