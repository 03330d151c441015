import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { EventStream, isLost, type EventsLost } from '../../src/api/event-stream';
import { decodeEvent, type ConntrackEvent } from '../../src/ctnetlink/event';
import type { Flow } from '../../src/ctnetlink/flow';
import { eventMessage } from './event-fixtures';
import { FakeKernel } from './fake-kernel';

/*
 * The event stream over a fake kernel that also keeps the socket's drop
 * counter, as SO_MEMINFO reports it.
 */

const ENOBUFS = 105;

class DroppingKernel extends FakeKernel {
  drops = 0;

  constructor() {
    super(() => []);
  }

  receiveQueue(): { queued: number; drops: number } {
    return { queued: this.queue.length * 1280, drops: this.drops };
  }

  /** The kernel overflows: `n` events are dropped and the next recvmsg says ENOBUFS. */
  overflow(n: number): void {
    this.drops += n;
    this.pushErrno(ENOBUFS);
  }
}

function flow(sport: number): Flow {
  return {
    family: 2,
    orig: { l3: 2, src: '10.0.0.1', dst: '10.0.0.2', proto: 17, sport, dport: 53 },
    reply: { l3: 2, src: '10.0.0.2', dst: '10.0.0.1', proto: 17, sport: 53, dport: sport },
  };
}

const events = (sports: number[], type: 'new' | 'update' | 'destroy' = 'new', portid = 0): Buffer[] =>
  sports.map((p) => eventMessage(flow(p), type, portid));

function describe(item: ConntrackEvent | EventsLost): string {
  return isLost(item) ? `lost ${item.count} (${item.overruns})` : `${item.type} ${item.flow.orig.sport} ${item.portid}`;
}

test('an overrun becomes one EventsLost item with the kernel count, where the gap is', async () => {
  const kernel = new DroppingKernel();
  const stream = new EventStream(kernel, decodeEvent);
  // ENOBUFS comes before the events still queued when the buffer overflowed: the gap follows them.
  kernel.deliver(events([1, 2]));
  kernel.overflow(5);
  kernel.deliver(events([3, 4], 'destroy', 77));
  const seen: string[] = [];
  for await (const item of stream) {
    seen.push(describe(item));
    if (isLost(item)) break;
  }
  assert.deepEqual(seen, ['new 1 0', 'new 2 0', 'destroy 3 77', 'destroy 4 77', 'lost 5 (1)']);
  assert.equal(stream.lost, 5);
  assert.equal(stream.received, 4);
});

test('listeners get events at once, overruns at once and the count once the queue ran empty', async () => {
  const kernel = new DroppingKernel();
  const stream = new EventStream(kernel, decodeEvent);
  const seen: string[] = [];
  stream.on('event', (e) => seen.push(describe(e)));
  stream.on('overrun', () => seen.push('overrun'));
  stream.on('lost', (l) => seen.push(describe(l)));
  kernel.deliver(events([1]));
  kernel.overflow(3);
  kernel.overflow(4);
  kernel.deliver(events([2], 'update'));
  await once(stream, 'lost');
  assert.deepEqual(seen, ['new 1 0', 'overrun', 'overrun', 'update 2 0', 'lost 7 (2)']);
  stream.close();
});

test('closing counts what the kernel dropped since the last report', () => {
  const kernel = new DroppingKernel();
  const stream = new EventStream(kernel, decodeEvent);
  const lost: EventsLost[] = [];
  stream.on('lost', (l) => lost.push(l));
  stream.on('event', () => {});
  kernel.drops = 9; // no ENOBUFS (yet): still a loss
  stream.close();
  assert.deepEqual(lost, [{ type: 'lost', overruns: 0, count: 9 }]);
});

test('a lagging iteration pauses reading, and resumes it', async () => {
  const kernel = new DroppingKernel();
  const stream = new EventStream(kernel, decodeEvent);
  kernel.deliver(events(Array.from({ length: 3000 }, (_, i) => i + 1)));
  while (stream.received === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  await new Promise((resolve) => setTimeout(resolve, 20));
  // Reading stopped at the high-water mark: the rest waits in the (fake) kernel.
  assert.equal(stream.received, 1024);
  assert.equal(kernel.queue.length, 3000 - 1024);
  let n = 0;
  for await (const item of stream) {
    assert.ok(!isLost(item));
    if (++n === 3000) break;
  }
  assert.equal(kernel.queue.length, 0);
});

test('an abort signal closes the stream and ends the iteration', async () => {
  const kernel = new DroppingKernel();
  const controller = new AbortController();
  const stream = new EventStream(kernel, decodeEvent, { signal: controller.signal });
  kernel.deliver(events([1]));
  kernel.deliver(events([2]));
  const seen: string[] = [];
  for await (const item of stream) {
    seen.push(describe(item));
    controller.abort();
  }
  // Events already received are still delivered.
  assert.deepEqual(seen, ['new 1 0', 'new 2 0']);
  const early = new DroppingKernel();
  early.deliver(events([2]));
  for await (const item of new EventStream(early, decodeEvent, { signal: AbortSignal.abort() })) {
    assert.fail(`an aborted stream delivered ${describe(item)}`);
  }
});

test('a receive error ends the iteration with that error', async () => {
  const kernel = new DroppingKernel();
  const stream = new EventStream(kernel, decodeEvent);
  kernel.deliver(events([1]));
  kernel.pushErrno(9); // EBADF
  const seen: string[] = [];
  await assert.rejects(
    (async () => {
      for await (const item of stream) seen.push(describe(item));
    })(),
    { code: 'EBADF' },
  );
  assert.deepEqual(seen, ['new 1 0']);
});
