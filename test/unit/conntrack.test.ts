/**
 * Conntrack against a fake kernel (the `transport` seam): which sockets it
 * opens, retires and closes, and which requests it sends — the lifecycle
 * rules, without a kernel.
 */
import { test } from 'node:test';
import type { Conntrack } from '../../src/api/conntrack';
import assert from 'node:assert/strict';
import { CtMsg } from '../../src/ctnetlink/constants';
import { MessageWriter } from '../../src/netlink/attributes';
import { NetlinkError } from '../../src/netlink/errors';
import { beginNfMessage, messageType, Subsystem } from '../../src/nfnetlink/header';
import { ackMessage, doneMessage, PORTID } from './fake-kernel';
import { count, CT_GET, entries, fake, flow, flow6, table } from './fake-conntrack';

test('a dump left early retires its socket; the next dump gets a fresh one, a finished dump keeps it', async () => {
  const { ct, opened, closed } = fake(table(500));
  assert.equal(await count(ct.dump()), 500);
  assert.equal(await count(ct.dump()), 500);
  assert.equal(opened.length, 1, 'finished dumps share the query socket');
  for await (const _ of ct.dump()) break;
  assert.ok(closed.has(opened[0]!), 'the socket of the abandoned dump is closed');
  assert.equal(await count(ct.dump()), 500);
  assert.equal(opened.length, 2);
  ct.close();
});

test('an aborted dump rejects with the reason and retires its socket', async () => {
  const { ct, opened, closed } = fake(table(500));
  const controller = new AbortController();
  const reason = new Error('stop');
  await assert.rejects(async () => {
    for await (const _ of ct.dump({}, { signal: controller.signal })) controller.abort(reason);
  }, (err: unknown) => err === reason);
  assert.ok(closed.has(opened[0]!));
  ct.close();
});

test('close(): sockets closed, and every later call is refused without opening a socket', async () => {
  const { ct, opened, closed } = fake(table(3));
  await ct.create(flow(1));
  assert.equal(await count(ct.dump()), 3);
  assert.equal(opened.length, 2, 'a query and a modify socket');
  ct.close();
  assert.ok(opened.every((kernel) => closed.has(kernel)));
  const isClosed = (err: unknown): boolean => err instanceof NetlinkError && err.code === 'EBADF';
  await assert.rejects(count(ct.dump()), isClosed);
  await assert.rejects(ct.create(flow(2)), isClosed);
  await assert.rejects(ct.count(), isClosed);
  assert.throws(() => ct.events(), isClosed);
  assert.equal(opened.length, 2, 'nothing reopened');
});

test('the kernel filter probe runs once per object, for the first dump that could use it', async () => {
  const { ct, opened } = fake(table(0));
  const tupleFilter = { family: 2, orig: { src: '10.0.0.1' } };
  await count(ct.dump({}));
  await count(ct.dump(tupleFilter));
  await count(ct.dump(tupleFilter));
  const gets = opened.flatMap((k) => k.sendCalls.flat()).filter((r) => r.type === CT_GET);
  assert.equal(gets.length, 4, 'three dumps and one probe');
  ct.close();
});

test('flush() without a filter is one request and says how many entries there were', async () => {
  const { ct, opened } = fake((r) => {
    if (r.type === messageType(Subsystem.CTNETLINK, CtMsg.GET_STATS)) return [globalStats(r.seq, 7), ackMessage(r.seq)];
    return [ackMessage(r.seq)];
  });
  assert.equal(await ct.flush(), 7);
  const deletes = opened.flatMap((k) => k.sendCalls.flat()).filter((r) => r.type === messageType(Subsystem.CTNETLINK, CtMsg.DELETE));
  assert.equal(deletes.length, 1);
  ct.close();
});

