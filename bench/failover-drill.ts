/**
 * The fail-over drill (test/kernel/conntrackd-sync-bed.ts `drill`) for one
 * pair of daemons; prints its result as one JSON line.
 *   node dist/bench/failover-drill.js N ours|c
 */
import { drill, type Impl } from '../test/kernel/conntrackd-sync-bed';

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 10_000);
  const impl = (process.argv[3] ?? 'ours') as Impl;
  const cleanup: (() => unknown)[] = [];
  try {
    const result = await drill({ after: (fn) => void cleanup.push(fn) }, [impl, impl], n);
    process.stdout.write(JSON.stringify(result) + '\n');
  } finally {
    for (const fn of cleanup.reverse()) await fn();
  }
}

main().catch((err: Error) => {
  console.error(`failover-drill: ${err.message}`);
  process.exit(1);
});
