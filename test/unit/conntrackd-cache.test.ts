import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { FlowCache, type CacheChange } from '../../src/conntrackd/engine/cache';
import { FlowState } from '../../src/conntrackd/engine/record';
import { Proto } from '../../src/ctnetlink/constants';
import { makeFlow, REPLIED_ASSURED, tuple, type FlowSpec } from './format-fixtures';
import { wireEntry } from './conntrackd-fixtures';

const tcp = (sport: number, extra: Partial<FlowSpec> = {}) =>
  makeFlow({ proto: Proto.TCP, orig: tuple('10.0.0.1', '10.0.0.2', { sport, dport: 80 }), status: REPLIED_ASSURED, ...extra });

function cacheAt(limit = 100, clock = { now: 1000 }): { cache: FlowCache; changes: [CacheChange, FlowState][] } {
  const changes: [CacheChange, FlowState][] = [];
  const cache = new FlowCache(limit, 4, () => clock.now, (change, slot) => changes.push([change, cache.stateOf(slot)]));
  return { cache, changes };
}

describe('conntrackd internal cache', () => {
  it('keys flows by original tuple and zone, never by conntrack id', () => {
    const { cache } = cacheAt();
    cache.update(wireEntry(tcp(1, { id: 1 })));
    cache.update(wireEntry(tcp(1, { id: 2, mark: 7 })));
    assert.equal(cache.size, 1);
    const [flow] = [...cache.values()];
    assert.equal(flow!.flow().id, 2);
    assert.equal(flow!.flow().mark, 7);
    cache.update(wireEntry(tcp(1, { zone: 3 })));
    cache.update(wireEntry(tcp(2)));
    assert.equal(cache.size, 3);
    assert.equal(cache.remove(wireEntry(tcp(1, { id: 99 }))), true);
    assert.equal(cache.size, 2);
  });

  it('NEW adds once, UPDATE adds what is missing, DESTROY of a missing flow fails', () => {
    const { cache, changes } = cacheAt();
    cache.add(wireEntry(tcp(1)));
    cache.add(wireEntry(tcp(1, { mark: 5 })));
    assert.equal([...cache.values()][0]!.flow().mark, undefined, 'a second NEW changes nothing');
    cache.update(wireEntry(tcp(2)));
    cache.update(wireEntry(tcp(2)));
    assert.equal(cache.remove(wireEntry(tcp(3))), false);
    assert.equal(cache.remove(wireEntry(tcp(1))), true);
    assert.deepEqual(changes, [
      ['new', FlowState.NEW],
      ['new', FlowState.NEW],
      ['update', FlowState.ALIVE],
      ['destroy', FlowState.DEAD],
    ]);
    assert.deepEqual(cache.counters, {
      active: 1,
      total: 1,
      addOk: 2,
      addFail: 0,
      addFailNoMemory: 0,
      addFailNoSpace: 0,
      updOk: 1,
      updFail: 0,
      updFailNotFound: 0,
      delOk: 1,
      delFail: 1,
      delFailNotFound: 1,
    });
  });

  it('an update replaces the attributes it carries and keeps the others', () => {
    const { cache } = cacheAt();
    cache.update(wireEntry(tcp(1, { mark: 5, tcp: { state: 2 } })));
    cache.update(wireEntry(tcp(1, { tcp: { state: 3 } })));
    const flow = [...cache.values()][0]!.flow();
    assert.equal(flow.mark, 5);
    assert.equal(flow.tcp?.state, 3);
  });

  it('keeps no timeout, use or counters', () => {
    const { cache } = cacheAt();
    const counters = { packets: 1n, bytes: 60n };
    cache.update(wireEntry(tcp(1, { timeout: 300, use: 1, countersOrig: counters, countersReply: counters, mark: 0 })));
    const flow = [...cache.values()][0]!.flow();
    assert.equal(flow.timeout, undefined);
    assert.equal(flow.use, undefined);
    assert.equal(flow.countersOrig, undefined);
    assert.equal(flow.countersReply, undefined);
    assert.equal(flow.mark, 0);
  });

  it('refuses new flows past HashLimit, counting each refusal', () => {
    const { cache } = cacheAt(2);
    for (let sport = 1; sport <= 5; sport++) cache.add(wireEntry(tcp(sport)));
    cache.update(wireEntry(tcp(1, { mark: 1 })));
    assert.equal(cache.size, 2);
    assert.equal(cache.counters.addOk, 2);
    assert.equal(cache.counters.addFail, 3);
    assert.equal(cache.counters.addFailNoSpace, 3);
    assert.equal(cache.counters.updOk, 1);
  });

  it('records when a flow entered the cache', () => {
    const clock = { now: 1000 };
    const { cache } = cacheAt(10, clock);
    cache.add(wireEntry(tcp(1)));
    clock.now = 1005;
    cache.update(wireEntry(tcp(1)));
    cache.add(wireEntry(tcp(2)));
    assert.deepEqual([...cache.values()].map((f) => f.since), [1000, 1005]);
  });

  it('flush counts every flow as destroyed', () => {
    const { cache } = cacheAt();
    cache.add(wireEntry(tcp(1)));
    cache.add(wireEntry(tcp(2)));
    assert.equal(cache.flush(), 2);
    assert.equal(cache.size, 0);
    assert.equal(cache.counters.delOk, 2);
    assert.equal(cache.counters.active, 0);
  });

  it('a resync round sweeps the flows its dump did not see', () => {
    const { cache } = cacheAt();
    for (let sport = 1; sport <= 3; sport++) cache.add(wireEntry(tcp(sport)));
    cache.beginRound();
    cache.update(wireEntry(tcp(1)));
    cache.add(wireEntry(tcp(4)));
    assert.equal(cache.sweep(), 2);
    assert.deepEqual(
      [...cache.values()].map((f) => f.flow().orig.sport),
      [1, 4],
    );
  });

  it('chains flows that share a bucket and unlinks them from anywhere in the chain', () => {
    const cache = new FlowCache(1000, 1, () => 0);
    for (let sport = 1; sport <= 50; sport++) cache.add(wireEntry(tcp(sport)));
    for (const sport of [1, 25, 50, 2]) assert.equal(cache.remove(wireEntry(tcp(sport))), true);
    assert.equal(cache.remove(wireEntry(tcp(25))), false);
    for (let sport = 1; sport <= 60; sport++) cache.update(wireEntry(tcp(sport, { mark: sport })));
    assert.equal(cache.size, 60);
    assert.equal(cache.counters.addOk, 64);
    assert.equal(cache.counters.updOk, 46);
    assert.deepEqual(
      [...cache.values()].map((f) => f.flow().mark).sort((a, b) => a! - b!),
      Array.from({ length: 60 }, (_, i) => i + 1),
    );
  });

  it('drops entries without an original tuple', () => {
    const { cache } = cacheAt();
    cache.update(wireEntry({ family: 2, orig: {}, reply: {}, mark: 1 }));
    assert.equal(cache.size, 0);
  });
});