test('a tuple filter without a family dumps each family apart, in order, once the probe said the kernel filters', async () => {
  let gets = 0;
  const { ct, opened } = fake((r) => {
    if (r.type !== CT_GET) return [ackMessage(r.seq)];
    // The first GET is the filter probe, which a kernel that takes tuple filters refuses.
    if (gets++ === 0) return [ackMessage(r.seq, 95 /* EOPNOTSUPP */)];
    const family = r.payload[0];
    return [family === 2 ? entries(r.seq, 0, 3) : entries(r.seq, 0, 2, flow6), doneMessage(r.seq)];
  });
  const flows = [];
  for await (const f of ct.dump({ orig: { proto: 17, dport: 2 } })) flows.push(f);
  const dumps = opened.flatMap((k) => k.sendCalls.flat()).filter((r) => r.type === CT_GET).slice(1);
  assert.deepEqual(dumps.map((r) => r.payload[0]), [2, 10], 'one dump per family, IPv4 first');
  assert.deepEqual(flows.map((f) => f.orig.src), ['10.0.0.0', '10.0.0.1', '10.0.0.2', 'fd00::', 'fd00::1']);
  ct.close();
});

/** The single-request methods with a signal; a kernel that never answers them keeps them pending. */
const signalled: [string, (ct: Conntrack, signal: AbortSignal) => Promise<unknown>][] = [
  ['get', (ct, signal) => ct.get(flow(1), { signal })],
  ['create', (ct, signal) => ct.create(flow(1), { signal })],
  ['update', (ct, signal) => ct.update(flow(1), { signal })],
  ['delete', (ct, signal) => ct.delete(flow(1), { signal })],
  ['count', (ct, signal) => ct.count({ signal })],
  ['stats', (ct, signal) => ct.stats({ signal })],
];

test('get, create, update, delete, count and stats: an abort rejects with its reason while the kernel has not answered', async () => {
  for (const [name, call] of signalled) {
    const { ct, opened } = fake(() => []);
    const controller = new AbortController();
    const reason = new Error(`stop ${name}`);
    const pending = call(ct, controller.signal);
    await until(() => opened.some((k) => k.sendCalls.length > 0), `${name} sent its request`);
    controller.abort(reason);
    await assert.rejects(pending, (err: unknown) => err === reason, name);
    ct.close();
  }
});

test('get, create, update, delete, count and stats: an aborted signal rejects at once and sends nothing', async () => {
  const { ct, opened } = fake((r) => {
    if (r.type === messageType(Subsystem.CTNETLINK, CtMsg.GET_STATS)) return [globalStats(r.seq, 0), ackMessage(r.seq)];
    if (r.type === messageType(Subsystem.CTNETLINK, CtMsg.GET_STATS_CPU)) return [doneMessage(r.seq)];
    return [ackMessage(r.seq)];
  });
  const reason = new Error('stopped before');
  for (const [name, call] of signalled) {
    await assert.rejects(call(ct, AbortSignal.abort(reason)), (err: unknown) => err === reason, name);
  }
  assert.equal(opened.flatMap((k) => k.sendCalls).length, 0);
  // A signal that never aborts changes nothing.
  const signal = new AbortController().signal;
  for (const [name, call] of signalled) await assert.doesNotReject(call(ct, signal), name);
  ct.close();
});

/** Polls `condition` until it holds (the fake kernel answers on later turns of the loop). */
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000 && !condition(); i++) await new Promise((resolve) => setImmediate(resolve));
  assert.ok(condition(), what);
}

/** The reply to IPCTNL_MSG_CT_GET_STATS: CTA_STATS_GLOBAL_ENTRIES. */
function globalStats(seq: number, entries: number): Buffer {
  const w = new MessageWriter();
  const start = beginNfMessage(w, Subsystem.CTNETLINK, CtMsg.GET_STATS, 0, seq, 0);
  w.u32be(1, entries);
  w.endMessage(start);
  const message = w.toBuffer();
  message.writeUInt32LE(PORTID, 12);
  return message;
}
