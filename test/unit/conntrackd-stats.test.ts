/**
 * conntrackd's `-s` formatters against texts captured from conntrackd 1.4.7
 * (test/fixtures/conntrackd/stats, README there), and their JSON form
 * against schema/conntrackd-stats.v1.json.
 *
 * Each fixture directory is one daemon configuration at one instant: the
 * reference's answer to every `-s` kind (KIND.txt, `all` being `-s` alone)
 * and the counters behind them (snapshot.json). Our formatter fed the
 * counters must print the reference's bytes.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { Request } from '../../src/conntrackd/control/codes';
import {
  newBypassCounters, newCacheCounters, newChannelCounters, newInjectCounters, newNetlinkCounters, newNetworkCounters, newRuntimeCounters,
  newTrafficCounters, type StatsModeSnapshot, type StatsSnapshot, type SyncSnapshot,
} from '../../src/conntrackd/stats/counters';
import { formatStatsJson, statsJson, STATS_JSON_VERSION } from '../../src/conntrackd/stats/json';
import { statsReply } from '../../src/conntrackd/stats/reply';
import {
  JSON_REQUEST_OFFSET, parseStatsRequest, parseStatsWord, STATS_KINDS, statsRequestCode, type StatsKind,
} from '../../src/conntrackd/stats/requests';
import { formatStats, formatUptime } from '../../src/conntrackd/stats/text';
import { SchemaValidator } from './json-schema-validator';

const FIXTURES = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'conntrackd', 'stats');
const SCHEMA_FILE = path.join(__dirname, '..', '..', '..', 'schema', 'conntrackd-stats.v1.json');

/** The file name of a kind's capture: `-s` alone was saved as all.txt (it asks what `-s ct` asks). */
const captureName = (kind: StatsKind | 'all'): string => `${kind}.txt`;

interface Fixture {
  name: string;
  snapshot: StatsSnapshot;
  /** The captured kinds and their texts. */
  texts: Map<StatsKind | 'all', string>;
}

function loadFixtures(): Fixture[] {
  return readdirSync(FIXTURES, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(path.join(FIXTURES, e.name, 'snapshot.json')))
    .map((e) => {
      const dir = path.join(FIXTURES, e.name);
      const snapshot = JSON.parse(readFileSync(path.join(dir, 'snapshot.json'), 'utf8')) as StatsSnapshot;
      const texts = new Map<StatsKind | 'all', string>();
      for (const kind of ['all', ...STATS_KINDS] as const) {
        const file = path.join(dir, captureName(kind));
        if (existsSync(file)) texts.set(kind, readFileSync(file, 'latin1'));
      }
      return { name: e.name, snapshot, texts };
    });
}

const fixtures = loadFixtures();
const validator = new SchemaValidator(JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as Record<string, unknown>);

describe('conntrackd -s texts match 1.4.7', () => {
  test('the captures cover every configuration 1.4.7 distinguishes', () => {
    const names = fixtures.map((f) => f.name);
    for (const expected of ['stats-mode', 'no-mode', 'ftfw-udp', 'notrack-mcast', 'alarm-tcp', 'ftfw-inject', 'notrack-both']) {
      assert.ok(names.includes(expected), `fixture ${expected} is missing`);
    }
    const syncModes = new Set(fixtures.map((f) => f.snapshot.mode === 'sync' ? f.snapshot.syncMode : f.snapshot.mode));
    assert.deepEqual([...syncModes].sort(), ['alarm', 'ftfw', 'none', 'notrack', 'stats']);
  });

  for (const f of fixtures) {
    test(f.name, () => {
      assert.ok(f.texts.size > 0, 'no capture in the fixture');
      for (const [kind, golden] of f.texts) {
        assert.equal(formatStats(kind === 'all' ? 'ct' : kind, f.snapshot), golden, `-s ${kind === 'all' ? '' : kind}`);
      }
    });
  }
});

