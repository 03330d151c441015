import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Conntrack } from '../../src/api/conntrack';
import { isLost } from '../../src/api/event-stream';
import { EventMask, type ConntrackEvent } from '../../src/ctnetlink/event';
import type { FlowFilter } from '../../src/ctnetlink/filter';
import type { Flow } from '../../src/ctnetlink/flow';
import { formatText } from '../../src/format/text';
import { ctFill, makeTraffic, REFERENCE_CONNTRACK, withNetns, type Netns } from './netns';

const TCP = 6;
const UDP = 17;

function udpFlow(i: number, extra: Partial<Flow> = {}): Flow {
  const src = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  return {
    family: 2,
    orig: { l3: 2, src, dst: '10.200.0.1', proto: UDP, sport: 1000 + (i % 50000), dport: 53 },
    reply: { l3: 2, src: '10.200.0.1', dst: src, proto: UDP, sport: 53, dport: 1000 + (i % 50000) },
    timeout: 600,
    ...extra,
  };
}

/** Waits until `done()` holds, at most `ms`. */
async function until(done: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
}

/** A namespace whose table holds `n` UDP entries, made through our library (5000 creates in flight). */
async function filledTable(t: TestContext, prefix: string, n: number): Promise<{ ns: Netns; ct: Conntrack }> {
  const ns = await withNetns(t, prefix);
  const ct = Conntrack.open({ netns: ns.name });
  t.after(() => ct.close());
  for (let i = 0; i < n; i += 5000) await Promise.all(Array.from({ length: Math.min(5000, n - i) }, (_, j) => ct.create(udpFlow(i + j))));
  return { ns, ct };
}

/** The Drops column of /proc/net/netlink for the event sockets of the namespace, by port id. */
async function kernelDrops(ns: Netns): Promise<Map<number, number>> {
  const table = (await ns.execOk('cat', ['/proc/net/netlink'])).stdout.toString();
  const drops = new Map<number, number>();
  for (const line of table.split('\n').slice(1)) {
    const c = line.trim().split(/\s+/);
    if (c[1] === '12' && c[3] !== '00000000') drops.set(Number(c[2]), Number(c[8]));
  }
  return drops;
}

test('events made by the reference tool: types, port ids and the entries as the kernel sends them', async (t) => {
  const ns = await withNetns(t, 'ev');
  const ct = Conntrack.open({ netns: ns.name });
  t.after(() => ct.close());
  const stream = ct.events();
  t.after(() => stream.close());
  const seen: ConntrackEvent[] = [];
  stream.on('event', (e) => seen.push(e));
  await ctFill(ns, [['-p', 'udp', '-s', '10.0.0.1', '-d', '10.0.0.2', '--sport', '5000', '--dport', '53', '-t', '50', '-m', '3']]);
  await ns.execOk(REFERENCE_CONNTRACK, ['-U', '-s', '10.0.0.1', '-m', '7']);
  await ns.execOk(REFERENCE_CONNTRACK, ['-D', '-s', '10.0.0.1']);
  await new Promise((resolve) => setTimeout(resolve, 300));
  stream.close();
  assert.deepEqual(seen.map((e) => e.type), ['new', 'update', 'destroy']);
  assert.ok(seen.every((e) => e.portid !== 0), 'caused by requests: the port ids of their sockets');
  assert.deepEqual(seen.map((e) => e.flow.mark), [3, 7, 7]);
  assert.equal(seen[0]!.flow.orig.sport, 5000);
  assert.equal(seen[2]!.flow.id, seen[0]!.flow.id);
});

