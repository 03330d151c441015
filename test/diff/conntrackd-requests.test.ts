/**
 * Every control request that means something without a sync peer, sent by
 * the C client and by ours to the C daemon and to ours (all four pairings),
 * in Stats mode, in a config with no mode at all, and in Sync (FTFW over UDP
 * on the namespace's loopback, no peer listening); then the effects that
 * touch the kernel (-t) and `-k` sent by the other implementation's client.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withNetns } from '../kernel/netns';
import {
  assertAloneRuns,
  assertPairings,
  assertSameCache,
  assertSameFile,
  createFlows,
  kernelCount,
  LIBRARY_FLOWS,
  loadProtocolModules,
  referenceConntrackd,
  startPair,
  type DaemonConfig,
  type Pair,
} from './conntrackd-harness';

const args = (s: string): string[] => s.split(' ');

/** Requests every mode answers (possibly with nothing); read-only ones first. */
const READS = [
  '-i', '-i ct', '-i -x', '-i expect', '-i expect -x', '-e', '-e ct', '-e -x', '-e expect',
  '-s', '-s ct', '-s cache', '-s runtime', '-s network', '-s link', '-s multicast', '-s rsqueue',
  '-s queue', '-s process', '-s expect',
];
/** Requests that change the daemon's caches or need a peer to show an effect, but not the kernel table. */
const CHANGES = ['-n', '-B', '-c', '-c ct', '-c expect', '-f external', '-f', '-R expect', '-F expect', '-f internal', '-R'];

/** What CHANGES may have changed. */
const AFTER = ['-i', '-e', '-s', '-s cache', '-s runtime', '-s rsqueue', '-s queue'];

/** The requests about expectations, and those that also act on them, with `ExpectationSync`. */
const EXPECT_REQUESTS: Requests = {
  reads: ['-i expect', '-i expect -x', '-e expect', '-e expect -x', '-s expect'],
  changes: ['-c expect', '-c', '-f', '-R expect', '-R', '-F expect', '-F'],
  after: ['-s expect', '-s runtime'],
};

interface Requests {
  reads: readonly string[];
  changes: readonly string[];
  after: readonly string[];
}

/** Runs every request through all pairings, then checks runtime counters and the daemon log. */
async function allRequests(pair: Pair, mask?: (text: string) => string, requests: Requests = { reads: READS, changes: CHANGES, after: AFTER }): Promise<void> {
  const send = (a: string, readOnly: boolean): Promise<unknown> => assertPairings(pair, args(a), { sort: a.startsWith('-i'), mask, readOnly });
  for (const a of requests.reads) await send(a, true);
  for (const a of requests.changes) await send(a, false);
  for (const a of requests.after) await send(a, true);
  await assertSameFile(pair, 'log', { mask });
}

/** -k from the other implementation's client: the process ends and removes its socket and lock file. */
async function crossKill(pair: Pair, mask?: (text: string) => string): Promise<void> {
  const ours = pair.sub.impl;
  const ref = await pair.ref.stop(ours);
  const sub = await pair.sub.stop(referenceConntrackd);
  assert.deepEqual(sub.leftovers, ref.leftovers, 'files left after -k');
  assert.deepEqual(ref.leftovers, [], 'the reference removes its socket and lock file');
  assert.equal(sub.client.stdout.toString() + sub.client.stderr.toString(), ref.client.stdout.toString() + ref.client.stderr.toString());
  assert.equal(sub.client.status, ref.client.status);
  await assertSameFile(pair, 'log', { mask });
}

test('Stats mode: every request, all four pairings', async (t) => {
  await loadProtocolModules();
  const ns = await withNetns(t, 'ctd-req-stats');
  await createFlows(ns, LIBRARY_FLOWS);
  const pair = await startPair(t, ns);
  await assertSameCache(pair, LIBRARY_FLOWS.length);
  await allRequests(pair);
  await crossKill(pair);
});

test('no mode (neither Stats nor Sync): every request, all four pairings', async (t) => {
  const ns = await withNetns(t, 'ctd-req-none');
  await createFlows(ns, LIBRARY_FLOWS.slice(0, 3));
  const pair = await startPair(t, ns, { mode: 'none' });
  await allRequests(pair);
  await crossKill(pair);
});

/** FTFW over UDP on loopback; nobody listens on the destination, so nothing is ever acknowledged. */
const syncConfig = (port: number, purge = 60, extra: { mode?: string; options?: string } = {}): DaemonConfig => ({
  mode: 'sync',
  sync: [
    '\tMode FTFW {',
    `\t\tPurgeTimeout ${purge}`,
    extra.mode ?? '',
    '\t}',
    '\tUDP {',
    '\t\tIPv4_address 127.0.0.1',
    '\t\tIPv4_Destination_Address 127.0.0.2',
    `\t\tPort ${port}`,
    '\t\tInterface lo',
    '\t}',
    extra.options ?? '',
  ].join('\n'),
});

/**
 * Sync-mode values that depend on timing, not behaviour: the keep-alives a
 * daemon has sent by the time it is asked (one a second), sequence numbers
 * (they start at the Unix time) and how long a commit took. And our commit's
 * report, beyond 1.4.7 (which replies nothing; conntrackd-commit.test.ts checks it).
 */
function maskSyncTiming(text: string): string {
  return text
    .replace(/^commit: \d+ entries committed, \d+ failed\n/gm, '')
    .replace(/^ *\d+( (?:Bytes|Pckts) sent +\d+ (?:Bytes|Pckts) recv)$/gm, 'N$1')
    .replace(/seq:\d+/g, 'seq:N')
    .replace(/(commit has taken )[\d.]+( seconds)/g, '$1S$2');
}

test('Sync mode without a peer: every request, all four pairings', async (t) => {
  const ns = await withNetns(t, 'ctd-req-sync');
  await createFlows(ns, LIBRARY_FLOWS.slice(0, 3));
  // A port each: both daemons bind their address at the same time.
  const pair = await startPair(t, ns, (side) => syncConfig(side === 'ref' ? 3780 : 3781));
  await assertSameCache(pair, 3);
  await allRequests(pair, maskSyncTiming);
  await crossKill(pair, maskSyncTiming);
});

/** With StartupResync the log also says when the daemon asks for its resync. */
test('Sync mode with ExpectationSync and StartupResync, without a peer: the expectation requests, all four pairings', async (t) => {
  const ns = await withNetns(t, 'ctd-req-exp');
  const extra = { mode: '\t\tStartupResync on', options: '\tOptions {\n\t\tExpectationSync On\n\t}' };
  const pair = await startPair(t, ns, (side) => syncConfig(side === 'ref' ? 3780 : 3781, 60, extra));
  await allRequests(pair, maskSyncTiming, EXPECT_REQUESTS);
});

test('Sync mode: -t flushes the kernel table after PurgeTimeout', async (t) => {
  const ns = await withNetns(t, 'ctd-req-purge');
  await assertAloneRuns(ns, {
    cfg: syncConfig(3780, 1),
    setup: (n) => createFlows(n, LIBRARY_FLOWS.slice(0, 3)),
    commands: [args('-t')],
    settled: async (n, daemon) => (await kernelCount(n)) === 0 && (await daemon.file('log')).includes('(scheduled)'),
    mask: maskSyncTiming,
  });
});
