/**
 * `-s`, `-s cache` and `-s runtime`. The texts themselves are the stats
 * formatters' (src/conntrackd/stats/); until they are in, a placeholder.
 */
import { Request } from '../control/codes';
import type { CacheCounters } from './cache';
import type { NetlinkCounters } from './kernel';
import type { ModeName } from './engine';
import type { TrafficCounters } from './traffic';

/** What the statistics are made of. */
export interface EngineStats {
  readonly mode: ModeName;
  readonly startedAt: number;
  readonly cache: { readonly counters: CacheCounters; readonly size: number; readonly limit: number };
  readonly kernel: { readonly counters: NetlinkCounters } | undefined;
  readonly destroyed: { readonly traffic: TrafficCounters } | undefined;
}

export function statsText(request: Request, stats: EngineStats): string {
  if (stats.mode === 'none' && request !== Request.STATS_RUNTIME) return '';
  return `statistics are not available yet (request ${request})\n`;
}