describe('conntrackd -s details the captures do not show', () => {
  test('uptime reads like procps uptime: days, hours only when not zero, minutes', () => {
    const golden = readFileSync(path.join(FIXTURES, 'uptime.tsv'), 'latin1').trim().split('\n');
    assert.ok(golden.length > 5);
    for (const line of golden) {
      const [seconds, text] = line.split('\t');
      assert.equal(formatUptime(Number(seconds)), text, line);
    }
    // Whole minutes, rounded down.
    assert.equal(formatUptime(59), '0 min');
    assert.equal(formatUptime(86399), '23 h 59 min');
  });

  test('32-bit counters wrap as in 1.4.7; 64-bit ones do not', () => {
    const snapshot: StatsModeSnapshot = {
      ...statsModeFixture(),
      cache: { ...newCacheCounters(), addOk: 2 ** 32 + 5 },
      traffic: { bytes: 2 ** 40, packets: 1 },
    };
    const text = formatStats('ct', snapshot);
    assert.match(text, /connections created:\t\t {11}5\t/);
    assert.match(text, new RegExp(`^ *${2 ** 40} Bytes`, 'm'));
  });

  test('traffic counters may be bigints, as the library reports kernel counters', () => {
    const s = statsModeFixture();
    const asNumbers = { ...s, traffic: { bytes: 568600, packets: 103 } };
    const asBigints = { ...s, traffic: { bytes: 568600n, packets: 103n } };
    assert.equal(formatStats('ct', asBigints), formatStats('ct', asNumbers));
    assert.equal(formatStatsJson('ct', asBigints), formatStatsJson('ct', asNumbers));
    assert.match(formatStats('ct', { ...s, traffic: { bytes: 2n ** 63n, packets: 1n } }), /^ 9223372036854775808 Bytes/m);
  });

  test('process lists the children in flight', () => {
    const snapshot = { ...fixture('no-mode'), processes: [{ pid: 4242, type: 'flush' }, { pid: 17, type: 'commit' }] };
    assert.equal(formatStats('process', snapshot), 'PID=4242 type=flush\nPID=17 type=commit\n');
  });

  test('a TCP link whose two sides differ', () => {
    const s = syncFixture('alarm-tcp');
    const links = [{ ...s.links[0]!, tcp: { server: 'connected', client: 'disconnected' } as const }];
    assert.match(formatStats('ct', { ...s, links }), /^TCP traffic \(active device=vA1\) server=connected client=disconnected:$/m);
  });

  test('expect prints the expectation caches like -s prints the flow caches, bypass and inject included', () => {
    const s = syncFixture('notrack-mcast');
    const bypass = { ...newBypassCounters(), new: 3 };
    const inject = { ...newInjectCounters(), addOk: 4 };
    const snapshot: SyncSnapshot = { ...s, expectations: { internal: { bypass }, external: { inject } } };
    const flows: SyncSnapshot = { ...s, internal: { bypass }, external: { inject } };
    assert.equal(formatStats('expect', snapshot), formatStats('ct', flows));
  });
});

describe('conntrackd JSON statistics', () => {
  test('every kind of every fixture validates against the schema', () => {
    for (const f of fixtures) {
      for (const kind of STATS_KINDS) {
        const doc = JSON.parse(formatStatsJson(kind, f.snapshot)) as unknown;
        assert.deepEqual(validator.validate(doc), [], `${f.name} ${kind}`);
      }
    }
  });

  test('one line, never empty: a kind the mode lacks gives the header alone', () => {
    const none = fixture('no-mode');
    assert.equal(formatStats('cache', none), '');
    assert.equal(formatStatsJson('cache', none), `{"version":${STATS_JSON_VERSION},"kind":"cache","mode":"none"}\n`);
    for (const f of fixtures) {
      for (const kind of STATS_KINDS) assert.match(formatStatsJson(kind, f.snapshot), /^\{[^\n]*\}\n$/);
    }
  });

  test('a snapshot built from the zero counters validates in every mode', () => {
    const common = { uptimeSeconds: 0, netlink: newNetlinkCounters(), runtime: newRuntimeCounters(), processes: [] };
    const link = { kind: 'udp' as const, device: 'eth1', status: 'RUNNING' as const, active: true, traffic: newChannelCounters() };
    const snapshots: StatsSnapshot[] = [
      { mode: 'none', ...common },
      { mode: 'stats', ...common, cache: newCacheCounters(), traffic: newTrafficCounters() },
      {
        mode: 'sync', syncMode: 'notrack', ...common,
        internal: { bypass: newBypassCounters() }, external: { inject: newInjectCounters() }, traffic: newTrafficCounters(),
        links: [link], network: newNetworkCounters(), queueNodes: 0, queues: [],
      },
    ];
    for (const snapshot of snapshots) {
      for (const kind of STATS_KINDS) assert.deepEqual(validator.validate(statsJson(kind, snapshot)), [], `${snapshot.mode} ${kind}`);
    }
  });

  test('the JSON holds the numbers the text shows, unwrapped', () => {
    const s = syncFixture('ftfw-udp');
    const doc = statsJson('ct', { ...s, traffic: { ...newTrafficCounters(), bytes: 2 ** 33 } });
    assert.equal(doc.syncMode, 'ftfw');
    assert.deepEqual(doc.internal, s.internal);
    assert.deepEqual((doc.traffic as { bytes: number }).bytes, 2 ** 33);
    assert.deepEqual(doc.link, s.links.find((l) => l.active));
    assert.deepEqual(doc.messageTracking, { malformed: 0, lost: 0 });
  });

  test('the last commit: in -s runtime --json once there was one, never in the 1.4.7 text', () => {
    const s = syncFixture('ftfw-udp');
    const lastCommit = { endedAt: 1700000000.5, durationSeconds: 0.012, committed: 10, failed: 1 };
    const committed = { ...s, lastCommit };
    const doc = statsJson('runtime', committed);
    assert.deepEqual(doc.lastCommit, lastCommit);
    assert.deepEqual(validator.validate(doc), []);
    assert.equal(statsJson('runtime', s).lastCommit, undefined);
    for (const kind of STATS_KINDS) {
      assert.equal(formatStats(kind, committed), formatStats(kind, s), kind);
      if (kind !== 'runtime') assert.equal(statsJson(kind, committed).lastCommit, undefined, kind);
    }
    assert.notDeepEqual(validator.validate({ ...doc, lastCommit: { ...lastCommit, failed: -1 } }), []);
    assert.notDeepEqual(validator.validate({ ...statsJson('runtime', fixture('stats-mode')), lastCommit }), []);
  });

  test('the schema refuses what the formatter never writes', () => {
    const good = statsJson('runtime', fixture('stats-mode'));
    assert.deepEqual(validator.validate(good), []);
    assert.notDeepEqual(validator.validate({ ...good, kind: 'bogus' }), []);
    assert.notDeepEqual(validator.validate({ ...good, runtime: { ...newRuntimeCounters(), extra: 1 } }), []);
    assert.notDeepEqual(validator.validate({ ...good, netlink: { ...newNetlinkCounters(), eventsReceived: -1 } }), []);
    const sync = statsJson('network', syncFixture('ftfw-udp'));
    assert.deepEqual(validator.validate(sync), []);
    assert.notDeepEqual(validator.validate({ ...sync, network: { ...newNetworkCounters(), sequenceLost: 'x' } }), []);
    assert.notDeepEqual(validator.validate({ ...sync, syncMode: 'fast' }), []);
    const { syncMode, ...withoutSyncMode } = sync;
    assert.equal(syncMode, 'ftfw');
    assert.notDeepEqual(validator.validate(withoutSyncMode), []);
    assert.notDeepEqual(validator.validate({ ...good, syncMode: 'ftfw' }), []);
    assert.notDeepEqual(validator.validate({ ...good, links: [] }), []);
  });
});

