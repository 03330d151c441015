/**
 * One watched network namespace: its table, opened on first use and again
 * after a failure (a namespace that appears later is picked up), and a
 * TableSummary that keeps its counts by protocol, TCP state, zone and
 * source current without dumping at scrape time.
 */
import { Conntrack, type CpuStats } from '../api/conntrack';
import { FLOW_KEYS } from '../api/flow-keys';
import { TableSummary } from '../api/table-summary';
import type { GroupCount, PassResult } from '../api/table-tally';

const SUMMARY_KEYS = { proto: FLOW_KEYS.proto, state: FLOW_KEYS.state, zone: FLOW_KEYS.zone, src: FLOW_KEYS.src };
export type SummaryKey = keyof typeof SUMMARY_KEYS;

/** What one scrape read from a namespace. */
export interface NamespaceSnapshot {
  netns: string;
  entries: number;
  expectations: number;
  cpus: CpuStats[];
  /** Undefined until the first dump has been counted. */
  summary: SummarySnapshot | undefined;
  listener: ListenerSnapshot;
}

export interface SummarySnapshot {
  byProtocol: GroupCount[];
  byState: GroupCount[];
  byZone: GroupCount[];
  topSources: GroupCount[];
}

export interface ListenerSnapshot {
  eventsReceived: number;
  eventsLost: number;
  overruns: number;
  reconciliations: number;
  failures: number;
  corrections: PassResult;
  lastDurationSeconds: number | undefined;
  lastTimestampSeconds: number | undefined;
  /** A reconciling dump is running: the counts served are the event-kept ones, not waited for. */
  reconciling: boolean;
}

export class NamespaceWatch {
  private ct: Conntrack | undefined;
  private summary: TableSummary<SummaryKey> | undefined;
  private synced = false;
  /** Totals over every summary this watch has had (one per reopening). */
  private readonly corrections: PassResult = { added: 0, removed: 0, changed: 0 };
  private readonly closedListeners = { eventsReceived: 0, eventsLost: 0, overruns: 0, reconciliations: 0, failures: 0 };

  /** `netns` undefined: the exporter's own namespace (labelled ''). */
  constructor(
    private readonly netns: string | undefined,
    private readonly settings: { reconcileIntervalMs: number; topSources: number; eventBufferSize: number | undefined },
  ) {}

  get label(): string {
    return this.netns ?? '';
  }

  /** Opens the table and starts counting, if not done yet. Throws when the namespace cannot be entered. */
  start(): void {
    if (this.ct) return;
    const ct = Conntrack.open(this.netns === undefined ? {} : { netns: this.netns });
    const summary = TableSummary.watch({
      netns: this.netns, keys: SUMMARY_KEYS, reconcileInterval: this.settings.reconcileIntervalMs, bufferSize: this.settings.eventBufferSize,
    });
    summary.on('reconciled', (r) => {
      this.synced = true;
      this.corrections.added += r.added;
      this.corrections.removed += r.removed;
      this.corrections.changed += r.changed;
    });
    // Failures are counted by the summary and exported; it retries on its own.
    summary.on('error', () => undefined);
    this.ct = ct;
    this.summary = summary;
  }

  /** Reads what a scrape exports; a failure closes the table, to be opened again by the next scrape. */
  async snapshot(): Promise<NamespaceSnapshot> {
    this.start();
    const ct = this.ct!;
    try {
      // One after the other: a netlink socket runs one dump at a time (EBUSY).
      const entries = await ct.count();
      const cpus = await ct.stats();
      const expectations = await countExpectations(ct);
      return { netns: this.label, entries, expectations, cpus, summary: this.summarySnapshot(), listener: this.listener() };
    } catch (err) {
      this.close();
      throw err;
    }
  }

  close(): void {
    const s = this.summary;
    if (s) {
      this.closedListeners.eventsReceived += s.eventsReceived;
      this.closedListeners.eventsLost += s.eventsLost;
      this.closedListeners.overruns += s.overruns;
      this.closedListeners.reconciliations += s.reconciliations;
      this.closedListeners.failures += s.failures;
      s.close();
    }
    this.ct?.close();
    this.ct = undefined;
    this.summary = undefined;
    this.synced = false;
  }

  private summarySnapshot(): SummarySnapshot | undefined {
    const s = this.summary;
    if (!s || !this.synced) return undefined;
    return {
      byProtocol: s.counts('proto'),
      byState: s.counts('state'),
      byZone: s.counts('zone'),
      topSources: this.settings.topSources > 0 ? s.top('src', this.settings.topSources) : [],
    };
  }

  private listener(): ListenerSnapshot {
    const s = this.summary;
    const before = this.closedListeners;
    const last = s?.lastReconciliation;
    return {
      eventsReceived: before.eventsReceived + (s?.eventsReceived ?? 0),
      eventsLost: before.eventsLost + (s?.eventsLost ?? 0),
      overruns: before.overruns + (s?.overruns ?? 0),
      reconciliations: before.reconciliations + (s?.reconciliations ?? 0),
      failures: before.failures + (s?.failures ?? 0),
      corrections: { ...this.corrections },
      lastDurationSeconds: last && last.durationMs / 1000,
      lastTimestampSeconds: last && last.at.getTime() / 1000,
      reconciling: s?.reconciling ?? false,
    };
  }
}

/** Expectations are few (one per FTP/SIP control connection being set up): counting a dump is cheap. */
async function countExpectations(ct: Conntrack): Promise<number> {
  let n = 0;
  for await (const _ of ct.dumpExpectations()) n++;
  return n;
}
