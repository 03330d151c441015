/**
 * The JSON form of every `-s` statistic (our extension; schema:
 * schema/conntrackd-stats.v1.json). One document per request, one line,
 * newline-terminated. Its members mirror the counter types of counters.ts,
 * with true values (no 32-bit wrap as in the text).
 *
 * Unlike the text, the answer is never empty: a kind the running mode does
 * not have gives the header members alone, so an empty reply always means
 * the daemon does not know the JSON requests (see requests.ts).
 */
import type { ExternalCounters, InternalCounters, LinkCounters, StatsSnapshot, SyncSnapshot } from './counters';
import type { StatsKind } from './requests';

/** Bumped (with a new schema file, conntrackd-stats.v2.json) when a member changes meaning or disappears; new members do not bump it. */
export const STATS_JSON_VERSION = 1;

/** The document for `kind`, as a plain object (formatStatsJson serialises it). */
export function statsJson(kind: StatsKind, snapshot: StatsSnapshot): Record<string, unknown> {
  const header: Record<string, unknown> = { version: STATS_JSON_VERSION, kind, mode: snapshot.mode };
  if (snapshot.mode === 'sync') header.syncMode = snapshot.syncMode;
  return { ...header, ...body(kind, snapshot) };
}

/** statsJson() as the daemon sends it; 64-bit counters given as bigints become JSON numbers. */
export function formatStatsJson(kind: StatsKind, snapshot: StatsSnapshot): string {
  return JSON.stringify(statsJson(kind, snapshot), (_key, value: unknown) => typeof value === 'bigint' ? Number(value) : value) + '\n';
}

/** The members of `kind` in this mode; none when 1.4.7 would print nothing (see text.ts). */
function body(kind: StatsKind, s: StatsSnapshot): Record<string, unknown> {
  switch (kind) {
    case 'runtime':
      return { uptimeSeconds: s.uptimeSeconds, netlink: s.netlink, runtime: s.runtime, ...(s.mode === 'sync' && s.lastCommit ? { lastCommit: s.lastCommit } : {}) };
    case 'process':
      return { processes: s.processes };
    case 'ct':
      if (s.mode === 'stats') return { cache: s.cache, traffic: s.traffic };
      return s.mode === 'sync' ? syncSummary(s, s.internal, s.external) : {};
    case 'cache':
      if (s.mode === 'stats') return { cache: s.cache };
      return s.mode === 'sync' ? { internal: s.internal, external: s.external } : {};
    case 'expect':
      return s.mode === 'sync' && s.expectations ? syncSummary(s, s.expectations.internal, s.expectations.external) : {};
    case 'network':
      return s.mode === 'sync' ? { network: s.network, ...activeLink(s) } : {};
    case 'link':
      return s.mode === 'sync' ? { links: s.links } : {};
    case 'rsqueue':
      return s.mode === 'sync' && s.resendQueue ? { resendQueue: s.resendQueue } : {};
    case 'queue':
      return s.mode === 'sync' ? { queueNodes: s.queueNodes, queues: s.queues } : {};
  }
}

function syncSummary(s: SyncSnapshot, internal: InternalCounters, external: ExternalCounters): Record<string, unknown> {
  return {
    internal,
    external,
    traffic: s.traffic,
    ...activeLink(s),
    messageTracking: { malformed: s.network.receiveMalformed, lost: s.network.sequenceLost },
  };
}

function activeLink(s: SyncSnapshot): { link?: LinkCounters } {
  const link = s.links.find((l) => l.active);
  return link ? { link } : {};
}
