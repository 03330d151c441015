/**
 * Start-up time and memory of conntrackd's engine on a filled table: starts
 * the engine in Stats mode in NETNS (one dump into the cache), then prints
 * the start-up time, the cached flows and the process's RSS.
 *
 *   node dist/bench/conntrackd-engine.js NETNS
 *
 * bench/conntrackd-engine.sh fills a namespace and compares with the C daemon.
 */
import { ConntrackdEngine } from '../src/conntrackd/engine/engine';
import type { Config } from '../src/conntrackd/config/config';

async function main(): Promise<void> {
  const [netns] = process.argv.slice(2);
  const config: Config = {
    general: { hashSize: 65536, hashLimit: 262144, lockFile: '/nonexistent', netlinkOverrunResync: 30, netlinkEventsReliable: false, eventIterationLimit: 100, systemd: false },
    stats: {},
  };
  const engine = new ConntrackdEngine({ config, log: { write: () => {} }, netns });
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await engine.start();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  global.gc?.();
  const rss = process.memoryUsage().rss;
  const cpuMs = (cpu.user + cpu.system) / 1000;
  console.log(`start-up ${ms.toFixed(0)} ms (CPU ${cpuMs.toFixed(0)} ms), ${engine.cache.size} flows cached, RSS ${(rss / 2 ** 20).toFixed(1)} MiB`);
  await engine.stop();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
