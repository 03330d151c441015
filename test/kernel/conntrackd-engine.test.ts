/**
 * conntrackd's engine on a real kernel table: started in-process in a
 * namespace with a Config object, its internal cache must mirror the table
 * (filtered) through start-up, events, flushes, resyncs, overruns and polling.
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { Conntrack } from '../../src/api/conntrack';
import type { Config, FilterConfig, GeneralConfig, SyncConfig } from '../../src/conntrackd/config/config';
import { Request } from '../../src/conntrackd/control/codes';
import type { LogLevel } from '../../src/conntrackd/daemon/contract';
import { ConntrackdEngine } from '../../src/conntrackd/engine/engine';
import { createEngine } from '../../src/conntrackd/engine/index';
import { parseConfig } from '../../src/conntrackd/config/parse';
import { KernelSide, type Origin } from '../../src/conntrackd/engine/kernel';
import { compileFlowFilter } from '../../src/conntrackd/engine/filter';
import type { EventType } from '../../src/ctnetlink/event';
import type { Flow } from '../../src/ctnetlink/flow';
import { writeCreateRequest } from '../../src/ctnetlink/requests';
import { askEngine, generalDefaults } from '../unit/conntrackd-fixtures';
import { ctFill, makeTraffic, REFERENCE_CONNTRACK, withNetns, type Netns } from './netns';
import { until } from './wait';

const UDP = 17;

/** A flow's identity as the cache sees it: original tuple and zone. */
function identity(f: Flow): string {
  const o = f.orig;
  return [f.family, o.src, o.dst, o.proto, o.sport, o.dport, o.icmpType, o.icmpCode, o.icmpId, o.zone, f.zone].join(' ');
}

async function tableIdentities(ct: Conntrack, keep: (f: Flow) => boolean = () => true): Promise<string[]> {
  const ids: string[] = [];
  for await (const flow of ct.dump()) if (keep(flow)) ids.push(identity(flow));
  return ids.sort();
}

function cacheIdentities(engine: ConntrackdEngine): string[] {
  return [...engine.cache.values()].map((f) => identity(f.flow())).sort();
}

interface Setup {
  ns: Netns;
  ct: Conntrack;
  dir: string;
  logs: string[];
  engine: ConntrackdEngine;
}

