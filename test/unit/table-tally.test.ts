/**
 * TableTally: counts by keys moved by events, corrected by reconciling
 * passes (lost NEW, lost DESTROY, lost UPDATE), events during a pass
 * winning over the dump's older copy, and identities that share a CTA_ID.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NLMSG_HDRLEN } from '../../src/netlink/constants';
import { NFGENMSG_LEN } from '../../src/nfnetlink/header';
import type { Flow } from '../../src/ctnetlink/flow';
import { WireEntry } from '../../src/ctnetlink/wire-entry';
import { FLOW_KEYS, UNTRACKED_STATE } from '../../src/api/flow-keys';
import { TableTally } from '../../src/api/table-tally';
import { eventMessage } from './event-fixtures';

const ESTABLISHED = 3;
const TIME_WAIT = 7;
const SEEN_REPLY = 1 << 1;

/** A TCP entry to port 80 from 10.0.0.1 (`state` undefined: a message without it), or UDP to port 53 from 10.0.1.1. */
function flow(proto: 6 | 17, id: number, sport: number, extra: Partial<Flow> = {}): Flow {
  const [src, dport] = proto === 6 ? ['10.0.0.1', 80] : ['10.0.1.1', 53];
  return {
    family: 2,
    orig: { l3: 2, src, dst: '10.0.0.2', proto, sport, dport },
    reply: { l3: 2, src: '10.0.0.2', dst: src, proto, sport: dport, dport: sport },
    id,
    ...extra,
  };
}

const tcp = (id: number, sport: number, state: number | undefined, zone?: number): Flow =>
  flow(6, id, sport, { zone, tcp: state === undefined ? undefined : { state } });
const udp = (id: number, sport: number, status = 0): Flow => flow(17, id, sport, { status });

/** The entry as the kernel's message carries it. */
function entry(flow: Flow): WireEntry {
  const m = eventMessage(flow);
  return new WireEntry().set(m, NLMSG_HDRLEN + NFGENMSG_LEN, m.length, flow.family);
}

const keys = { proto: FLOW_KEYS.proto, state: FLOW_KEYS.state, zone: FLOW_KEYS.zone, src: FLOW_KEYS.src };
type Key = keyof typeof keys;

function counts(t: TableTally<Key>, key: Key): Record<string, number> {
  return Object.fromEntries(t.counts(key).map((c) => [String(c.key), c.entries]));
}

test('events add, move and remove entries in every key', () => {
  const t = new TableTally(keys);
  t.apply('new', entry(tcp(1, 1000, ESTABLISHED, 5)));
  t.apply('new', entry(tcp(2, 1001, ESTABLISHED)));
  t.apply('new', entry(udp(3, 2000)));
  assert.equal(t.entries, 3);
  assert.deepEqual(counts(t, 'proto'), { 6: 2, 17: 1 });
  assert.deepEqual(counts(t, 'state'), { [ESTABLISHED]: 2, [UNTRACKED_STATE.UNREPLIED]: 1 });
  assert.deepEqual(counts(t, 'zone'), { 0: 2, 5: 1 });

  t.apply('update', entry(tcp(2, 1001, TIME_WAIT)));
  t.apply('update', entry(udp(3, 2000, SEEN_REPLY)));
  // An UPDATE without the TCP state (a mark change) leaves the entry in its state.
  t.apply('update', entry(tcp(1, 1000, undefined, 5)));
  assert.deepEqual(counts(t, 'state'), { [ESTABLISHED]: 1, [TIME_WAIT]: 1, [UNTRACKED_STATE.REPLIED]: 1 });

  t.apply('destroy', entry(tcp(2, 1001, TIME_WAIT)));
  t.apply('destroy', entry(tcp(9, 1009, TIME_WAIT))); // never seen: nothing to remove
  assert.equal(t.entries, 2);
  assert.deepEqual(counts(t, 'state'), { [ESTABLISHED]: 1, [UNTRACKED_STATE.REPLIED]: 1 });
  assert.deepEqual(counts(t, 'proto'), { 6: 1, 17: 1 });
});

