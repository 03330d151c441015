/**
 * The lifetime of a Conntrack against the real kernel: leaving a dump early
 * frees the way for the next call at once, and close() ends everything the
 * object opened — its event streams included — after which every method
 * fails with a clear error instead of quietly opening new sockets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Conntrack } from '../../src/api/conntrack';
import type { Flow } from '../../src/ctnetlink/flow';
import { NetlinkError } from '../../src/netlink/errors';
import { withNetns, type Netns } from './netns';

const ENTRIES = 2000;

function udpFlow(i: number): Flow {
  return { family: 2, orig: { l3: 2, src: `10.3.${i >> 8}.${i & 255}`, dst: '10.4.0.1', proto: 17, sport: 1000, dport: 53 }, reply: {}, timeout: 600 };
}

async function filled(t: Parameters<typeof withNetns>[0], prefix: string): Promise<{ ns: Netns; ct: Conntrack }> {
  const ns = await withNetns(t, prefix);
  const ct = Conntrack.open({ netns: ns.name });
  t.after(() => ct.close());
  await Promise.all(Array.from({ length: ENTRIES }, (_, i) => ct.create(udpFlow(i))));
  return { ns, ct };
}

/** The table's count once two readings 50 ms apart agree. */
async function settledCount(ct: Conntrack): Promise<number> {
  let last = await ct.count();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const now = await ct.count();
    if (now === last) return now;
    last = now;
  }
}

async function count(flows: AsyncIterable<unknown>): Promise<number> {
  let n = 0;
  for await (const _ of flows) n++;
  return n;
}

test('break out of a dump, then dump again at once: every entry, no EBUSY', async (t) => {
  const { ct } = await filled(t, 'lcbreak');
  for (let round = 0; round < 3; round++) {
    let seen = 0;
    for await (const _ of ct.dump()) if (++seen === 10) break;
    assert.equal(await count(ct.dump()), ENTRIES, `round ${round}`);
  }
});

test('a throw out of a dump loop, or out of dumpRaw\'s visitor, leaves the next dump working', async (t) => {
  const { ct } = await filled(t, 'lcthrow');
  await assert.rejects(async () => {
    for await (const _ of ct.dumpBatches()) throw new Error('consumer failed');
  }, /consumer failed/);
  assert.equal(await count(ct.dump()), ENTRIES);
  await assert.rejects(
    ct.dumpRaw({}, {}, () => {
      throw new Error('visitor failed');
    }),
    /visitor failed/,
  );
  assert.equal(await count(ct.dump()), ENTRIES);
  assert.equal(await ct.count(), ENTRIES);
});

test('close() ends the event streams it opened; their for await loops finish', async (t) => {
  const ns = await withNetns(t, 'lcevents');
  const ct = Conntrack.open({ netns: ns.name });
  const streams = [ct.events(), ct.expectationEvents(), ct.rawEvents()];
  const loops = streams.map((stream) => count(stream));
  ct.close();
  assert.deepEqual(await Promise.all(loops), [0, 0, 0]);
});

test('after close() every method fails with NetlinkError EBADF, and nothing is reopened', async (t) => {
  const ns = await withNetns(t, 'lcclosed');
  const ct = Conntrack.open({ netns: ns.name });
  await ct.count();
  ct.close();
  const closed = (err: unknown): boolean => err instanceof NetlinkError && err.code === 'EBADF' && /closed/.test(err.message);
  const flow = udpFlow(1);
  const tuple = flow.orig;
  const calls: Record<string, () => Promise<unknown>> = {
    dump: () => count(ct.dump()),
    dumpBatches: () => count(ct.dumpBatches()),
    dumpRaw: () => ct.dumpRaw({}, {}, () => {}),
    get: () => ct.get(flow),
    create: () => ct.create(flow),
    update: () => ct.update(flow),
    delete: () => ct.delete(flow),
    deleteEach: () => count(ct.deleteEach({})),
    updateEach: () => count(ct.updateEach({}, () => ({ mark: 1 }))),
    createMany: () => count(ct.createMany([flow])),
    flush: () => ct.flush(),
    count: () => ct.count(),
    stats: () => ct.stats(),
    dumpExpectations: () => count(ct.dumpExpectations()),
    getExpectation: () => ct.getExpectation(tuple),
    deleteExpectation: () => ct.deleteExpectation(tuple),
    flushExpectations: () => ct.flushExpectations(),
    expectationStats: () => ct.expectationStats(),
  };
  for (const [name, call] of Object.entries(calls)) await assert.rejects(call(), closed, name);
  assert.throws(() => ct.events(), closed);
  assert.throws(() => ct.expectationEvents(), closed);
  assert.throws(() => ct.rawEvents(), closed);
});

