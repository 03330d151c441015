/**
 * What one scrape exports, as metric families: the naming follows
 * Prometheus' conventions (a `conntrack_` / `conntrackd_` namespace, base
 * units, `_total` counters, one family per meaning with labels for the
 * parts). Pure: snapshots in, families out.
 */
import type { MetricFamily, MetricType, Sample } from './exposition';
import type { ConntrackdStats } from './conntrackd-stats';
import type { NamespaceSnapshot } from './namespace-watch';
import { flowKeyText } from '../format/flow-key-text';

/** The per-CPU counters exported, by `conntrack -S` name: the ones that say something about health. */
export const CPU_STATS = [
  'found', 'invalid', 'insert', 'insert_failed', 'drop', 'early_drop', 'error', 'search_restart', 'clash_resolve', 'chaintoolong',
] as const;

/** A namespace that could not be read, or a daemon that could not be asked: only its `up` says so. */
export interface Failed {
  error: string;
}

export interface ScrapeInput {
  /** Host-wide: nf_conntrack_max and nf_conntrack_buckets (undefined when unreadable). */
  limit: number | undefined;
  buckets: number | undefined;
  namespaces: ReadonlyArray<{ netns: string; result: NamespaceSnapshot | Failed }>;
  daemons: ReadonlyArray<{ socket: string; result: ConntrackdStats | Failed }>;
  statPerCpu: boolean;
  /** Scrape failures so far, by collector (`netns:NAME`, `conntrackd:PATH`). */
  scrapeErrors: ReadonlyMap<string, number>;
}

const failed = (r: object): r is Failed => 'error' in r;

function family(name: string, type: MetricType, help: string, samples: Sample[], unit?: string): MetricFamily {
  return unit ? { name, type, help, samples, unit } : { name, type, help, samples };
}

