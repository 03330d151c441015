/**
 * copyBytes copies what Buffer#copy copies, by bytes, words or Buffer#copy
 * alike: any length, any alignment of either end, between more buffers
 * than it keeps word views of, and buffers that are views into a shared
 * ArrayBuffer at an offset (Node's pooled small Buffers). hashKey gives a
 * key the same hash wherever its bytes lie, and spreads keys that differ
 * in one byte over the low bits that choose a bucket.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { copyBytes, hashKey } from '../../src/conntrackd/engine/record-bytes';

/** Six buffers, two of them views at odd and even offsets into one ArrayBuffer. */
function buffers(): Buffer[] {
  const shared = new ArrayBuffer(4096);
  const own = Array.from({ length: 4 }, (_, i) => Buffer.alloc(1024 + i));
  return [...own, Buffer.from(shared, 1, 2000), Buffer.from(shared, 2048, 2000)];
}

describe('copyBytes', () => {
  it('copies what Buffer#copy copies', () => {
    const bufs = buffers();
    for (const b of bufs) for (let i = 0; i < b.length; i++) b[i] = (i * 7 + b.length) & 0xff;
    const copies = fc.record({
      from: fc.nat(5),
      to: fc.nat(5),
      start: fc.nat(400),
      length: fc.nat(700),
      at: fc.nat(400),
    });
    fc.assert(
      fc.property(fc.array(copies, { minLength: 1, maxLength: 8 }), (list) => {
        for (const { from, to, start, length, at } of list) {
          if (from === to || (from >= 4 && to >= 4)) continue; // Buffer#copy of overlapping ranges is not what copyBytes is for
          const src = bufs[from]!;
          const dst = bufs[to]!;
          const end = Math.min(src.length, start + length);
          const n = Math.min(end - start, dst.length - at);
          if (n <= 0) continue;
          const expected = Buffer.from(dst);
          src.copy(expected, at, start, start + n);
          copyBytes(src, start, start + n, dst, at);
          assert.deepEqual(dst, expected);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe('hashKey', () => {
  it('hashes the same bytes alike at any alignment', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.nat(7), (bytes, shift) => {
        const aligned = Buffer.alloc(bytes.length);
        aligned.set(bytes);
        const shifted = Buffer.from(new ArrayBuffer(bytes.length + 8), shift, bytes.length);
        shifted.set(bytes);
        assert.equal(hashKey(shifted, bytes.length), hashKey(aligned, bytes.length));
      }),
      { numRuns: 2000 },
    );
  });

  it('puts keys that differ in one byte in different buckets', () => {
    const key = Buffer.alloc(56);
    const buckets = new Set<number>();
    for (let at = 0; at < key.length; at++) {
      for (let v = 1; v < 256; v += 17) {
        key[at] = v;
        buckets.add(hashKey(key, key.length) & 0xffff);
        key[at] = 0;
      }
    }
    // 840 keys into 65,536 buckets: about 5 collisions by chance; a hash
    // that left a byte out of the low bits would have hundreds.
    assert.ok(buckets.size > 56 * 15 - 25, `${buckets.size} buckets`);
  });
});