describe('statistics request codes', () => {
  test('text codes are 1.4.7\'s; JSON codes sit above everything 1.4.7 knows', () => {
    assert.equal(statsRequestCode('ct', false), Request.STATS);
    assert.equal(statsRequestCode('link', false), Request.STATS_LINK);
    const highest = Math.max(...Object.values(Request).filter((v): v is number => typeof v === 'number'));
    for (const kind of STATS_KINDS) {
      const code = statsRequestCode(kind, true);
      assert.ok(code > highest);
      assert.deepEqual(parseStatsRequest(code), { kind, json: true });
      assert.deepEqual(parseStatsRequest(statsRequestCode(kind, false)), { kind, json: false });
    }
    assert.equal(statsRequestCode('ct', true), Request.STATS + JSON_REQUEST_OFFSET);
    assert.equal(parseStatsRequest(Request.KILL), undefined);
    assert.equal(parseStatsRequest(Request.KILL + JSON_REQUEST_OFFSET), undefined);
  });

  test('-s words resolve as in 1.4.7: first match in its order, multicast is link with a warning', () => {
    // What the reference client printed for each abbreviation (ftfw-udp config).
    const seen: Record<string, StatsKind> = {
      c: 'cache', ca: 'cache', ct: 'ct', r: 'runtime', rs: 'rsqueue', n: 'network', l: 'link', p: 'process', q: 'queue', e: 'expect',
    };
    for (const [word, kind] of Object.entries(seen)) assert.deepEqual(parseStatsWord(word), { kind, deprecated: false }, word);
    for (const kind of STATS_KINDS) assert.deepEqual(parseStatsWord(kind), { kind, deprecated: false });
    assert.deepEqual(parseStatsWord('m'), { kind: 'link', deprecated: true });
    assert.deepEqual(parseStatsWord('multicast'), { kind: 'link', deprecated: true });
    assert.equal(parseStatsWord('co'), undefined);
    assert.equal(parseStatsWord('json'), undefined);
    assert.equal(parseStatsWord('networks'), undefined);
  });

  test('statsReply answers a statistics code with its text or JSON, and nothing else', () => {
    const s = fixture('stats-mode');
    assert.equal(statsReply(Request.STATS_CACHE, s), formatStats('cache', s));
    assert.equal(statsReply(Request.STATS_CACHE + JSON_REQUEST_OFFSET, s), formatStatsJson('cache', s));
    assert.equal(statsReply(Request.STATS_NETWORK, s), '');
    assert.equal(statsReply(Request.CT_DUMP_INTERNAL, s), undefined);
  });
});

function fixture(name: string): StatsSnapshot {
  const f = fixtures.find((x) => x.name === name);
  assert.ok(f, `fixture ${name}`);
  return f.snapshot;
}

function syncFixture(name: string): SyncSnapshot {
  const s = fixture(name);
  assert.equal(s.mode, 'sync');
  return s;
}

function statsModeFixture(): StatsModeSnapshot {
  const s = fixture('stats-mode');
  assert.equal(s.mode, 'stats');
  return s;
}