function namespaceFamilies(input: ScrapeInput): MetricFamily[] {
  const ok = input.namespaces.flatMap(({ result }) => (failed(result) ? [] : [result]));
  const summed = ok.filter((n) => n.summary !== undefined);
  const per = (value: (n: NamespaceSnapshot) => number): Sample[] => ok.map((n) => ({ labels: { netns: n.netns }, value: value(n) }));
  const groups = (key: 'byProtocol' | 'byState' | 'byZone' | 'topSources', label: string, text: (raw: number | string) => string): Sample[] =>
    summed.flatMap((n) => n.summary![key].map((g) => ({ labels: { netns: n.netns, [label]: text(g.key) }, value: g.entries })));
  const cpu = (name: string): Sample[] =>
    ok.flatMap((n) => {
      if (input.statPerCpu) return n.cpus.map((c) => ({ labels: { netns: n.netns, cpu: String(c.cpu) }, value: c.named[name] ?? 0 }));
      return [{ labels: { netns: n.netns }, value: n.cpus.reduce((sum, c) => sum + (c.named[name] ?? 0), 0) }];
    });
  const listener = (name: 'eventsReceived' | 'eventsLost' | 'overruns' | 'reconciliations' | 'failures'): Sample[] => per((n) => n.listener[name]);
  return [
    family('conntrack_up', 'gauge', 'Whether the namespace\'s conntrack table could be read (1) or not (0).',
      input.namespaces.map(({ netns, result }) => ({ labels: { netns }, value: failed(result) ? 0 : 1 }))),
    family('conntrack_entries', 'gauge', 'Entries in the conntrack table.', per((n) => n.entries)),
    family('conntrack_expectations', 'gauge', 'Expectations in the table.', per((n) => n.expectations)),
    ...CPU_STATS.map((name) => family(`conntrack_stat_${name}`, 'counter', `The kernel's per-CPU conntrack statistic ${name} (conntrack -S).`, cpu(name))),
    family('conntrack_entries_by_protocol', 'gauge', 'Entries by layer-4 protocol, kept current from events.', groups('byProtocol', 'protocol', (k) => flowKeyText('proto', k))),
    family('conntrack_entries_by_state', 'gauge', 'Entries by TCP state (REPLIED/UNREPLIED for protocols without one), kept current from events.',
      groups('byState', 'state', (k) => flowKeyText('state', k))),
    family('conntrack_entries_by_zone', 'gauge', 'Entries by conntrack zone, kept current from events.', groups('byZone', 'zone', (k) => flowKeyText('zone', k))),
    family('conntrack_top_source_entries', 'gauge', 'Entries of the sources with the most entries (--collector.top-sources).',
      groups('topSources', 'src', (k) => flowKeyText('src', k))),
    family('conntrack_exporter_counts_synced', 'gauge', 'Whether the by-protocol/state/zone counts have been made from a first dump (1).',
      per((n) => (n.summary ? 1 : 0))),
    family('conntrack_exporter_events_received', 'counter', 'Conntrack events the exporter received.', listener('eventsReceived')),
    family('conntrack_exporter_events_lost', 'counter', 'Conntrack events the kernel dropped for the exporter (its socket\'s drop count).', listener('eventsLost')),
    family('conntrack_exporter_event_overruns', 'counter', 'Event buffer overruns (ENOBUFS), each followed by a reconciling dump.', listener('overruns')),
    family('conntrack_exporter_reconciling', 'gauge', 'Whether a reconciling dump is running (1); scrapes meanwhile serve the event-kept counts, never waiting for it.',
      per((n) => (n.listener.reconciling ? 1 : 0))),
    family('conntrack_exporter_reconciliations', 'counter', 'Reconciling dumps of the table completed.', listener('reconciliations')),
    family('conntrack_exporter_reconcile_failures', 'counter', 'Reconciling dumps and event listeners that failed.', listener('failures')),
    family('conntrack_exporter_reconcile_corrections', 'counter', 'Entries a reconciling dump corrected (what lost events left wrong), by kind.',
      ok.flatMap((n) => (['added', 'removed', 'changed'] as const).map((kind) => ({ labels: { netns: n.netns, kind }, value: n.listener.corrections[kind] })))),
    family('conntrack_exporter_last_reconcile_duration_seconds', 'gauge', 'How long the last reconciling dump took.',
      ok.flatMap((n) => (n.listener.lastDurationSeconds === undefined ? [] : [{ labels: { netns: n.netns }, value: n.listener.lastDurationSeconds }])), 'seconds'),
    family('conntrack_exporter_last_reconcile_timestamp_seconds', 'gauge', 'When the last reconciling dump ended (Unix time).',
      ok.flatMap((n) => (n.listener.lastTimestampSeconds === undefined ? [] : [{ labels: { netns: n.netns }, value: n.listener.lastTimestampSeconds }])), 'seconds'),
  ];
}

