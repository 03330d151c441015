/**
 * createMany, updateEach and deleteEach against a fake kernel (the
 * `transport` seam): what they send and when (many requests per sendmsg,
 * a bounded window, backpressure from a slow consumer), and what they
 * yield (one result per change, in order, refusals included, vanished
 * entries skipped).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BulkResult } from '../../src/api/bulk-change';
import { CtMsg } from '../../src/ctnetlink/constants';
import type { Flow } from '../../src/ctnetlink/flow';
import { decodeFlow, encodeFlow } from '../../src/ctnetlink/flow-codec';
import { MessageWriter } from '../../src/netlink/attributes';
import { MessageFlags } from '../../src/netlink/constants';
import { NetlinkError } from '../../src/netlink/errors';
import { beginNfMessage, messageType, NFGENMSG_LEN, Subsystem } from '../../src/nfnetlink/header';
import { ackMessage, doneMessage, PORTID, type Request } from './fake-kernel';
import { count, CT_GET, entries, fake, flow } from './fake-conntrack';

const CT_NEW = messageType(Subsystem.CTNETLINK, CtMsg.NEW);
const CT_DELETE = messageType(Subsystem.CTNETLINK, CtMsg.DELETE);
const ENOENT = 2;
const EPERM = 1;
const EEXIST = 17;

/** i of flow(i) (source 10.0.i>>8.i&255). */
function numberOf(f: Flow): number {
  const [, , hi, lo] = f.orig.src!.split('.').map(Number);
  return (hi! << 8) | lo!;
}

/** The number of the flow a request is about. */
function indexOf(r: Request): number {
  return numberOf(decodeFlow(r.payload, NFGENMSG_LEN, r.payload.length, r.payload[0]!));
}

function isDump(r: Request): boolean {
  return r.type === CT_GET && (r.flags & MessageFlags.DUMP) === MessageFlags.DUMP;
}

/** Dumps answer with `size` entries, 50 per datagram; other requests as `change` says (default ACK). */
function table(size: number, change: (r: Request) => Buffer[] = (r) => [ackMessage(r.seq)]): (r: Request) => Buffer[] {
  return (r) => {
    if (!isDump(r)) return change(r);
    const datagrams: Buffer[] = [];
    for (let i = 0; i < size; i += 50) datagrams.push(entries(r.seq, i, Math.min(50, size - i)));
    return [...datagrams, doneMessage(r.seq)];
  };
}

/** The entry a lookup answers with: flow(i) with mark `mark`. */
function lookupReply(seq: number, i: number, mark: number): Buffer {
  const w = new MessageWriter();
  const start = beginNfMessage(w, Subsystem.CTNETLINK, CtMsg.NEW, 0, seq, 2);
  encodeFlow(w, { ...flow(i), mark });
  w.endMessage(start);
  const message = w.toBuffer();
  message.writeUInt32LE(PORTID, 12);
  return message;
}

const sent = (opened: { sendCalls: Request[][] }[], type: number): Request[] =>
  opened.flatMap((k) => k.sendCalls.flat()).filter((r) => r.type === type && !isDump(r));

const turns = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

test('createMany: one result per flow in the order given, refusals included, many creates per sendmsg', async () => {
  const { ct, opened } = fake((r) => [ackMessage(r.seq, indexOf(r) % 7 === 3 ? EEXIST : 0)]);
  const results: BulkResult<unknown>[] = [];
  for await (const result of ct.createMany(Array.from({ length: 3000 }, (_, i) => flow(i)))) results.push(result);
  assert.equal(results.length, 3000);
  results.forEach((r, i) => {
    assert.equal((r.flow as Flow).orig.src, flow(i).orig.src, `result ${i} in order`);
    if (i % 7 === 3) assert.ok(r.error instanceof NetlinkError && r.error.code === 'EEXIST', `result ${i} refused`);
    else assert.equal(r.error, undefined, `result ${i}`);
  });
  const calls = opened.flatMap((k) => k.sendCalls).filter((c) => c.some((r) => r.type === CT_NEW));
  assert.ok(calls.length <= 3000 / 100, `${calls.length} sendmsg calls for 3000 creates`);
  assert.ok(sent(opened, CT_NEW).every((r) => (r.flags & MessageFlags.EXCL) !== 0), 'exclusive by default');
  ct.close();
});

test('createMany reads its input only as the kernel answers and as the results are taken', async () => {
  const { ct, opened } = fake((r) => [ackMessage(r.seq)]);
  let pulled = 0;
  function* flows(): Generator<Flow> {
    for (let i = 0; i < 5000; i++) {
      pulled++;
      yield flow(i);
    }
  }
  const results = ct.createMany(flows(), { exclusive: false });
  assert.equal((await results.next()).done, false);
  const atFirst = pulled;
  assert.ok(atFirst <= 1024 + 256, `${atFirst} flows read before the first result`);
  await turns(50);
  assert.equal(pulled, atFirst, 'a consumer that takes no results stops the input');
  assert.equal(1 + (await count(results)), 5000);
  assert.equal(sent(opened, CT_NEW).length, 5000);
  assert.ok(sent(opened, CT_NEW).every((r) => (r.flags & MessageFlags.EXCL) === 0), 'exclusive: false');
  ct.close();
});

