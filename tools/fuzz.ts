/**
 * The long fuzz run: the properties of test/unit/fuzz-properties.ts (the unit
 * tier runs them briefly) with as many inputs as asked for.
 *
 *   node dist/tools/fuzz.js [COUNT] [SEED]        default 10,000,000 inputs, a random seed
 *   node dist/tools/fuzz.js --replay NAME SEED PATH   one failure again, shrunk
 *
 * Prints inputs/s and peak memory as it goes, and every failure with the
 * seed and path that replay it. Exits 1 if any property failed.
 */
import { checkChannel, PROPERTIES, type FuzzResult, type PropertyName } from '../test/unit/fuzz-properties';

/** Share of the inputs per property: most go to damaged kernel datagrams. */
const WEIGHTS: Record<PropertyName, number> = {
  'damaged kernel datagrams': 60,
  'random attribute bytes behind a valid header': 14,
  'random bytes': 4,
  'Flow round trip': 6,
  'Tuple round trip': 4,
  'Expectation round trip': 4,
  'stats round trip': 3,
  'event round trip': 4,
};
/** The request engine under damaged dumps is async and slow: this share of the count, at least a few thousand. */
const CHANNEL_SHARE = 0.002;
const CHUNK = 50_000;

function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(0)} MiB`;
}

async function run(count: number, seed: number): Promise<number> {
  const total = Object.values(WEIGHTS).reduce((a, b) => a + b, 0);
  let failures = 0;
  const started = Date.now();
  let done = 0;
  let peakRss = 0;
  let lastReport = started;
  const report = (force = false): void => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    const now = Date.now();
    if (!force && now - lastReport < 10_000) return;
    lastReport = now;
    const seconds = (now - started) / 1000;
    console.log(`${done.toLocaleString('en')} inputs in ${seconds.toFixed(0)} s, ${Math.round(done / seconds).toLocaleString('en')}/s, peak rss ${mib(peakRss)}, ${failures} failures`);
  };
  const check = (name: string, seed: number, r: FuzzResult): boolean => {
    done += r.numRuns;
    if (!r.failed) return true;
    failures++;
    console.log(`FAILURE in "${name}": replay with node dist/tools/fuzz.js --replay '${name}' ${seed} '${r.path}'`);
    console.log(`  input: ${r.counterexample?.slice(0, 2000)}`);
    console.log(`  ${r.error?.slice(0, 3000).replace(/\n/g, '\n  ')}`);
    return false;
  };

  for (const [name, weight] of Object.entries(WEIGHTS) as Array<[PropertyName, number]>) {
    const share = Math.round((count * weight) / total);
    for (let chunk = 0, runs = 0; runs < share; chunk++) {
      const numRuns = Math.min(CHUNK, share - runs);
      const chunkSeed = (seed + chunk * 7919) | 0;
      runs += numRuns;
      if (!check(name, chunkSeed, PROPERTIES[name]({ seed: chunkSeed, numRuns }))) break;
      report();
    }
  }
  const channelRuns = Math.max(2000, Math.round(count * CHANNEL_SHARE));
  for (let chunk = 0, runs = 0; runs < channelRuns; chunk++) {
    const numRuns = Math.min(1000, channelRuns - runs);
    const chunkSeed = (seed + chunk * 7919) | 0;
    runs += numRuns;
    if (!check('request engine under damaged dumps', chunkSeed, await checkChannel({ seed: chunkSeed, numRuns }))) break;
    report();
  }
  report(true);
  console.log(`done: ${done.toLocaleString('en')} inputs, seed ${seed}, ${failures} failures`);
  return failures > 0 ? 1 : 0;
}

async function replay(name: string, seed: number, path: string): Promise<number> {
  const run = { seed, path, numRuns: Number.MAX_SAFE_INTEGER };
  const r = name in PROPERTIES ? PROPERTIES[name as PropertyName](run) : await checkChannel(run);
  if (!r.failed) {
    console.log('passes now');
    return 0;
  }
  console.log(`input: ${r.counterexample}`);
  console.log(r.error);
  return 1;
}

function main(args: string[]): Promise<number> {
  if (args[0] === '--replay') return replay(args[1] ?? '', Number(args[2]), args[3] ?? '');
  const count = args[0] === undefined ? 10_000_000 : Number(args[0].replace(/_/g, ''));
  const seed = args[1] === undefined ? (Math.random() * 2 ** 31) | 0 : Number(args[1]);
  if (!Number.isSafeInteger(count) || count <= 0 || !Number.isSafeInteger(seed)) {
    console.error('usage: node dist/tools/fuzz.js [COUNT] [SEED] | --replay NAME SEED PATH');
    return Promise.resolve(2);
  }
  console.log(`fuzzing with ${count.toLocaleString('en')} inputs, seed ${seed}`);
  // Decoders throw ProtocolError for most inputs; capturing its stack would be most of the cost. --replay shows stacks.
  Error.stackTraceLimit = 0;
  return run(count, seed);
}

main(process.argv.slice(2)).then((status) => process.exit(status));
