/**
 * The exposition formats against golden text (test/fixtures/exporter), the
 * Accept negotiation, and the flags.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { negotiate, writeExposition } from '../../src/exporter/exposition';
import { scrapeFamilies, type ScrapeInput } from '../../src/exporter/metrics';
import { listenAddress, parseExporterOptions, UsageError, HelpRequest } from '../../src/exporter/options';
import { parseConntrackdJson, parseConntrackdStats } from '../../src/exporter/conntrackd-stats';
import { formatStatsJson } from '../../src/conntrackd/stats/json';
import type { SyncSnapshot } from '../../src/conntrackd/stats/counters';

const FIXTURES = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'exporter');
const golden = (name: string): string => readFileSync(path.join(FIXTURES, name), 'utf8');

const listener = {
  eventsReceived: 1234, eventsLost: 5, overruns: 1, reconciliations: 3, failures: 0,
  corrections: { added: 2, removed: 3, changed: 0 }, lastDurationSeconds: 0.25, lastTimestampSeconds: 1700000000.5,
  reconciling: true,
};

/** Two namespaces (one unreachable), IPv4 and IPv6 sources, a label value needing escapes, one daemon up and one down. */
const INPUT: ScrapeInput = {
  limit: 262144,
  buckets: 65536,
  namespaces: [
    {
      netns: 'fw"1',
      result: {
        netns: 'fw"1', entries: 3, expectations: 1,
        cpus: [0, 1].map((cpu) => ({ cpu, counters: [], named: { found: 10 + cpu, invalid: 2, insert: 0, insert_failed: 1, drop: 0, early_drop: 0, error: 0, search_restart: 4, clash_resolve: 0, chaintoolong: 0 } })),
        summary: {
          byProtocol: [{ key: 6, entries: 2 }, { key: 17, entries: 1 }],
          byState: [{ key: 3, entries: 2 }, { key: 1000, entries: 1 }],
          byZone: [{ key: 0, entries: 3 }],
          topSources: [{ key: 0x0a000001, entries: 2 }, { key: Buffer.from('20010db8000000000000000000000001', 'hex').toString('latin1'), entries: 1 }],
        },
        listener,
      },
    },
    { netns: 'gone', result: { error: 'setns ENOENT' } },
  ],
  daemons: [
    {
      socket: '/run/conntrackd.ctl',
      result: {
        caches: [{ cache: 'internal', active: 3, created: 10, createFailed: 0, updated: 20, updateFailed: 0, destroyed: 7, destroyFailed: 1 }],
        messagesMalformed: 0, messagesLost: 2,
        links: [{ kind: 'udp', device: 'eth1', status: 1, active: true, sent: { bytes: 1000, messages: 10, errors: 0 }, received: { bytes: 2000, messages: 20, errors: 1 } }],
        eventsReceived: 99, netlinkOverruns: 0, resyncs: 1,
        messagesResent: 4, lastCommit: { endedAt: 1700000100.25, durationSeconds: 0.5, committed: 120, failed: 3 },
      },
    },
    { socket: '/run/other.ctl', result: { error: 'connect ENOENT' } },
  ],
  statPerCpu: true,
  scrapeErrors: new Map([['netns:gone', 4]]),
};

test('the Prometheus text format of a scrape, byte for byte', () => {
  assert.equal(writeExposition(scrapeFamilies(INPUT), 'prometheus'), golden('scrape.prom'));
});

test('OpenMetrics: counter families without _total, UNIT lines, # EOF', () => {
  assert.equal(writeExposition(scrapeFamilies(INPUT), 'openmetrics'), golden('scrape.om'));
});

