import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Expectation } from '../../src/ctnetlink/expect';
import { commitExpectations, committedExpectation } from '../../src/conntrackd/engine/expect-commit';
import { ExternalExpectations, InternalExpectations, type ExternalExpectation } from '../../src/conntrackd/engine/expect-cache';
import { MessageType } from '../../src/conntrackd/sync/header';
import type { ExpectMessage, ExpectOp } from '../../src/conntrackd/sync/message';

/** An ftp helper's expectation of a data connection to port `dport`. */
const ftp = (dport: number, over: Partial<Expectation> = {}): Expectation => ({
  family: 2,
  master: { l3: 2, src: '10.1.1.1', dst: '10.2.2.2', proto: 6, sport: 40000, dport: 21 },
  tuple: { l3: 2, src: '10.2.2.2', dst: '10.1.1.1', proto: 6, sport: 0, dport },
  mask: { l3: 2, src: '255.255.255.255', dst: '255.255.255.255', proto: 6, sport: 0, dport: 65535 },
  timeout: 300,
  flags: 0,
  class: 0,
  helper: 'ftp',
  id: 1234,
  ...over,
});

describe('InternalExpectations', () => {
  it('keeps one object per key: new, updated in place, dead until released, revived by a NEW', () => {
    const cache = new InternalExpectations(10);
    const obj = cache.apply('new', ftp(10000), 100)!;
    assert.equal(obj.state, 'new');
    assert.equal(cache.apply('update', ftp(10000, { timeout: 200 }), 101), obj);
    assert.equal(obj.state, 'alive');
    assert.equal(obj.expectation.timeout, 200);
    assert.equal(cache.apply('destroy', ftp(10000), 102), obj);
    assert.equal(obj.state, 'dead');
    assert.deepEqual([...cache.values()], [], 'a dead one is not shown');
    assert.equal(cache.apply('new', ftp(10000), 103), obj, 'the same object comes back');
    assert.equal(obj.state, 'new');
    assert.equal(obj.since, 103);
    assert.equal(cache.release(obj), false, 'alive again: kept');
    cache.apply('destroy', ftp(10000), 104);
    assert.equal(cache.release(obj), true);
    assert.equal(cache.apply('destroy', ftp(10000), 105), undefined);
    const c = cache.counters;
    assert.deepEqual([c.addOk, c.updOk, c.delOk, c.delFail, c.active], [2, 1, 2, 1, 0]);
  });

  it('refuses new keys past its limit; a flush kills every object', () => {
    const cache = new InternalExpectations(1);
    cache.apply('new', ftp(10000), 0);
    assert.equal(cache.apply('new', ftp(10001), 0), undefined);
    assert.equal(cache.counters.addFailNoSpace, 1);
    const gone = cache.flush();
    assert.deepEqual(gone.map((o) => o.state), ['dead']);
    assert.equal(cache.counters.active, 0);
  });
});

describe('ExternalExpectations', () => {
  it('EXP_NEW adds, EXP_UPD replaces the contents, EXP_DEL deletes if present', () => {
    const cache = new ExternalExpectations(10);
    const msg = (type: ExpectOp, exp: Expectation): ExpectMessage => ({ type, flags: 0, seq: 0, expectation: exp });
    cache.apply(msg(MessageType.EXP_NEW, ftp(10000)), 5000);
    cache.apply(msg(MessageType.EXP_UPD, ftp(10000, { timeout: 100 })), 9000);
    const [entry] = [...cache.values()];
    assert.deepEqual(entry, { expectation: ftp(10000, { timeout: 100 }), since: 5, updatedAt: 9000 });
    cache.apply(msg(MessageType.EXP_DEL, ftp(10001)), 9000);
    cache.apply(msg(MessageType.EXP_DEL, ftp(10000)), 9000);
    assert.equal(cache.size, 0);
    const c = cache.counters;
    assert.deepEqual([c.addOk, c.updOk, c.delOk, c.delFailNotFound], [1, 1, 1, 1]);
  });
});

describe('committedExpectation', () => {
  const now = 1_000_000;
  const entry = (exp: Expectation, updatedAt: number): ExternalExpectation => ({ expectation: exp, since: 0, updatedAt });

  it('CommitTimeout wins; else what is left of the replicated timeout, 60 s when nothing is; the id is dropped', () => {
    assert.equal(committedExpectation(entry(ftp(1), now - 100_000), 30, now).timeout, 30);
    const left = committedExpectation(entry(ftp(1), now - 100_000), undefined, now);
    assert.equal(left.timeout, 200);
    assert.equal(left.id, undefined);
    assert.deepEqual({ ...left, timeout: 300 }, (({ id: _id, ...rest }) => rest)(ftp(1)));
    assert.equal(committedExpectation(entry(ftp(1), now - 400_000), undefined, now).timeout, 60);
    assert.equal(committedExpectation(entry(ftp(1, { timeout: undefined }), now), undefined, now).timeout, 60);
  });

  it('commitExpectations goes on after a failure and counts both', async () => {
    const failed: number[] = [];
    const result = await commitExpectations(
      [entry(ftp(1), now), entry(ftp(2), now), entry(ftp(3), now)],
      undefined,
      async (exp) => {
        if (exp.tuple.dport === 2) throw new Error('No such file or directory');
      },
      (exp) => failed.push(exp.tuple.dport!),
    );
    assert.deepEqual(result, { committed: 2, failed: 1 });
    assert.deepEqual(failed, [2]);
  });
});
