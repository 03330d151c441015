import assert from 'node:assert/strict';
import { it } from 'node:test';
import fc from 'fast-check';
import { TimerHeap } from '../../src/conntrackd/sync/timer-heap';

it('TimerHeap agrees with a plain map of deadlines under any sequence of arm, cancel and take', () => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant('set' as const), key: fc.nat(9), at: fc.nat(100) }),
    fc.record({ kind: fc.constant('delete' as const), key: fc.nat(9) }),
    fc.record({ kind: fc.constant('take' as const), now: fc.nat(100) }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
      const heap = new TimerHeap<number>();
      const model = new Map<number, number>();
      for (const o of ops) {
        if (o.kind === 'set') {
          heap.set(o.key, o.at);
          model.set(o.key, o.at);
        } else if (o.kind === 'delete') {
          heap.delete(o.key);
          model.delete(o.key);
        } else {
          const due = [...model].filter(([, at]) => at <= o.now).sort((a, b) => a[1] - b[1]);
          for (const [k] of due) model.delete(k);
          const got = heap.takeDue(o.now);
          assert.deepEqual(new Set(got), new Set(due.map(([k]) => k)));
          assert.deepEqual(got.map((k) => due.find(([d]) => d === k)![1]), due.map(([, at]) => at), 'earliest first');
        }
        const next = model.size === 0 ? undefined : Math.min(...model.values());
        assert.equal(heap.next(), next);
        for (let k = 0; k < 10; k++) assert.equal(heap.has(k), model.has(k));
      }
    }),
    { numRuns: 300 },
  );
});
