/**
 * Statistics requests (`-s …`): the engine's counters at this instant, in
 * the form the statistics formatters (src/conntrackd/stats/) take.
 */
import { newNetlinkCounters, newRuntimeCounters, newTrafficCounters, type LastCommit, type StatsSnapshot } from '../stats/counters';
import { statsReply } from '../stats/reply';
import type { FlowCache } from './cache';
import type { KernelSide } from './kernel';
import type { SyncSide } from './sync-side';
import type { DestroyedFlows } from './traffic';
import type { ModeName } from './engine';

/** What the statistics are made of. */
export interface EngineStats {
  readonly mode: ModeName;
  readonly startedAt: number;
  readonly cache: FlowCache;
  readonly kernel: KernelSide | undefined;
  readonly destroyed: DestroyedFlows | undefined;
  readonly sync: SyncSide | undefined;
  readonly lastCommit: LastCommit | undefined;
}

export function statsSnapshot(stats: EngineStats, nowSeconds: number): StatsSnapshot {
  const common = {
    uptimeSeconds: nowSeconds - stats.startedAt,
    // No mode has no kernel sockets: the counters stay zero.
    netlink: stats.kernel?.counters ?? newNetlinkCounters(),
    // The engine forks nothing and owns no main loop: nothing to count there.
    runtime: newRuntimeCounters(),
    processes: [],
  };
  if (stats.mode === 'stats' && stats.destroyed) {
    return { mode: 'stats', ...common, cache: stats.cache.counters, traffic: stats.destroyed.traffic };
  }
  if (stats.mode === 'sync' && stats.sync) {
    return {
      mode: 'sync',
      ...common,
      ...stats.sync.stats(),
      internal: { cache: stats.cache.counters },
      external: stats.sync.externalCounters(),
      ...(stats.sync.expectations ? { expectations: stats.sync.expectations.counters() } : {}),
      ...(stats.lastCommit ? { lastCommit: stats.lastCommit } : {}),
      // Sync mode does not account destroyed flows (1.4.7 counts only in Stats mode).
      traffic: newTrafficCounters(),
    };
  }
  return { mode: 'none', ...common };
}

/** The reply to a statistics request; undefined when `request` is none. */
export function statsText(request: number, stats: EngineStats, nowSeconds: number): string | undefined {
  return statsReply(request, statsSnapshot(stats, nowSeconds));
}
