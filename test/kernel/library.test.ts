import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Conntrack } from '../../src/api/conntrack';
import type { Flow } from '../../src/ctnetlink/flow';
import { Status } from '../../src/ctnetlink/status';
import { NetlinkError } from '../../src/netlink/errors';
import { makeTraffic, REFERENCE_CONNTRACK, withNetns } from './netns';

const TCP = 6;
const UDP = 17;
const ESTABLISHED = 3;

function tcpFlow(i: number, extra: Partial<Flow> = {}): Flow {
  return {
    family: 2,
    orig: { l3: 2, src: `10.1.${i >> 8}.${i & 255}`, dst: '10.2.0.1', proto: TCP, sport: 1000 + i, dport: 443 },
    reply: { l3: 2, src: '10.2.0.1', dst: `10.1.${i >> 8}.${i & 255}`, proto: TCP, sport: 443, dport: 1000 + i },
    timeout: 600,
    tcp: { state: ESTABLISHED },
    ...extra,
  };
}

async function collect(ct: Conntrack, filter = {}): Promise<Flow[]> {
  const all: Flow[] = [];
  for await (const f of ct.dump(filter)) all.push(f);
  return all;
}

test('create, dump, get, update, delete, count and flush against the real kernel', async (t) => {
  const ns = await withNetns(t, 'lib');
  const ct = Conntrack.open({ netns: ns.name });
  t.after(() => ct.close());

  // 500 creates in flight together: pipelined over one socket.
  await Promise.all(Array.from({ length: 500 }, (_, i) => ct.create(tcpFlow(i, { mark: i % 3 }))));
  assert.equal(await ct.count(), 500);
  const reference = await ns.execOk(REFERENCE_CONNTRACK, ['-C']);
  assert.equal(reference.stdout.toString(), '500\n');

  const all = await collect(ct);
  assert.equal(all.length, 500);
  const first = all.find((f) => f.orig.sport === 1000)!;
  assert.equal(first.orig.src, '10.1.0.0');
  assert.equal(first.reply.dport, 1000);
  assert.equal(first.tcp?.state, ESTABLISHED);
  assert.equal(first.mark, 0);
  assert.ok(first.status! & Status.CONFIRMED);
  assert.ok(first.id !== undefined);

  // Kernel-side mark filter plus userspace re-check agree with the reference.
  const marked = await collect(ct, { mark: { value: 1, mask: 0xffffffff } });
  assert.equal(marked.length, 167);
  const refMarked = await ns.execOk(REFERENCE_CONNTRACK, ['-L', '-m', '1']);
  assert.equal(refMarked.stdout.toString().trim().split('\n').length, 167);

  const got = await ct.get(tcpFlow(7));
  assert.equal(got?.orig.sport, 1007);
  assert.equal(await ct.get(tcpFlow(9999)), undefined);

  await ct.update({ family: 2, orig: tcpFlow(7).orig, reply: {}, mark: 77 });
  assert.equal((await ct.get(tcpFlow(7)))?.mark, 77);

  assert.equal(await ct.delete(got!), true);
  assert.equal(await ct.delete(got!), false, 'a vanished entry is not an error');

  const deleted = await ct.flush({ orig: { proto: TCP, sport: 1010 } });
  assert.equal(deleted, 1);
  assert.equal(await ct.count(), 498);

  await assert.rejects(ct.create(tcpFlow(8)), (err: unknown) => err instanceof NetlinkError && err.code === 'EEXIST');

  await ct.flush();
  assert.equal(await ct.count(), 0);
  const stats = await ct.stats();
  assert.ok(stats.length >= 1 && stats.every((s) => s.counters.length > 0));
});

test('a dump of real traffic shows the flows the kernel tracked', async (t) => {
  const ns = await withNetns(t, 'libtraffic');
  const traffic = await makeTraffic(ns);
  const ct = Conntrack.open({ netns: ns.name });
  t.after(() => ct.close());
  const flows = await collect(ct, { orig: { proto: UDP } });
  assert.ok(flows.length >= 1, 'the UDP exchange left an entry');
  assert.ok(flows.every((f) => f.orig.proto === UDP));
  assert.ok(flows.some((f) => f.status !== undefined && (f.status & Status.SEEN_REPLY) !== 0));
  void traffic;
});

