/**
 * conntrackd in Stats mode, the C daemon and ours side by side in one
 * namespace: the internal cache (-i, -i -x) after the start-up dump and after
 * new flows, the destroyed-flow log, -s in its Stats-mode variants, the cache
 * flush (-f internal) and re-dump (-R); every request through all four
 * client/daemon pairings.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Flow } from '../../src/ctnetlink/flow';
import { makeTraffic, REFERENCE_CONNTRACK, withNetns } from '../kernel/netns';
import {
  assertPairings,
  assertSameCache,
  assertSameFile,
  createFlows,
  deleteFlows,
  eventually,
  LIBRARY_FLOWS,
  loadProtocolModules,
  startPair,
} from './conntrackd-harness';

const [before, after] = [LIBRARY_FLOWS.slice(0, 7), LIBRARY_FLOWS.slice(7)];

test('Stats mode: cache, statistics and destroyed-flow log follow the kernel table', async (t) => {
  await loadProtocolModules();
  const ns = await withNetns(t, 'ctd-stats');
  // Accounting on: destroyed flows add their bytes and packets to "traffic processed".
  await ns.sysctl('net.netfilter.nf_conntrack_acct', 1);
  await createFlows(ns, before);
  const pair = await startPair(t, ns);

  // The start-up dump.
  await assertSameCache(pair, before.length);
  await assertPairings(pair, ['-i', '-x'], { sort: true });
  await assertPairings(pair, ['-s']);

  // New flows reach both caches through events: library-made ones and real traffic.
  await createFlows(ns, after);
  const traffic = await makeTraffic(ns, { keepOpen: true });
  // Closed TCP (TIME_WAIT) and UDP flows per family, held-open TCP per family, two pings.
  const trafficFlows = traffic.flows.length + 2;
  await assertSameCache(pair, LIBRARY_FLOWS.length + trafficFlows);
  await assertPairings(pair, ['-i', 'ct'], { sort: true });

  // Updates: new marks reach both caches (and the update counters).
  await ns.execOk(REFERENCE_CONNTRACK, ['-U', '-s', '10.0.0.1', '-p', 'tcp', '-m', '99']);
  await eventually(async () => {
    const marked = (await pair.ref.cacheLines()).filter((l) => l.includes(' mark=99 '));
    assert.ok(marked.length >= 2, 'the reference saw the new marks');
    await assertPairings(pair, ['-i'], { sort: true });
  });

  // Destroyed flows (every protocol, NAT, zone, IPv6): logged with their date in
  // event order, counted, their counters summed.
  await deleteFlows(ns, LIBRARY_FLOWS);
  await traffic.close();
  // The UDP exchanges carried bytes: "traffic processed" is not zero.
  await ns.execOk(REFERENCE_CONNTRACK, ['-D', '-p', 'udp']);
  await assertSameCache(pair, trafficFlows - traffic.flows.filter((f) => f.proto === 'udp').length);
  await eventually(() => assertSameFile(pair, 'statsLog'));
  for (const args of [['-s'], ['-s', 'ct'], ['-s', 'cache'], ['-s', 'runtime']]) {
    await eventually(async () => {
      await assertPairings(pair, args);
    });
  }
  const stats = (await pair.ref.client(['-s'])).stdout.toString();
  assert.doesNotMatch(stats, /^ +0 Bytes +0 Pckts$/m, 'the reference counted the traffic of destroyed flows');
});

test('Stats mode: -f internal empties the cache without logging, -R fills it again', async (t) => {
  await loadProtocolModules();
  const ns = await withNetns(t, 'ctd-stats-flush');
  await createFlows(ns, LIBRARY_FLOWS);
  const pair = await startPair(t, ns);
  await assertSameCache(pair, LIBRARY_FLOWS.length);

  await assertPairings(pair, ['-f', 'internal']);
  await assertSameCache(pair, 0);
  await assertPairings(pair, ['-s']);
  await assertSameFile(pair, 'statsLog');

  await assertPairings(pair, ['-R']);
  await assertSameCache(pair, LIBRARY_FLOWS.length);
  await assertPairings(pair, ['-f', 'in']);
  await assertPairings(pair, ['-R', 'ct']);
  await assertSameCache(pair, LIBRARY_FLOWS.length);
  await assertPairings(pair, ['-s', 'cache']);
  await assertPairings(pair, ['-s', 'runtime']);
  // The daemon's own log: start-up notices, then one line per flush and resync.
  await assertSameFile(pair, 'log');
});

/*
 * Without the zoned flow: 1.4.7's poll looks every cached entry up in the
 * kernel by its original tuple without the zone, misses a zoned one, logs it
 * as destroyed and re-adds it on the next dump — once per poll, so how often
 * depends on timing.
 */
const unzoned = (flows: readonly Flow[]): Flow[] => flows.filter((f) => f.zone === undefined);

test('Stats mode with PollSecs: no events, the table is re-read every second', async (t) => {
  await loadProtocolModules();
  const ns = await withNetns(t, 'ctd-stats-poll');
  const [early, late] = [unzoned(before), unzoned(after)];
  await createFlows(ns, early);
  const pair = await startPair(t, ns, { general: 'PollSecs 1' });
  await assertSameCache(pair, early.length);
  await createFlows(ns, late);
  await assertSameCache(pair, early.length + late.length);
  await deleteFlows(ns, early);
  await assertSameCache(pair, late.length);
  await eventually(() => assertSameFile(pair, 'statsLog', { sort: true }));
  for (const args of [['-s'], ['-s', 'cache'], ['-s', 'runtime']]) await assertPairings(pair, args, { mask: maskPollCounts });
});

/** Every poll refreshes every cached entry: how many polls ran by the time of asking is timing, not behaviour. */
function maskPollCounts(text: string): string {
  // The padding goes too: it is as wide as the number is not.
  return text.replace(/^((?:connections updated|\tupdate OK\/failed|\tresync with kernel table):)[\t ]+\d+/gm, '$1 N');
}