test('a pass adds what NEW events lost, removes what DESTROY events lost, moves what UPDATE events lost', () => {
  const t = new TableTally(keys);
  t.apply('new', entry(tcp(1, 1000, ESTABLISHED)));
  t.apply('new', entry(tcp(2, 1001, ESTABLISHED))); // its DESTROY is lost
  t.beginPass();
  t.see(entry(tcp(1, 1000, TIME_WAIT))); // its UPDATE was lost
  t.see(entry(udp(3, 2000))); // its NEW was lost
  assert.deepEqual(t.endPass(), { added: 1, removed: 1, changed: 1 });
  assert.equal(t.entries, 2);
  assert.deepEqual(counts(t, 'state'), { [TIME_WAIT]: 1, [UNTRACKED_STATE.UNREPLIED]: 1 });
});

test('an event during a pass wins over the dump copy, before or after it is dumped', () => {
  const t = new TableTally(keys);
  t.apply('new', entry(tcp(1, 1000, ESTABLISHED)));
  t.apply('new', entry(tcp(2, 1001, ESTABLISHED)));
  t.beginPass();
  // Destroyed while the dump ran, its (older) copy read afterwards: no ghost.
  t.apply('destroy', entry(tcp(1, 1000, ESTABLISHED)));
  t.see(entry(tcp(1, 1000, ESTABLISHED)));
  // Updated, then its older copy read: the event's state stays.
  t.apply('update', entry(tcp(2, 1001, TIME_WAIT)));
  t.see(entry(tcp(2, 1001, ESTABLISHED)));
  // Created during the pass and never dumped: not swept.
  t.apply('new', entry(udp(3, 2000)));
  assert.deepEqual(t.endPass(), { added: 0, removed: 0, changed: 0 });
  assert.deepEqual(counts(t, 'state'), { [TIME_WAIT]: 1, [UNTRACKED_STATE.UNREPLIED]: 1 });
});

test('an abandoned pass removes nothing', () => {
  const t = new TableTally(keys);
  t.apply('new', entry(tcp(1, 1000, ESTABLISHED)));
  t.beginPass();
  t.abandonPass();
  assert.equal(t.entries, 1);
});

test('entries sharing a CTA_ID are told apart by their tuple', () => {
  const t = new TableTally(keys);
  for (let port = 1000; port < 1100; port++) t.apply('new', entry(tcp(7, port, ESTABLISHED)));
  assert.equal(t.entries, 100);
  t.apply('destroy', entry(tcp(7, 1050, ESTABLISHED)));
  assert.equal(t.entries, 99);
});

test('an UPDATE short of a key for an unknown entry is left to the next pass', () => {
  const t = new TableTally(keys);
  t.apply('update', entry(tcp(1, 1000, undefined)));
  assert.equal(t.entries, 0);
  t.beginPass();
  t.apply('update', entry(tcp(1, 1000, undefined)));
  t.see(entry(tcp(1, 1000, ESTABLISHED)));
  t.endPass();
  assert.deepEqual(counts(t, 'state'), { [ESTABLISHED]: 1 });
});

test('top: most entries first, bounded; empty groups are forgotten after a pass', () => {
  const t = new TableTally(keys);
  let id = 1;
  const sources = 200;
  for (let s = 0; s < sources; s++) {
    for (let n = 0; n <= s % 5; n++) {
      const f = udp(id++, 3000 + n);
      f.orig.src = `10.1.${s >> 8}.${s & 255}`;
      t.apply('new', entry(f));
    }
  }
  const top = t.top('src', 3);
  assert.equal(top.length, 3);
  assert.deepEqual(top.map((c) => c.entries), [5, 5, 5]);
  assert.ok((top[0]!.key as number) < (top[1]!.key as number), 'ties in key order');
  // Every entry gone (their DESTROY lost): the pass empties 200 groups and drops them.
  t.beginPass();
  t.endPass();
  assert.equal(t.entries, 0);
  assert.deepEqual(t.counts('src'), []);
  assert.deepEqual(t.top('src', 3), []);
});
