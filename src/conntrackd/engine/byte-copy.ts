/**
 * Copies between the buffers a cache's records pass through (the receive
 * buffer, a record being assembled, the arena). A record is 100 to 250
 * bytes, an attribute run a few dozen, and Buffer#copy costs some 110 ns
 * for 120 bytes whatever it copies: it makes a Uint8Array view of the
 * source range before the copy itself. A loop over 32-bit words copies the
 * same 120 bytes in about 50 ns, and a byte loop beats both below 32 bytes.
 *
 * Word copies need both ends 4-byte aligned: netlink attributes and sync
 * messages are (records and arena blocks are laid out for it), and what is
 * not takes Buffer#copy.
 */

/** Below this many bytes a byte loop costs less than any call. */
const BYTE_LOOP_MAX = 32;
/** Above this many, Buffer#copy's memmove wins over the word loop despite its view. */
const WORD_LOOP_MAX = 256;

/**
 * Word views of the last few Buffers copied between, with their byte
 * offsets: a view costs what Buffer#copy's does, and even reading a
 * Buffer's `buffer` costs a call into the engine, so both are looked up
 * once per Buffer, not per copy. A record moves between three Buffers at
 * most (received, assembled, stored), and a fourth entry keeps a backup's
 * current datagram.
 */
const VIEWS = 4;
const viewed: (Buffer | undefined)[] = new Array<Buffer | undefined>(VIEWS).fill(undefined);
const views: Int32Array[] = Array.from({ length: VIEWS }, () => new Int32Array(0));
const offsets = new Int32Array(VIEWS);
let nextView = 0;

/** The entry of `buf`'s word view and offset, made if need be in another entry than `keep`'s. */
function entryOf(buf: Buffer, keep: number): number {
  for (let i = 0; i < VIEWS; i++) if (viewed[i] === buf) return i;
  if (nextView === keep) nextView = (nextView + 1) % VIEWS;
  const i = nextView;
  nextView = (nextView + 1) % VIEWS;
  viewed[i] = buf;
  views[i] = new Int32Array(buf.buffer, 0, buf.buffer.byteLength >>> 2);
  offsets[i] = buf.byteOffset;
  return i;
}

/**
 * Forgets `buf`, which its owner is done with: a Buffer replaced by a
 * bigger one (an arena that grew) must not stay alive in the views.
 */
export function forgetBuffer(buf: Buffer): void {
  for (let i = 0; i < VIEWS; i++) {
    if (viewed[i] !== buf) continue;
    viewed[i] = undefined;
    views[i] = new Int32Array(0);
  }
}

/** Copies `src[start, end)` to `dst` at `at` (the two ranges do not overlap). */
export function copyBytes(src: Buffer, start: number, end: number, dst: Buffer, at: number): void {
  const n = end - start;
  if (n <= BYTE_LOOP_MAX) {
    for (let i = start; i < end; i++) dst[at++] = src[i]!;
    return;
  }
  if (n > WORD_LOOP_MAX) {
    src.copy(dst, at, start, end);
    return;
  }
  const se = entryOf(src, -1);
  const de = entryOf(dst, se);
  const from = offsets[se]! + start;
  const to = offsets[de]! + at;
  if (((from | to) & 3) !== 0) {
    src.copy(dst, at, start, end);
    return;
  }
  const s = views[se]!;
  const d = views[de]!;
  const words = n >>> 2;
  const sw = from >>> 2;
  const dw = to >>> 2;
  for (let i = 0; i < words; i++) d[dw + i] = s[sw + i]!;
  for (let i = words << 2; i < n; i++) dst[at + i] = src[start + i]!;
}