test('real traffic through an nft ruleset: NEW, UPDATE and DESTROY of kernel-made entries, port id 0', async (t) => {
  const ns = await withNetns(t, 'evtraffic');
  const ct = Conntrack.open({ netns: ns.name });
  t.after(() => ct.close());
  const stream = ct.events({ filter: { orig: { proto: TCP } } });
  t.after(() => stream.close());
  const seen: ConntrackEvent[] = [];
  stream.on('event', (e) => seen.push(e));
  await makeTraffic(ns, { udp: false, icmp: false });
  await ct.flush();
  await new Promise((resolve) => setTimeout(resolve, 300));
  stream.close();
  const byKernel = seen.filter((e) => e.portid === 0);
  assert.ok(byKernel.some((e) => e.type === 'new' && e.flow.tcp?.state === 1), 'NEW in SYN_SENT');
  assert.ok(byKernel.some((e) => e.type === 'update' && e.flow.tcp?.state === 3), 'UPDATE to ESTABLISHED');
  assert.ok(seen.some((e) => e.type === 'destroy' && e.portid !== 0), 'DESTROY by our flush');
  assert.ok(seen.every((e) => e.flow.orig.proto === TCP));
});

test('the kernel filter and the userspace filter alone deliver the same events', async (t) => {
  const ns = await withNetns(t, 'evfilter');
  const ct = Conntrack.open({ netns: ns.name });
  t.after(() => ct.close());
  const filters: FlowFilter[] = [
    { orig: { proto: UDP, dport: 53 } },
    { family: 10 },
    { orig: { l3: 2, src: '10.0.0.7' } },
    { mark: { value: 1, mask: 1 } },
    { zone: 4 },
    { family: 2, orig: { l3: 2, src: '10.0.1.0' }, srcMask: '255.255.255.0' },
    { orig: { proto: TCP }, state: 3 },
    { reply: { l3: 2, dst: '10.0.0.3', proto: TCP } },
  ];
  const pairs = filters.map((filter) => [ct.events({ filter }), ct.events({ filter, kernelFilter: false })] as const);
  t.after(() => pairs.flat().forEach((stream) => stream.close()));
  const results = pairs.map(() => [[] as string[], [] as string[]] as const);
  pairs.forEach(([kernel, user], i) => {
    kernel.on('event', (e) => results[i]![0].push(formatText(e.flow, { event: e.type })));
    user.on('event', (e) => results[i]![1].push(formatText(e.flow, { event: e.type })));
  });
  const entries: string[][] = [];
  for (let i = 1; i <= 12; i++) {
    const proto = i % 3 === 0 ? 'tcp' : 'udp';
    const src = i % 2 ? `10.0.0.${i}` : `10.0.1.${i}`;
    const extra = proto === 'tcp' ? ['--state', i % 2 ? 'ESTABLISHED' : 'SYN_SENT'] : [];
    entries.push(['-p', proto, '-s', src, '-d', '10.0.0.3', '--sport', String(1000 + i), '--dport', i % 4 ? '53' : '80', '-t', '60', '-m', String(i % 3), '-w', String(i % 5), ...extra]);
  }
  entries.push(['-p', 'udp', '-s', '2001:db8::1', '-d', '2001:db8::2', '--sport', '1', '--dport', '53', '-t', '60']);
  await ctFill(ns, entries);
  // -f: 1.4.7 sends the updates with the command's family (D2).
  await ns.execOk(REFERENCE_CONNTRACK, ['-U', '-f', 'ipv4', '-p', 'udp', '-m', '1']);
  await ns.execOk(REFERENCE_CONNTRACK, ['-F']);
  await new Promise((resolve) => setTimeout(resolve, 400));
  filters.forEach((filter, i) => {
    const [kernel, user] = results[i]!;
    assert.ok(kernel.length > 0, `${JSON.stringify(filter)}: some events match`);
    assert.deepEqual(kernel, user, `${JSON.stringify(filter)}: kernel-filtered and userspace-filtered streams differ`);
  });
});