test('using / await using close the table and its streams', async (t) => {
  const ns = await withNetns(t, 'lcusing');
  const ct = Conntrack.open({ netns: ns.name });
  const events = ct.events();
  await ct[Symbol.asyncDispose]();
  assert.equal(await count(events), 0);
  await assert.rejects(ct.count(), NetlinkError);
  const other = Conntrack.open({ netns: ns.name });
  const stream = other.events();
  stream[Symbol.dispose]();
  assert.equal(await count(stream), 0);
  other[Symbol.dispose]();
});

test('an AbortSignal ends a dump, a dumpRaw and a bulk delete with its reason; the next call works', async (t) => {
  const { ct } = await filled(t, 'lcabort');
  const reason = new Error('enough');
  const controller = new AbortController();
  let seen = 0;
  await assert.rejects(async () => {
    for await (const _ of ct.dump({}, { signal: controller.signal })) if (++seen === 5) controller.abort(reason);
  }, (err: unknown) => err === reason);
  assert.equal(seen, 5);
  assert.equal(await count(ct.dump()), ENTRIES);

  const raw = new AbortController();
  let visited = 0;
  await assert.rejects(
    ct.dumpRaw({}, { signal: raw.signal }, () => {
      if (++visited === 100) raw.abort(reason);
    }),
    (err: unknown) => err === reason,
  );
  assert.ok(visited < ENTRIES, `${visited} visited`);

  const bulk = new AbortController();
  let deleted = 0;
  await assert.rejects(async () => {
    for await (const _ of ct.deleteEach({}, { signal: bulk.signal })) if (++deleted === 10) bulk.abort(reason);
  }, (err: unknown) => err === reason);
  // The rejection comes at once; deletes already handed to the kernel (up to
  // the pipeline's depth) may still land after it (AbortOptions): the table
  // is read once they have, and nothing changes it after that.
  const left = await settledCount(ct);
  assert.ok(left > 0 && left <= ENTRIES - deleted, `${left} left after ${deleted} deletes were reported`);

  const aborted = AbortSignal.abort(reason);
  await assert.rejects(ct.get(udpFlow(1), { signal: aborted }), (err: unknown) => err === reason);
  await assert.rejects(count(ct.dump({}, { signal: aborted })), (err: unknown) => err === reason);
  assert.equal(await count(ct.dump()), left);
});

test('protocols by name, create without a reply direction, counters by name', async (t) => {
  const ns = await withNetns(t, 'lcnames');
  const ct = Conntrack.open({ netns: ns.name });
  t.after(() => ct.close());
  const orig = { l3: 2, src: '10.5.0.1', dst: '10.5.0.2', proto: 'udp', sport: 1, dport: 53 } as const;
  await ct.create({ family: 2, orig, timeout: 600 });
  const flows = [];
  for await (const flow of ct.dump({ orig: { proto: 'udp' } })) flows.push(flow);
  const [flow] = flows;
  assert.deepEqual(flow?.reply, { l3: 2, src: '10.5.0.2', dst: '10.5.0.1', proto: 17, sport: 53, dport: 1 });
  assert.equal((await ct.get({ family: 2, orig }))?.orig.dport, 53);
  assert.equal(await ct.delete({ family: 2, orig }), true);
  assert.equal(await ct.count(), 0);
  // Counters by the names `conntrack -S` prints, the same values as by number.
  const stats = await ct.stats();
  assert.equal(stats.reduce((sum, cpu) => sum + (cpu.named.insert ?? 0), 0), 1);
  for (const cpu of stats) assert.equal(cpu.named.insert, cpu.counters.find((c) => c.type === 8)?.value);
});
