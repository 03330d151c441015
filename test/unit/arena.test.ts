import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prefault } from '../../src/api/prefault';
import { Arena } from '../../src/conntrackd/engine/arena';

test('prefault maps the pages of the range at once and leaves the bytes as they were', () => {
  const size = 64 << 20;
  const buf = Buffer.allocUnsafeSlow(size);
  buf.fill(7, 0, 4096);
  const before = process.memoryUsage().rss;
  assert.equal(prefault(buf, 0, 32 << 20), true);
  const grown = process.memoryUsage().rss - before;
  // Nothing else in this process allocates anywhere near this much meanwhile.
  assert.ok(grown >= 24 << 20, `RSS grew by ${grown} bytes`);
  assert.ok(buf.subarray(0, 4096).every((b) => b === 7));
  assert.equal(prefault(buf, 5, 0), true);
  assert.throws(() => prefault(buf, size - 10, 11), RangeError);
  assert.throws(() => prefault(buf, -1, 10), RangeError);
});

test('an arena keeps every block it handed out through growth and reuses freed blocks by size', () => {
  const arena = new Arena(1024);
  const blocks: { at: number; bytes: number; fill: number }[] = [];
  let seed = 12345;
  const random = (n: number): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
  for (let i = 0; i < 60_000; i++) {
    if (blocks.length > 0 && random(4) === 0) {
      const [gone] = blocks.splice(random(blocks.length), 1);
      arena.release(gone!.at, gone!.bytes);
      // A block of the same size class comes back first.
      const again = arena.alloc(gone!.bytes);
      assert.equal(again, gone!.at);
      arena.release(again, gone!.bytes);
      continue;
    }
    const bytes = 1 + random(300);
    const at = arena.alloc(bytes);
    const fill = i & 255;
    arena.buf.fill(fill, at, at + bytes);
    blocks.push({ at, bytes, fill });
  }
  assert.ok(arena.buf.length >= 1 << 20, `the arena grew many times from 1 KiB: ${arena.buf.length}`);
  const spans = blocks.map((b) => [b.at, b.at + b.bytes] as const).sort((x, y) => x[0] - y[0]);
  for (let i = 1; i < spans.length; i++) assert.ok(spans[i]![0] >= spans[i - 1]![1], 'blocks never overlap');
  for (const b of blocks) assert.ok(arena.buf.subarray(b.at, b.at + b.bytes).every((x) => x === b.fill), `block at ${b.at} kept its bytes`);
});