test('a storm into a tiny buffer: received + reported lost = produced, the kernel count', async (t) => {
  const produced = 20_000;
  const { ns, ct } = await filledTable(t, 'evstorm', produced);
  const stream = ct.events({ mask: EventMask.DESTROY, bufferSize: 4096 });
  t.after(() => stream.close());
  let received = 0;
  let reported = 0;
  let overruns = 0;
  let dropsBeforeClose: number | undefined;
  const done = (async () => {
    for await (const item of stream) {
      if (isLost(item)) {
        reported += item.count ?? NaN;
        overruns += item.overruns;
      } else {
        received++;
      }
      if (received + reported === produced) {
        dropsBeforeClose = (await kernelDrops(ns)).values().next().value;
        break;
      }
    }
  })();
  await ns.execOk(REFERENCE_CONNTRACK, ['-F']);
  const timeout = setTimeout(() => stream.close(), 20_000);
  await done;
  clearTimeout(timeout);
  assert.equal(received + reported, produced, `received ${received} + lost ${reported} (${overruns} overruns)`);
  assert.ok(reported > 0 && overruns > 0, 'the tiny buffer overflowed');
  assert.equal(stream.lost, reported);
  assert.equal(dropsBeforeClose, reported, "the count is the kernel's drop counter of the socket");
});

test('the default buffer takes a 100,000-entry flush without loss, and says how big it is', async (t) => {
  const n = 100_000;
  const { ns, ct } = await filledTable(t, 'evflush', n);
  const stream = ct.events({ mask: EventMask.DESTROY });
  t.after(() => stream.close());
  assert.ok(stream.bufferSize! >= 64 * 1024 * 1024, `buffer in effect: ${stream.bufferSize}`);
  let received = 0;
  stream.on('event', () => received++);
  await ns.execOk(REFERENCE_CONNTRACK, ['-F']);
  await until(() => received === n);
  stream.close();
  assert.equal(received, n);
  assert.equal(stream.lost, 0);
  assert.equal(stream.overruns, 0);
});

test('backlog counts the events received and not consumed, while a listener is paused and for a `for await` loop', async (t) => {
  const n = 3000;
  const { ns, ct } = await filledTable(t, 'evbacklog', n);
  const stream = ct.events({ mask: EventMask.DESTROY });
  t.after(() => stream.close());
  let received = 0;
  stream.on('event', () => received++);
  assert.equal(stream.backlog, 0);
  stream.pause();
  await ns.execOk(REFERENCE_CONNTRACK, ['-F']);
  // The read-ahead thread takes them off the socket while nothing is delivered.
  await until(() => stream.backlog === n, 20_000);
  assert.equal(stream.backlog, n);
  assert.equal(received, 0);
  stream.resume();
  await until(() => received === n, 20_000);
  assert.equal(received, n);
  assert.equal(stream.backlog, 0);

  // Events delivered to a `for await` loop wait in its queue until it takes them.
  const iterated = ct.events({ mask: EventMask.NEW });
  t.after(() => iterated.close());
  const loop = iterated[Symbol.asyncIterator]();
  await ns.execOk(REFERENCE_CONNTRACK, ['-I', '-s', '10.9.9.9', '-d', '10.9.9.10', '-p', 'udp', '--sport', '1', '--dport', '2', '-t', '60']);
  await until(() => iterated.backlog === 1, 20_000);
  assert.equal(iterated.backlog, 1);
  assert.equal(((await loop.next()).value as ConntrackEvent).type, 'new');
  assert.equal(iterated.backlog, 0);
});

test('reliable mode: the kernel redelivers the DESTROY events a tiny buffer could not take', async (t) => {
  const produced = 20_000;
  const { ns, ct } = await filledTable(t, 'evreliable', produced);
  const stream = ct.events({ mask: EventMask.DESTROY, bufferSize: 4096, reliable: true });
  t.after(() => stream.close());
  let received = 0;
  stream.on('event', () => received++);
  await ns.execOk(REFERENCE_CONNTRACK, ['-F']);
  await until(() => received === produced);
  const failedDeliveries = (await kernelDrops(ns)).values().next().value;
  stream.close();
  assert.equal(received, produced);
  assert.ok(failedDeliveries! > 0, 'the buffer did overflow');
  assert.equal(stream.lost, 0);
  assert.equal(stream.overruns, 0);
});
