/**
 * Copying and hashing the bytes of records 32 bits at a time.
 *
 * Copies go between the buffers a cache's records pass through (the
 * receive buffer, a record being assembled, the arena). A record is 100 to
 * 250 bytes, an attribute run a few dozen, and Buffer#copy costs some 110
 * ns for 120 bytes whatever it copies: it makes a Uint8Array view of the
 * source range before the copy itself. A loop over 32-bit words copies the
 * same 120 bytes in 50 to 75 ns, and a byte loop beats both below 32 bytes.
 * A key is hashed a word at a time too: byte-wise FNV-1a cost 70 ns for a
 * 56-byte key (its multiplications wait on one another), 25 ns by words.
 *
 * Word access needs 4-byte alignment: netlink attributes and sync messages
 * are aligned (records, keys and arena blocks are laid out for it), and
 * what is not is copied by Buffer#copy and hashed by bytes put together
 * into the same words.
 */
import { endianness } from 'node:os';
import { readU32LE } from '../../netlink/bytes';

/** Below this many bytes a byte loop costs less than any call. */
const BYTE_LOOP_MAX = 32;
/** Above this many, Buffer#copy's memmove wins over the word loop despite its view. */
const WORD_LOOP_MAX = 256;

/**
 * Word views of the last few Buffers copied between or hashed, with their
 * byte offsets: a view costs what Buffer#copy's does, and even reading a
 * Buffer's `buffer` costs a call into the engine, so both are looked up
 * once per Buffer, not per copy. A cache works with three Buffers at a time
 * (what was received, the record or key being assembled, the arena), and a
 * fourth entry spares a backup a new view when its next datagram comes.
 */
const VIEWS = 4;
/** Word views read words as the host orders them: the same as put together from bytes only on a little-endian host. */
const LITTLE_ENDIAN = endianness() === 'LE';
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

/**
 * The hash of `key[0, keyLength)`: its little-endian 32-bit words (the
 * last one zero-padded) mixed in turn, then murmur3's finalizer, so that
 * buckets taken from the low bits depend on every byte.
 */
export function hashKey(key: Buffer, keyLength: number): number {
  const words = keyLength >>> 2;
  let h = 0x811c9dc5 ^ keyLength;
  const e = LITTLE_ENDIAN && keyLength > BYTE_LOOP_MAX ? entryOf(key, -1) : -1;
  if (e >= 0 && (offsets[e]! & 3) === 0) {
    const w = views[e]!;
    const at = offsets[e]! >>> 2;
    for (let i = 0; i < words; i++) h = mix(h, w[at + i]!);
  } else {
    for (let i = 0; i < words; i++) h = mix(h, readU32LE(key, i << 2));
  }
  if ((keyLength & 3) !== 0) {
    let tail = 0;
    for (let i = words << 2; i < keyLength; i++) tail |= key[i]! << ((i & 3) << 3);
    h = mix(h, tail);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

function mix(h: number, word: number): number {
  h = Math.imul(h ^ word, 0x9e3779b1);
  return h ^ (h >>> 15);
}
