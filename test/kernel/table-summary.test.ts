/**
 * TableSummary on a real table: its counts by protocol and TCP state equal
 * a full dump's after a burst of 100,000 creates and 50,000 deletes that
 * overflows its (deliberately small) event buffer, so the counts are right
 * because the reconciling dump after the loss made them so.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Conntrack } from '../../src/api/conntrack';
import type { Flow } from '../../src/ctnetlink/flow';
import { FLOW_KEYS } from '../../src/api/flow-keys';
import { TableSummary } from '../../src/api/table-summary';
import type { GroupCount } from '../../src/api/table-tally';
import { withNetns } from './netns';
import { until } from './wait';

const BURST = 100_000;
const WINDOW = 4096;
const keys = { proto: FLOW_KEYS.proto, state: FLOW_KEYS.state };

/** Entry i: TCP in states 1..9 by i, every fourth one UDP; all distinct by source port and address. */
function flow(i: number): Flow {
  const udp = i % 4 === 3;
  const proto = udp ? 17 : 6;
  const src = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  return {
    family: 2,
    orig: { l3: 2, src, dst: '10.255.0.1', proto, sport: 1024 + (i % 50_000), dport: 80 },
    reply: { l3: 2, src: '10.255.0.1', dst: src, proto, sport: 80, dport: 1024 + (i % 50_000) },
    timeout: 600,
    ...(udp ? {} : { tcp: { state: 1 + (i % 9) } }),
  };
}

function byKey(counts: readonly GroupCount[]): Record<string, number> {
  return Object.fromEntries([...counts].sort((a, b) => (a.key < b.key ? -1 : 1)).map((c) => [String(c.key), c.entries]));
}

/** What a full dump says, counted with the same keys. */
async function dumpCounts(ct: Conntrack): Promise<{ proto: Record<string, number>; state: Record<string, number> }> {
  const proto = new Map<number | string, number>();
  const state = new Map<number | string, number>();
  await ct.dumpRaw({}, {}, (e) => {
    e.index();
    for (const [map, key] of [[proto, keys.proto], [state, keys.state]] as const) {
      const k = key(e)!;
      map.set(k, (map.get(k) ?? 0) + 1);
    }
  });
  const text = (m: Map<number | string, number>): Record<string, number> => byKey([...m].map(([key, entries]) => ({ key, entries })));
  return { proto: text(proto), state: text(state) };
}

test('counts by protocol and TCP state equal a dump after a burst of 100,000 creates and deletes with event loss', async (t) => {
  const ns = await withNetns(t, 'summary');
  const ct = Conntrack.open({ netns: ns.name });
  t.after(() => ct.close());
  // 64 KiB hold ~50 events: the burst overruns it for sure.
  const summary = TableSummary.watch({ netns: ns.name, keys, bufferSize: 64 * 1024, reconcileInterval: 0 });
  t.after(() => summary.close());
  await summary.ready;
  assert.equal(summary.entries, 0);

  for (let i = 0; i < BURST; i += WINDOW) {
    const window = Array.from({ length: Math.min(WINDOW, BURST - i) }, (_, j) => flow(i + j));
    await Promise.all(window.map((f) => ct.create(f)));
    // Every other entry deleted again at once: at most 50,000 live, within a small nf_conntrack_max.
    await Promise.all(window.filter((_, j) => j % 2 === 0).map((f) => ct.delete(f)));
  }
  assert.equal(await ct.count(), BURST / 2);

  let dumped = await dumpCounts(ct);
  const settled = await until(async () => {
    if (summary.entries !== BURST / 2) return false;
    dumped = await dumpCounts(ct);
    return JSON.stringify([byKey(summary.counts('proto')), byKey(summary.counts('state'))]) === JSON.stringify([dumped.proto, dumped.state]);
  }, 60_000);
  assert.ok(summary.overruns > 0, 'the burst overflowed the event buffer (else nothing here needed reconciling)');
  assert.ok(summary.reconciliations >= 2, `a reconciling dump followed the loss (${summary.reconciliations})`);
  assert.ok(settled, `summary ${summary.entries} entries ${JSON.stringify(summary.counts('state'))}, dump ${JSON.stringify(dumped)}`);
  assert.deepEqual(byKey(summary.counts('proto')), dumped.proto);
  assert.deepEqual(byKey(summary.counts('state')), dumped.state);
  // The odd entries stay: 25,000 UDP and 25,000 TCP ones, these in all 9 states.
  assert.equal(dumped.proto['17'], 25_000);
  assert.equal(Object.keys(dumped.state).length, 10);
});

test('without loss, events alone keep the counts exact between dumps', async (t) => {
  const ns = await withNetns(t, 'summary');
  const ct = Conntrack.open({ netns: ns.name });
  t.after(() => ct.close());
  const summary = TableSummary.watch({ netns: ns.name, keys, reconcileInterval: 0 });
  t.after(() => summary.close());
  await summary.ready;
  const flows = Array.from({ length: 2000 }, (_, i) => flow(i));
  await Promise.all(flows.map((f) => ct.create(f)));
  await Promise.all(flows.slice(0, 500).map((f) => ct.delete(f)));
  await ct.update({ ...flows[600]!, tcp: { state: 7 } });
  const dumped = await dumpCounts(ct);
  assert.ok(await until(() => JSON.stringify(byKey(summary.counts('state'))) === JSON.stringify(dumped.state)), JSON.stringify(summary.counts('state')));
  assert.deepEqual(byKey(summary.counts('proto')), dumped.proto);
  assert.equal(summary.reconciliations, 1, 'only the first dump ran');
  assert.equal(summary.overruns, 0);
  assert.equal(summary.reconciling, false);
  const pass = summary.reconcile();
  assert.equal(summary.reconciling, true);
  // Readable while the dump runs, without waiting for it: the counts events kept.
  assert.deepEqual(byKey(summary.counts('state')), dumped.state);
  await pass;
  assert.equal(summary.reconciling, false);
});