test('createMany: an aborted signal rejects with its reason; a flow that cannot be encoded throws and sends nothing', async () => {
  const { ct, opened } = fake((r) => [ackMessage(r.seq)]);
  const controller = new AbortController();
  const reason = new Error('enough');
  let taken = 0;
  await assert.rejects(async () => {
    for await (const _ of ct.createMany(Array.from({ length: 2000 }, (_, i) => flow(i)), { signal: controller.signal })) {
      if (++taken === 10) controller.abort(reason);
    }
  }, (err: unknown) => err === reason);
  const before = sent(opened, CT_NEW).length;
  assert.ok(before < 2000, `${before} creates sent after the abort`);
  const bad = { ...flow(1), orig: { ...flow(1).orig, proto: 'nope' as 'tcp' } };
  await assert.rejects(count(ct.createMany([bad])), RangeError);
  await turns(5);
  assert.equal(sent(opened, CT_NEW).length, before);
  ct.close();
});

test('updateEach: vanished entries skipped, refusals reported, readBack yields the entry as the kernel has it after', async () => {
  const { ct, opened } = fake(
    table(600, (r) => {
      const i = indexOf(r);
      if (r.type === CT_GET) return [lookupReply(r.seq, i, 99), ackMessage(r.seq)];
      return [ackMessage(r.seq, i % 10 === 1 ? ENOENT : i % 10 === 2 ? EPERM : 0)];
    }),
  );
  const change = (entry: Flow): { mark: number } | undefined => (numberOf(entry) % 10 === 3 ? undefined : { mark: 99 });
  const results: BulkResult<Flow>[] = [];
  for await (const result of ct.updateEach({}, change, { readBack: true })) results.push(result);
  const expected = Array.from({ length: 600 }, (_, i) => i).filter((i) => i % 10 !== 1 && i % 10 !== 3);
  assert.deepEqual(results.map((r) => r.flow.orig.src), expected.map((i) => flow(i).orig.src), 'dump order, vanished and unchanged ones left out');
  for (const r of results) {
    if (numberOf(r.flow) % 10 === 2) assert.ok(r.error instanceof NetlinkError && r.error.code === 'EPERM');
    else assert.deepEqual([r.error, r.flow.mark], [undefined, 99], 'read back');
  }
  const updates = sent(opened, CT_NEW);
  assert.equal(updates.length, 540, 'no request for an entry left as it is');
  const update = decodeFlow(updates[0]!.payload, NFGENMSG_LEN, updates[0]!.payload.length, 2);
  assert.deepEqual([update.orig.src, update.mark, update.timeout], [flow(0).orig.src, 99, undefined], 'the original tuple and the change only');
  assert.equal(sent(opened, CT_GET).length, 540, 'one lookup after each update');

  // Without readBack: the entries as dumped, and no lookups.
  const plain: Flow[] = [];
  for await (const { flow: f, error } of ct.updateEach({ orig: { proto: 'udp' } }, () => ({ timeout: 5 }))) if (!error) plain.push(f);
  assert.equal(plain.length, 600 - 60 - 60);
  assert.ok(plain.every((f) => f.mark === undefined));
  assert.equal(sent(opened, CT_GET).length, 540);
  ct.close();
});

test('deleteEach: deleted entries in dump order, ENOENT skipped, refusals reported; a consumer that takes nothing pauses the dump', async () => {
  const { ct, opened } = fake(table(6000, (r) => [ackMessage(r.seq, indexOf(r) % 100 === 5 ? ENOENT : indexOf(r) % 100 === 6 ? EPERM : 0)]));
  const results = ct.deleteEach({});
  const first = await results.next();
  assert.equal(first.value?.flow.orig.src, flow(0).orig.src);
  await turns(50);
  const whileWaiting = sent(opened, CT_DELETE).length;
  assert.ok(whileWaiting < 4000, `${whileWaiting} deletes sent while no result was taken`);
  const rest: BulkResult<Flow>[] = [];
  for await (const result of results) rest.push(result);
  assert.equal(sent(opened, CT_DELETE).length, 6000);
  assert.equal(1 + rest.length, 6000 - 60);
  assert.deepEqual(
    rest.filter((r) => r.error).map((r) => r.error instanceof NetlinkError && r.error.code),
    Array.from({ length: 60 }, () => 'EPERM'),
  );
  ct.close();
});

test('leaving deleteEach early ends its dump: the next dump works at once', async () => {
  const { ct, opened, closed } = fake(table(3000));
  for await (const _ of ct.deleteEach({})) break;
  assert.ok(closed.has(opened[0]!), 'the socket of the abandoned dump is closed');
  assert.equal(await count(ct.dump()), 3000);
  ct.close();
});