function daemonFamilies(input: ScrapeInput): MetricFamily[] {
  const ok = input.daemons.flatMap(({ socket, result }) => (failed(result) ? [] : [{ socket, stats: result }]));
  const caches = (value: (c: ConntrackdStats['caches'][number]) => number | undefined): Sample[] =>
    ok.flatMap(({ socket, stats }) =>
      stats.caches.flatMap((c) => {
        const v = value(c);
        return v === undefined ? [] : [{ labels: { socket, cache: c.cache }, value: v }];
      }));
  const links = (value: (l: ConntrackdStats['links'][number]) => number): Sample[] =>
    ok.flatMap(({ socket, stats }) => stats.links.map((l) => ({ labels: { socket, device: l.device, kind: l.kind }, value: value(l) })));
  const scalar = (value: (s: ConntrackdStats) => number | undefined): Sample[] =>
    ok.flatMap(({ socket, stats }) => {
      const v = value(stats);
      return v === undefined ? [] : [{ labels: { socket }, value: v }];
    });
  return [
    family('conntrackd_up', 'gauge', 'Whether conntrackd answered on its control socket (1) or not (0).',
      input.daemons.map(({ socket, result }) => ({ labels: { socket }, value: failed(result) ? 0 : 1 }))),
    family('conntrackd_cache_entries', 'gauge', 'Entries in a conntrackd cache (internal, external, stats).', caches((c) => c.active)),
    family('conntrackd_cache_created', 'counter', 'Entries added to a cache (external-inject: injected into the kernel).', caches((c) => c.created)),
    family('conntrackd_cache_create_failures', 'counter', 'Failed additions to a cache.', caches((c) => c.createFailed)),
    family('conntrackd_cache_updated', 'counter', 'Cache entries updated.', caches((c) => c.updated)),
    family('conntrackd_cache_update_failures', 'counter', 'Failed cache updates.', caches((c) => c.updateFailed)),
    family('conntrackd_cache_destroyed', 'counter', 'Cache entries destroyed.', caches((c) => c.destroyed)),
    family('conntrackd_cache_destroy_failures', 'counter', 'Failed cache deletions.', caches((c) => c.destroyFailed)),
    family('conntrackd_messages_lost', 'counter', 'Sync messages lost (sequence numbers skipped), Sync mode.', scalar((s) => s.messagesLost)),
    family('conntrackd_messages_resent', 'counter', 'Sync messages sent again at the peer\'s request, FTFW (our daemon only).', scalar((s) => s.messagesResent)),
    family('conntrackd_messages_malformed', 'counter', 'Malformed sync messages received, Sync mode.', scalar((s) => s.messagesMalformed)),
    family('conntrackd_link_up', 'gauge', 'Whether a dedicated link is up (1) or down (0).', links((l) => l.status)),
    family('conntrackd_link_active', 'gauge', 'Whether messages go out on this link now (1, role ACTIVE) or it stands by (0, BACKUP).', links((l) => (l.active ? 1 : 0))),
    family('conntrackd_link_sent_messages', 'counter', 'Sync messages (packets) sent on a link.', links((l) => l.sent.messages)),
    family('conntrackd_link_received_messages', 'counter', 'Sync messages (packets) received on a link.', links((l) => l.received.messages)),
    family('conntrackd_link_sent_bytes', 'counter', 'Bytes sent on a link.', links((l) => l.sent.bytes), 'bytes'),
    family('conntrackd_link_received_bytes', 'counter', 'Bytes received on a link.', links((l) => l.received.bytes), 'bytes'),
    family('conntrackd_link_send_errors', 'counter', 'Send errors on a link.', links((l) => l.sent.errors)),
    family('conntrackd_link_receive_errors', 'counter', 'Receive errors on a link.', links((l) => l.received.errors)),
    family('conntrackd_kernel_events_received', 'counter', 'Conntrack events the daemon received.', scalar((s) => s.eventsReceived)),
    family('conntrackd_netlink_overruns', 'counter', 'Event buffer overruns the daemon had.', scalar((s) => s.netlinkOverruns)),
    family('conntrackd_kernel_resyncs', 'counter', 'Resynchronisations of the daemon with the kernel table.', scalar((s) => s.resyncs)),
    family('conntrackd_last_commit_timestamp_seconds', 'gauge', 'When the last commit (-c) ended, Unix time (our daemon only).',
      scalar((s) => s.lastCommit?.endedAt), 'seconds'),
    family('conntrackd_last_commit_duration_seconds', 'gauge', 'How long the last commit (-c) took (our daemon only).', scalar((s) => s.lastCommit?.durationSeconds), 'seconds'),
    family('conntrackd_last_commit_entries', 'gauge', 'Entries the last commit (-c) put into the kernel table (result="committed") or failed to (our daemon only).',
      ok.flatMap(({ socket, stats }) => {
        const c = stats.lastCommit;
        return c ? [{ labels: { socket, result: 'committed' }, value: c.committed }, { labels: { socket, result: 'failed' }, value: c.failed }] : [];
      })),
  ];
}

/** Every family of one scrape. */
export function scrapeFamilies(input: ScrapeInput): MetricFamily[] {
  const one = (value: number | undefined): Sample[] => (value === undefined ? [] : [{ labels: {}, value }]);
  return [
    family('conntrack_entries_limit', 'gauge', 'Maximum entries of a table (nf_conntrack_max).', one(input.limit)),
    family('conntrack_buckets', 'gauge', 'Buckets of the conntrack hash table (nf_conntrack_buckets).', one(input.buckets)),
    ...namespaceFamilies(input),
    ...(input.daemons.length ? daemonFamilies(input) : []),
    family('conntrack_exporter_scrape_errors', 'counter', 'Scrapes in which a collector failed, by collector.',
      [...input.scrapeErrors].map(([collector, value]) => ({ labels: { collector }, value }))),
  ];
}
