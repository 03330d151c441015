import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { simulate, type SimOptions, type SimResult } from './sync-sim';

/*
 * Seeded simulations of two nodes (see sync-sim.ts). A failure names its
 * seed; replay it with
 *   node dist/tools/sync-sim.js --mode ftfw --seed N --verbose
 * Longer searches: tools/sync-sim.ts --seeds 1-100000.
 */

const LOSSY = { loss: 0.3, duplicate: 0.1, reorder: 0.2 };
const CLEAN = { loss: 0, duplicate: 0, reorder: 0 };

/** The seeds of `runs` runs from `first` whose caches did not converge. */
function failingSeeds(opts: Omit<SimOptions, 'seed'>, first: number, runs: number): number[] {
  const bad: number[] = [];
  for (let seed = first; seed < first + runs; seed++) {
    const r = simulate({ ...opts, seed });
    if (r.divergent[0].length + r.divergent[1].length > 0) bad.push(seed);
  }
  return bad;
}

describe('sync replication: seeded simulation', () => {
  it('FTFW: after loss, duplication and reordering stop, each external cache equals the peer internal cache (1000 seeds)', () => {
    const bad = failingSeeds({ mode: 'ftfw', ...LOSSY, busyMs: 5000, quietMs: 4000, keys: 20 }, 1, 1000);
    assert.deepEqual(bad, [], `diverging seeds: ${bad.slice(0, 10).join(' ')}`);
  });

  it('FTFW with a full resend queue loses data, and the check sees it', () => {
    const bad = failingSeeds({ mode: 'ftfw', ...LOSSY, busyMs: 5000, quietMs: 4000, keys: 20, config: { resendQueueSize: 2 } }, 1, 20);
    assert.ok(bad.length >= 15, `only ${bad.length} of 20 runs diverged`);
  });

  it('NOTRACK converges on a clean link and not on a lossy one', () => {
    assert.deepEqual(failingSeeds({ mode: 'notrack', ...CLEAN, busyMs: 5000, quietMs: 2000, keys: 20 }, 1, 100), []);
    assert.equal(failingSeeds({ mode: 'notrack', ...LOSSY, busyMs: 5000, quietMs: 2000, keys: 20 }, 1, 20).length, 20);
  });

  it('ALARM converges passively once CacheTimeout and RefreshTime have passed, not before', () => {
    const alarm = { mode: 'alarm', ...LOSSY, busyMs: 5000, keys: 20, config: { refreshTime: 5, cacheTimeout: 15 } } as const;
    assert.deepEqual(failingSeeds({ ...alarm, quietMs: 22000 }, 1, 200), []);
    assert.ok(failingSeeds({ ...alarm, quietMs: 3000 }, 1, 20).length >= 15);
  });

  it('a seed replays exactly', () => {
    const run = (): SimResult => simulate({ seed: 4242, mode: 'ftfw', ...LOSSY, busyMs: 5000, quietMs: 4000, keys: 20 });
    const a = run();
    assert.deepEqual(run(), a);
    assert.ok(a.dropped > 0 && a.changes > 0);
  });
});
