/**
 * Conntrack against a fake kernel (the `transport` seam): which sockets it
 * opens, retires and closes, and which requests it sends — the lifecycle
 * rules, without a kernel.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CtMsg } from '../../src/ctnetlink/constants';
import { MessageWriter } from '../../src/netlink/attributes';
import { NetlinkError } from '../../src/netlink/errors';
import { beginNfMessage, messageType, Subsystem } from '../../src/nfnetlink/header';
import { ackMessage, PORTID } from './fake-kernel';
import { count, CT_GET, fake, flow, table } from './fake-conntrack';

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
