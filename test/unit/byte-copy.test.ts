/**
 * copyBytes copies what Buffer#copy copies, by bytes, words or Buffer#copy
 * alike: any length, any alignment of either end, between more buffers
 * than it keeps word views of, and buffers that are views into a shared
 * ArrayBuffer at an offset (Node's pooled small Buffers).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { copyBytes } from '../../src/conntrackd/engine/byte-copy';

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