test('per-CPU statistics summed on request', () => {
  const text = writeExposition(scrapeFamilies({ ...INPUT, statPerCpu: false }), 'prometheus');
  assert.match(text, /^conntrack_stat_found_total\{netns="fw\\"1"\} 21$/m);
  assert.doesNotMatch(text, /cpu="/);
});

test('Accept negotiation', () => {
  assert.equal(negotiate(undefined), 'prometheus');
  assert.equal(negotiate('text/plain'), 'prometheus');
  // What Prometheus 2.x sends by default, and with OpenMetrics preferred.
  assert.equal(negotiate('application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1'), 'openmetrics');
  assert.equal(negotiate('text/plain;version=0.0.4;q=1,application/openmetrics-text;q=0.5'), 'prometheus');
});

test('flags as Prometheus exporters spell them', () => {
  const o = parseExporterOptions(['--web.listen-address=127.0.0.1:9000', '--web.telemetry-path', '/m', '--netns', 'a', '--netns=b',
    '--conntrackd.socket=/run/c.ctl', '--collector.top-sources=5', '--no-collector.stat.per-cpu', '--reconcile.interval=10', '--events.buffer-size=4096']);
  assert.deepEqual(o, {
    listen: { host: '127.0.0.1', port: 9000 }, telemetryPath: '/m', netns: ['a', 'b'], conntrackdSockets: ['/run/c.ctl'],
    topSources: 5, statPerCpu: false, reconcileInterval: 10, eventBufferSize: 4096,
  });
  assert.equal(parseExporterOptions([]).eventBufferSize, undefined);
  assert.deepEqual(listenAddress(':9466'), { host: undefined, port: 9466 });
  assert.deepEqual(listenAddress('[::1]:9466'), { host: '::1', port: 9466 });
  for (const bad of [['--web.listen-address=9466'], ['--nope'], ['--netns'], ['--collector.top-sources=-1'], ['--web.telemetry-path=/'], ['x'], ['--collector.stat.per-cpu=1'], ['--events.buffer-size=0'], ['--events.buffer-size=4k']]) {
    assert.throws(() => parseExporterOptions(bad), UsageError, bad.join(' '));
  }
  assert.throws(() => parseExporterOptions(['--help']), HelpRequest);
});

test('conntrackd -s texts of Sync mode with external inject, and of Stats mode', () => {
  const sync = parseConntrackdStats(golden('conntrackd-s-sync.txt'), golden('conntrackd-s-link.txt'), golden('conntrackd-s-runtime.txt'));
  assert.deepEqual(sync.caches.map((c) => [c.cache, c.active, c.created, c.destroyFailed]), [['internal', 2, 5, 0], ['external-inject', undefined, 4, 1]]);
  assert.equal(sync.messagesLost, 7);
  assert.deepEqual(sync.links.map((l) => [l.kind, l.device, l.status, l.active, l.sent.messages, l.received.errors]), [['udp', 'veth0', 1, true, 12, 0], ['udp', 'veth1', 0, false, 0, 3]]);
  assert.deepEqual([sync.eventsReceived, sync.netlinkOverruns, sync.resyncs], [42, 1, 2]);
  const stats = parseConntrackdStats(golden('conntrackd-s-stats.txt'), '', '');
  assert.deepEqual(stats.caches.map((c) => [c.cache, c.active, c.updated]), [['stats', 9, 3]]);
  assert.equal(stats.messagesLost, undefined);
});

test('resent messages and the last commit from our daemon\'s JSON statistics; none from 1.4.7\'s empty replies', () => {
  const snapshotFile = path.join(FIXTURES, '..', 'conntrackd', 'stats', 'ftfw-udp', 'snapshot.json');
  const sync = JSON.parse(readFileSync(snapshotFile, 'utf8')) as SyncSnapshot;
  const lastCommit = { endedAt: 1700000100.25, durationSeconds: 0.5, committed: 120, failed: 3 };
  const ours = { ...sync, network: { ...sync.network, sendResent: 4 }, lastCommit };
  assert.deepEqual(parseConntrackdJson(formatStatsJson('network', ours), formatStatsJson('runtime', ours)), { messagesResent: 4, lastCommit });
  assert.deepEqual(parseConntrackdJson(formatStatsJson('network', sync), formatStatsJson('runtime', sync)), { messagesResent: 0, lastCommit: undefined });
  assert.deepEqual(parseConntrackdJson('', ''), { messagesResent: undefined, lastCommit: undefined });
});

test('the Grafana dashboard uses only metrics the exporter exports', () => {
  const dashboard = readFileSync(path.join(FIXTURES, '..', '..', '..', 'contrib', 'grafana', 'conntrack.json'), 'utf8');
  const exported = new Set([...golden('scrape.prom').matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]!));
  const used = new Set([...dashboard.matchAll(/\b(conntrackd?_[a-z_]+)/g)].map((m) => m[1]!));
  assert.ok(used.size >= 10);
  assert.deepEqual([...used].filter((name) => !exported.has(name)), []);
});
