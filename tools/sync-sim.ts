/**
 * Runs the seeded two-node simulation of the sync replication modes
 * (test/unit/sync-sim.ts) over many seeds, or replays one.
 *
 *   node dist/tools/sync-sim.js [--mode ftfw|notrack|alarm] [--seeds A-B | --seed N]
 *       [--loss P] [--duplicate P] [--reorder P] [--busy MS] [--quiet MS] [--keys N] [--verbose]
 *
 * Exit status 1 when some seed did not converge; each is printed.
 */
import { parseArgs } from 'node:util';
import type { SyncMode } from '../src/conntrackd/config/config';
import { simulate } from '../test/unit/sync-sim';

const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'ftfw' },
    seeds: { type: 'string', default: '1-10000' },
    seed: { type: 'string' },
    loss: { type: 'string', default: '0.3' },
    duplicate: { type: 'string', default: '0.1' },
    reorder: { type: 'string', default: '0.2' },
    busy: { type: 'string', default: '10000' },
    quiet: { type: 'string', default: '25000' },
    keys: { type: 'string', default: '20' },
    verbose: { type: 'boolean', default: false },
  },
});
const [first, last] = values.seed !== undefined ? [Number(values.seed), Number(values.seed)] : values.seeds!.split('-').map(Number);
let failed = 0;
const started = Date.now();
for (let seed = first!; seed <= last!; seed++) {
  const r = simulate({
    seed,
    mode: values.mode as SyncMode,
    loss: Number(values.loss),
    duplicate: Number(values.duplicate),
    reorder: Number(values.reorder),
    busyMs: Number(values.busy),
    quietMs: Number(values.quiet),
    keys: Number(values.keys),
  });
  const diverged = r.divergent[0].length + r.divergent[1].length > 0;
  if (diverged) failed++;
  if (diverged || values.verbose) console.log(JSON.stringify(r));
}
console.log(`${last! - first! + 1} runs, ${failed} diverged, ${Date.now() - started} ms`);
process.exitCode = failed > 0 ? 1 : 0;