/** A namespace (filled by `fill`), a scratch directory and a started engine: Stats mode unless `sync` is given. */
async function started(
  t: TestContext,
  prefix: string,
  general: Partial<GeneralConfig>,
  fill: (ns: Netns) => Promise<void>,
  sync?: SyncConfig,
): Promise<Setup> {
  const ns = await withNetns(t, prefix);
  const dir = await mkdtemp(path.join(tmpdir(), 'ctts-engine-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const ct = Conntrack.open({ netns: ns.name });
  t.after(() => ct.close());
  await fill(ns);
  const logs: string[] = [];
  const config: Config = sync ? { general: generalDefaults(general), sync } : { general: generalDefaults(general), stats: { logFile: path.join(dir, 'stats.log') } };
  const engine = createEngine({ config, netns: ns.name, log: { write: (level: LogLevel, m: string) => logs.push(`${level} ${m}`) } }) as ConntrackdEngine;
  t.after(() => engine.stop());
  await engine.start();
  return { ns, ct, dir, logs, engine };
}

function udpEntries(count: number, base = 1): string[][] {
  return Array.from({ length: count }, (_, i) => `-s 10.0.${base}.${i + 1} -d 10.9.0.1 -p udp --sport 1000 --dport 53 -t 600`.split(' '));
}

async function mirrors(engine: ConntrackdEngine, ct: Conntrack, keep?: (f: Flow) => boolean): Promise<boolean> {
  const table = await tableIdentities(ct, keep);
  const cache = cacheIdentities(engine);
  return table.length === cache.length && table.every((id, i) => id === cache[i]);
}

test('start-up mirrors the table; new and destroyed flows follow; Stats mode logs the destroyed', async (t) => {
  const { ns, ct, dir, engine } = await started(t, 'cde-follow', {}, async (ns) => {
    await makeTraffic(ns, { keepOpen: false });
    await ctFill(ns, udpEntries(5));
  });
  assert.ok(engine.cache.size >= 5);
  assert.deepEqual(cacheIdentities(engine), await tableIdentities(ct));
  assert.equal((await stat(path.join(dir, 'stats.log'))).mode & 0o777, 0o600);

  const traffic = await makeTraffic(ns, { keepOpen: true, icmp: false });
  assert.ok(await until(() => mirrors(engine, ct)), 'new flows reach the cache');
  await traffic.close();
  await ns.execOk(REFERENCE_CONNTRACK, ['-D', '-p', 'udp', '--dport', '53']);
  assert.ok(await until(() => mirrors(engine, ct)), 'destroyed flows leave the cache');
  const log = (await readFile(path.join(dir, 'stats.log'), 'utf8')).trimEnd().split('\n');
  assert.equal(log.filter((line) => /\tudp      17 src=10\.0\.1\.\d+ dst=10\.9\.0\.1 sport=1000 dport=53 /.test(line)).length, 5);
  for (const line of log) assert.match(line, /^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\t\S+ +\d+ /);
});

const FILTER: FilterConfig = {
  kernelspace: false,
  protocol: { policy: 'accept', protocols: [UDP] },
  address: { policy: 'ignore', addresses: [{ family: 4, address: '10.0.2.0', prefix: 24 }] },
};

/** The flows FILTER passes. */
const passes = (f: Flow): boolean => f.orig.proto === UDP && !f.orig.src?.startsWith('10.0.2.') && !f.reply.src?.startsWith('10.0.2.');

test('the Filter applies to the start-up dump, to events and to -R; -F keeps what it ignores', async (t) => {
  const { ns, ct, engine, logs } = await started(t, 'cde-filter', { filter: FILTER }, async (ns) => {
    await ctFill(ns, [...udpEntries(3, 1), ...udpEntries(3, 2), ['-s', '10.0.3.1', '-d', '10.9.0.1', '-p', 'tcp', '--sport', '1', '--dport', '2', '--state', 'ESTABLISHED', '-t', '600']]);
  });
  assert.ok(logs.includes('NOTICE using user-space event filtering'));
  assert.equal(engine.cache.size, 3);
  assert.ok(await mirrors(engine, ct, passes));

  await ctFill(ns, [...udpEntries(2, 4), ...udpEntries(2, 2).map((e) => e.map((w) => (w === '1000' ? '1001' : w)))]);
  assert.ok(await until(async () => engine.cache.size === 5 && (await mirrors(engine, ct, passes))));

  assert.equal(await askEngine(engine, Request.CT_FLUSH_INT_CACHE), '');
  assert.equal(engine.cache.size, 0);
  assert.equal(engine.cache.counters.delOk, 5);
  assert.equal(await askEngine(engine, Request.CT_RESYNC_MASTER), '');
  assert.ok(await mirrors(engine, ct, passes));
  assert.equal(engine.kernel!.counters.resyncs, 1);

  assert.equal(await askEngine(engine, Request.CT_FLUSH_MASTER), '');
  assert.ok(await until(async () => (await ct.count()) === 6), 'the ignored entries stay');
  assert.ok((await tableIdentities(ct)).every((id) => !passes({ family: 2, orig: { proto: Number(id.split(' ')[3]), src: id.split(' ')[1] }, reply: {} })));
  assert.ok(await until(() => engine.cache.size === 0), 'the flushed flows leave the cache');
  assert.deepEqual(logs.filter((l) => /flushing|resync/.test(l)), ['NOTICE flushing caches', 'NOTICE resync with master conntrack table', 'NOTICE flushing kernel conntrack table']);
});

test('Filter From Kernelspace: the kernel drops what the Filter would', async (t) => {
  const { ns, ct, engine, logs } = await started(t, 'cde-kfilter', { filter: { ...FILTER, kernelspace: true } }, async () => {});
  assert.ok(logs.includes('NOTICE using kernel-space event filtering'));
  await ctFill(ns, [...udpEntries(3, 1), ...udpEntries(3, 2), ['-s', '10.0.3.1', '-d', '10.9.0.1', '-p', 'tcp', '--sport', '1', '--dport', '2', '--state', 'ESTABLISHED', '-t', '600']]);
  assert.ok(await until(async () => engine.cache.size === 3 && (await mirrors(engine, ct, passes))));
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.deepEqual([engine.kernel!.counters.eventsReceived, engine.kernel!.counters.eventsFiltered], [3, 0]);
});

test('-i prints one line per cached flow', async (t) => {
  const { engine } = await started(t, 'cde-dump', {}, (ns) => ctFill(ns, udpEntries(3)));
  const lines = (await askEngine(engine, Request.CT_DUMP_INTERNAL)).trimEnd().split('\n').sort();
  assert.deepEqual(
    lines.map((l) => l.replace(/\[active since \d+s\]$/, '[active since Ns]')),
    [1, 2, 3].map((i) => `udp      17 src=10.0.1.${i} dst=10.9.0.1 sport=1000 dport=53 [UNREPLIED] src=10.9.0.1 dst=10.0.1.${i} sport=53 dport=1000 mark=0 [active since Ns]`),
  );
  assert.equal((await askEngine(engine, Request.CT_DUMP_INT_XML)).split('\n').filter((l) => l.startsWith('<flow>')).length, 3);
  assert.equal(await askEngine(engine, Request.CT_DUMP_EXTERNAL), '');
});

test("events caused by the daemon's own flush are its own; others' are not", async (t) => {
  const ns = await withNetns(t, 'cde-origin');
  await ctFill(ns, udpEntries(4));
  const seen: [EventType, Origin][] = [];
  const kernel = new KernelSide({
    general: generalDefaults(),
    log: { write: () => {} },
    netns: ns.name,
    filter: compileFlowFilter(undefined),
    sink: { event: (type, _entry, origin) => seen.push([type, origin]), dumped: () => {}, overrun: () => {} },
  });
  t.after(() => kernel.close());
  kernel.listen();
  await ns.execOk(REFERENCE_CONNTRACK, ['-D', '-s', '10.0.1.1']);
  assert.ok(await until(() => seen.length === 1));
  assert.equal(await kernel.flush(), 3);
  assert.ok(await until(() => seen.length === 4));
  assert.deepEqual(seen, [
    ['destroy', 'other'],
    ['destroy', 'self'],
    ['destroy', 'self'],
    ['destroy', 'self'],
  ]);
});

test('after an overrun the cache is resynced: vanished flows purged, new ones added', async (t) => {
  const { ct, engine, logs } = await started(
    t,
    'cde-overrun',
    { netlinkBufferSize: 4096, netlinkBufferSizeMaxGrowth: 8192, netlinkOverrunResync: 1 },
    (ns) => ctFill(ns, udpEntries(10)),
  );
  // A burst the 4 KiB buffer cannot hold while the engine is busy: the creates of 20 000 entries.
  const burst = Array.from({ length: 20_000 }, (_, i): Flow => {
    const src = `10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
    return { family: 2, orig: { l3: 2, src, dst: '10.9.0.2', proto: UDP, sport: 2000, dport: 53 }, reply: {}, timeout: 600 };
  });
  for (let i = 0; i < burst.length; i += 5000) await Promise.all(burst.slice(i, i + 5000).map((flow) => ct.create(flow)));
  await ct.delete({ family: 2, orig: { l3: 2, src: '10.0.1.1', dst: '10.9.0.1', proto: UDP, sport: 1000, dport: 53 }, reply: {} });
  assert.ok(await until(() => engine.kernel!.counters.overruns > 0, 5000), 'the burst overran the buffer');
  assert.ok(await until(() => engine.overrunResyncs > 0 && engine.cache.size === 20_009, 15_000), `resynced: ${engine.cache.size}`);
  assert.ok(await mirrors(engine, ct));
  assert.ok(logs.includes('NOTICE netlink event socket buffer size has been set to 4096 bytes'));
  assert.ok(logs.includes('NOTICE netlink event socket buffer size has been doubled to 8192 bytes'));
});

test('PollSecs: no event socket; the table is re-read every PollSecs', async (t) => {
  const { ns, ct, engine, logs } = await started(t, 'cde-poll', { pollSecs: 1 }, (ns) => ctFill(ns, udpEntries(3)));
  assert.equal(engine.cache.size, 3);
  assert.equal(engine.kernel!.counters.bufferSize, 0);
  assert.deepEqual(logs, []);
  await ns.execOk(REFERENCE_CONNTRACK, ['-D', '-s', '10.0.1.2']);
  await ctFill(ns, udpEntries(2, 5));
  assert.ok(await until(async () => engine.cache.size === 4 && (await mirrors(engine, ct)), 5000));
});

test('-t with a Sync config: after PurgeTimeout the kernel table (but what the Filter ignores) and the cache are flushed', async (t) => {
  // The parser fills in the Sync defaults.
  const sync = parseConfig('Sync { Mode FTFW { PurgeTimeout 1 } }\n').config.sync!;

  const { ct, engine, logs } = await started(t, 'cde-purge', { filter: FILTER }, (ns) => ctFill(ns, [...udpEntries(3, 1), ...udpEntries(2, 2)]), sync);
  assert.equal(engine.cache.size, 3);
  assert.equal(await askEngine(engine, Request.RESET_TIMERS), '');
  assert.ok(logs.includes('NOTICE flushing conntrack table in 1 secs'));
  assert.equal(await ct.count(), 5, 'nothing flushed before PurgeTimeout');
  assert.ok(await until(async () => (await ct.count()) === 2 && engine.cache.size === 0, 5000));
  assert.ok(logs.includes('NOTICE flushing kernel conntrack table (scheduled)'));
});

test('EventIterationLimit: at most that many events are handled per turn of the event loop', async (t) => {
  const ns = await withNetns(t, 'cde-iter');
  let turn = 0;
  let ticking = true;
  const tick = (): void => {
    turn++;
    if (ticking) setImmediate(tick);
  };
  tick();
  t.after(() => (ticking = false));
  const perTurn = new Map<number, number>();
  const kernel = new KernelSide({
    // A buffer for the whole burst: the kernel queues while the listener yields.
    general: generalDefaults({ eventIterationLimit: 5, netlinkBufferSize: 4 << 20, netlinkBufferSizeMaxGrowth: 4 << 20 }),
    log: { write: () => {} },
    netns: ns.name,
    filter: compileFlowFilter(undefined),
    sink: { event: () => perTurn.set(turn, (perTurn.get(turn) ?? 0) + 1), dumped: () => {}, overrun: () => {} },
  });
  t.after(() => kernel.close());
  kernel.listen();
  await ctFill(ns, udpEntries(200));
  const handled = (): number => [...perTurn.values()].reduce((a, b) => a + b, 0);
  assert.ok(await until(() => handled() === 200), `handled ${handled()}`);
  assert.ok(Math.max(...perTurn.values()) <= 5, `most in one turn: ${Math.max(...perTurn.values())}`);
  assert.ok(perTurn.size >= 40);
});

test("a commit's creates keep pace with their own events: at most commitBacklog wait, however slow the handler", async (t) => {
  const ns = await withNetns(t, 'cde-pace');
  const n = 6000;
  const backlog = 500;
  let events = 0;
  let overruns = 0;
  let created = 0;
  let mostAhead = 0;
  const kernel = new KernelSide({
    // One event per turn of the loop, while the kernel creates hundreds per turn; a
    // buffer for all the events, so that any lag shows as waiting, not as loss.
    general: generalDefaults({ eventIterationLimit: 1, netlinkBufferSize: 8 << 20, netlinkBufferSizeMaxGrowth: 8 << 20 }),
    log: { write: () => {} },
    netns: ns.name,
    filter: compileFlowFilter(undefined),
    // Counted, not thrown: the sink runs inside the socket's reader.
    sink: { event: () => events++, dumped: () => {}, overrun: () => overruns++ },
    commitBacklog: backlog,
  });
  t.after(() => kernel.close());
  kernel.listen();
  const flows = Array.from({ length: n }, (_, i): Flow => {
    const src = `10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
    return { family: 2, orig: { l3: 2, src, dst: '10.9.0.2', proto: UDP, sport: 2000, dport: 53 }, reply: {}, timeout: 600 };
  });
  await kernel.createAll(flows, (w, flow) => writeCreateRequest(w, 0, flow, true), (outcome) => {
    assert.equal(outcome, 'created');
    created++;
    mostAhead = Math.max(mostAhead, created - events);
  });
  assert.equal(created, n);
  // Beyond the backlog: one pipeline of unanswered creates (1024), whose events may not be read yet.
  assert.ok(mostAhead <= backlog + 1024 + 256, `creates ran ${mostAhead} events ahead of the handler`);
  assert.ok(await until(() => events === n || overruns > 0), `${events} events of ${n}`);
  assert.equal(overruns, 0, 'the event socket overran');
});

test("a commit on the system's default event buffer (~160 events) never overruns it: fewer creates in flight", async (t) => {
  const ns = await withNetns(t, 'cde-smallbuf');
  const n = 10_000;
  let events = 0;
  let overruns = 0;
  const kernel = new KernelSide({
    // No NetlinkBufferSize: the socket keeps net.core.rmem_default.
    general: generalDefaults(),
    log: { write: () => {} },
    netns: ns.name,
    filter: compileFlowFilter(undefined),
    sink: { event: () => events++, dumped: () => {}, overrun: () => overruns++ },
  });
  t.after(() => kernel.close());
  kernel.listen();
  assert.ok(kernel.counters.bufferSize <= 1 << 20, `a small buffer: ${kernel.counters.bufferSize}`);
  const flows = Array.from({ length: n }, (_, i): Flow => {
    const src = `10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
    return { family: 2, orig: { l3: 2, src, dst: '10.9.0.2', proto: UDP, sport: 2000, dport: 53 }, reply: {}, timeout: 600 };
  });
  let created = 0;
  await kernel.createAll(flows, (w, flow) => writeCreateRequest(w, 0, flow, true), (outcome) => {
    assert.equal(outcome, 'created');
    created++;
  });
  assert.equal(created, n);
  assert.ok(await until(() => events === n || overruns > 0), `${events} events of ${n}`);
  assert.equal(overruns, 0, `the event socket overran (${events} events of ${n} arrived)`);
});

test('HashLimit: the first flow the full cache refuses is logged once, with the setting to raise; the later ones are counted', async (t) => {
  const { ns, engine, logs } = await started(t, 'cde-limit', { hashLimit: 3 }, (ns) => ctFill(ns, udpEntries(5)));
  assert.equal(engine.cache.size, 3);
  assert.equal(engine.cache.counters.addFailNoSpace, 2);
  const warning = /^WARNING internal cache full \(HashLimit 3\): a flow was not cached; raise HashLimit \(further losses are counted in `conntrackd -s'\)$/;
  assert.deepEqual(logs.filter((line) => line.startsWith('WARNING')).map((line) => warning.test(line)), [true]);
  await ctFill(ns, udpEntries(2, 7));
  assert.ok(await until(() => engine.cache.counters.addFailNoSpace === 4));
  assert.equal(logs.filter((line) => line.startsWith('WARNING')).length, 1);
});
