/**
 * FTFW's queues keep their positions on the queued objects
 * (sync/element-queue.ts); whatever the operations, a queue must behave as
 * the ordered Map it replaced: push appends, delete removes, the walk is in
 * push order, and compaction changes nothing a caller can see.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ElementQueue } from '../../src/conntrackd/sync/element-queue';

interface Item {
  id: number;
  at?: number;
}

const op = fc.oneof(
  fc.record({ kind: fc.constant('push' as const), id: fc.integer({ min: 0, max: 40 }), value: fc.integer() }),
  fc.record({ kind: fc.constant('delete' as const), id: fc.integer({ min: 0, max: 40 }) }),
  fc.record({ kind: fc.constant('compact' as const) }),
  fc.record({ kind: fc.constant('clear' as const) }),
);

describe('ElementQueue', () => {
  it('behaves as an ordered Map of the queued objects', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 3000 }), (ops) => {
        const items = Array.from({ length: 41 }, (_, id): Item => ({ id }));
        const queue = new ElementQueue<Item>({ get: (i) => i.at, set: (i, at) => (i.at = at) });
        const model = new Map<Item, number>();
        for (const o of ops) {
          if (o.kind === 'push') {
            const item = items[o.id]!;
            if (model.has(item)) continue;
            queue.push(item, o.value);
            model.set(item, o.value);
          } else if (o.kind === 'delete') {
            assert.equal(queue.delete(items[o.id]!), model.delete(items[o.id]!));
          } else if (o.kind === 'compact') {
            queue.compact();
          } else {
            queue.clear();
            model.clear();
          }
          assert.equal(queue.size, model.size);
          assert.equal(queue.first(), model.keys().next().value);
        }
        const walked: [Item, number][] = [];
        queue.walk((item, value) => {
          walked.push([item, value]);
        });
        assert.deepEqual(walked, [...model]);
        for (const item of items) {
          assert.equal(queue.has(item), model.has(item));
          assert.equal(queue.value(item), model.get(item));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('compacts once holes outnumber the objects, keeping positions right', () => {
    const items = Array.from({ length: 5000 }, (_, id): Item => ({ id }));
    const queue = new ElementQueue<Item>({ get: (i) => i.at, set: (i, at) => (i.at = at) });
    items.forEach((item, i) => queue.push(item, i));
    for (const item of items.slice(0, 4000)) queue.delete(item);
    queue.compact();
    // Positions were rewritten: every remaining object is still found, with its value.
    for (const item of items.slice(4000)) assert.equal(queue.value(item), item.id);
    assert.equal(queue.first(), items[4000]);
    assert.equal(items[4000]!.at! > 4999, true, 'the compacted queue numbers its objects afresh');
  });

  it('reaches what is pushed during a walk, and skips what is deleted', () => {
    const items = Array.from({ length: 4 }, (_, id): Item => ({ id }));
    const queue = new ElementQueue<Item>({ get: (i) => i.at, set: (i, at) => (i.at = at) });
    queue.push(items[0]!, 0);
    queue.push(items[1]!, 1);
    const seen: number[] = [];
    queue.walk((item) => {
      seen.push(item.id);
      if (item.id === 0) {
        queue.delete(items[1]!);
        queue.push(items[2]!, 2);
      }
    });
    assert.deepEqual(seen, [0, 2]);
  });

  it('stops a walk where the visitor returns false', () => {
    const items = Array.from({ length: 5 }, (_, id): Item => ({ id }));
    const queue = new ElementQueue<Item>({ get: (i) => i.at, set: (i, at) => (i.at = at) });
    items.forEach((item, i) => queue.push(item, i));
    const seen: number[] = [];
    queue.walk((item, value) => {
      seen.push(item.id);
      return value < 2;
    });
    assert.deepEqual(seen, [0, 1, 2]);
  });
});