test('without CAP_NET_ADMIN the kernel says EPERM, as a typed error', async (t) => {
  const ns = await withNetns(t, 'libperm');
  const script = `
    const { Conntrack } = require(${JSON.stringify(require.resolve('../../src/api/conntrack'))});
    Conntrack.open().count().then(() => process.exit(3), (e) => { console.log(e.name, e.code); process.exit(0); });`;
  const r = await ns.exec('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, '-e', script]);
  assert.equal(r.stdout.toString().trim(), 'NetlinkError EPERM', r.stderr.toString());
});

test('deleteEach: thousands of deletes in batches, shown in dump order, only matching entries, both families', async (t) => {
  const ns = await withNetns(t, 'bulk');
  const ct = Conntrack.open({ netns: ns.name });
  t.after(() => ct.close());
  const v6 = (i: number): Flow => ({
    family: 10,
    orig: { l3: 10, src: `2001:db8::${i.toString(16)}`, dst: '2001:db8:1::1', proto: UDP, sport: 2000 + i, dport: 53 },
    reply: {},
    timeout: 600,
  });
  // 3000 TCP (1000 of them with mark 1), 700 IPv6 UDP: more entries than one batch or one pipeline window.
  await Promise.all([
    ...Array.from({ length: 3000 }, (_, i) => ct.create(tcpFlow(i, { mark: i % 3 === 0 ? 1 : 0 }))),
    ...Array.from({ length: 700 }, (_, i) => ct.create(v6(i))),
  ]);
  const order = (await collect(ct)).map((f) => f.id);

  const shown: number[] = [];
  for await (const { flow, error } of ct.deleteEach({ mark: { value: 1, mask: 0xffffffff } })) {
    assert.equal(error, undefined);
    shown.push(flow.id!);
  }
  assert.equal(shown.length, 1000);
  assert.deepEqual(shown, order.filter((id) => shown.includes(id!)), 'shown in dump order');
  assert.equal((await collect(ct, { mark: { value: 1, mask: 0xffffffff } })).length, 0);
  assert.equal(await ct.count(), 2700, 'nothing else went');

  // No family and a protocol: one kernel-filtered dump per family.
  const udp: Flow[] = [];
  for await (const { flow } of ct.deleteEach({ orig: { proto: UDP } })) udp.push(flow);
  assert.equal(udp.length, 700);
  assert.ok(udp.every((f) => f.family === 10 && f.orig.proto === UDP));
  assert.equal(await ct.count(), 2000);
  assert.equal(await ct.flush({ orig: { proto: TCP } }), 2000);
  assert.equal(await ct.count(), 0);
});

test('createMany, updateEach and deleteEach against the real kernel: results in order, refusals reported, the table checked with 1.4.7', async (t) => {
  const ns = await withNetns(t, 'bulkapi');
  const ct = Conntrack.open({ netns: ns.name });
  t.after(() => ct.close());
  await ct.create(tcpFlow(7));
  // 3000 creates, one of an entry that exists: more than one window of 1024.
  let i = 0;
  const refused: number[] = [];
  for await (const { flow, error } of ct.createMany(Array.from({ length: 3000 }, (_, n) => tcpFlow(n)))) {
    assert.equal(flow.orig.sport, 1000 + i, 'in the order given');
    if (error) refused.push(i);
    if (error) assert.ok(error instanceof NetlinkError && error.code === 'EEXIST', String(error));
    i++;
  }
  assert.deepEqual(refused, [7]);
  assert.equal((await ns.execOk(REFERENCE_CONNTRACK, ['-C'])).stdout.toString(), '3000\n');

  const order = (await collect(ct)).map((f) => f.id);
  const marked: Flow[] = [];
  const change = (entry: Flow): { mark: number } | undefined => (entry.orig.sport! % 2 === 0 ? { mark: 5 } : undefined);
  for await (const { flow, error } of ct.updateEach({ orig: { proto: 'tcp' } }, change, { readBack: true })) {
    assert.equal(error, undefined);
    marked.push(flow);
  }
  assert.equal(marked.length, 1500);
  assert.ok(marked.every((f) => f.mark === 5), 'read back after the change');
  assert.deepEqual(marked.map((f) => f.id), order.filter((id) => marked.some((f) => f.id === id)), 'dump order');
  const reference = await ns.execOk(REFERENCE_CONNTRACK, ['-L', '-m', '5']);
  assert.equal(reference.stdout.toString().trim().split('\n').length, 1500);

  let deleted = 0;
  for await (const { flow, error } of ct.deleteEach({ mark: { value: 5, mask: 0xffffffff } })) {
    assert.equal(error, undefined);
    assert.equal(flow.mark, 5);
    deleted++;
  }
  assert.equal(deleted, 1500);
  assert.equal((await ns.execOk(REFERENCE_CONNTRACK, ['-C'])).stdout.toString(), '1500\n');
});
