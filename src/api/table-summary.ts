import { EventEmitter } from 'node:events';
import { WireEntry } from '../ctnetlink/wire-entry';
import { DumpInterruptedError } from '../netlink/errors';
import { Conntrack } from './conntrack';
import type { EventStream } from './event-stream';
import { defaultEventBufferSize, type RawConntrackEvent } from './events';
import type { FlowKey } from './flow-keys';
import { TableTally, type GroupCount, type PassResult } from './table-tally';

export interface TableSummaryOptions<K extends string> {
  /** Network namespace to watch: a name under /run/netns or a path; default ours. */
  netns?: string;
  /** What to count entries by: FLOW_KEYS' readers or the caller's own. */
  keys: Readonly<Record<K, FlowKey>>;
  /**
   * Milliseconds between reconciling dumps; default 60 000; 0 for none but
   * the first and those after event loss. A dump costs about a second of CPU
   * per million entries.
   */
  reconcileInterval?: number;
  /** Receive buffer of the event listener; default defaultEventBufferSize(). */
  bufferSize?: number;
}

/** What one reconciling dump found and corrected. */
export interface Reconciliation extends PassResult {
  /** When it ended. */
  at: Date;
  /** How long the dump took, in milliseconds. */
  durationMs: number;
  /** Entries counted afterwards. */
  entries: number;
}

export interface TableSummaryEvents {
  /** A reconciling dump ended; its corrections say how far events had drifted. */
  reconciled: [result: Reconciliation];
  /** A dump or the event listener failed; the summary retries (the next period, or at once for the listener). */
  error: [err: Error];
}

/**
 * A live count of a namespace's conntrack table by keys (protocol, TCP
 * state, zone, source … or the caller's own), kept current from events and
 * made exact again by a dump of the table every `reconcileInterval` and
 * after every event loss. Reading the counts costs nothing per entry, so a
 * caller asking often (a metrics scrape) never dumps a big table.
 *
 * ```ts
 * const summary = TableSummary.watch({ keys: { proto: FLOW_KEYS.proto, state: FLOW_KEYS.state } });
 * await summary.ready;
 * summary.counts('state'); // [{ key: 3, entries: 120 }, …] (3 = TcpState.ESTABLISHED)
 * ```
 *
 * Counts between a loss and the dump that follows it are off by what was
 * lost (`eventsLost` says how much). Failures go to 'error' when someone
 * listens and are counted in `failures` always; the summary keeps going.
 * It has sockets of its own (a netlink socket runs one dump at a time, so
 * its dumps must not wait for, or fail, the caller's); `close()` closes them.
 */
export class TableSummary<K extends string> extends EventEmitter<TableSummaryEvents> {
  /** Resolves when the first dump has been counted; rejects if it failed. */
  readonly ready: Promise<void>;
  private readonly tally: TableTally<K>;
  private readonly entry = new WireEntry();
  private stream: EventStream<RawConntrackEvent> | undefined;
  private readonly timer: NodeJS.Timeout | undefined;
  private running: Promise<Reconciliation> | undefined;
  private again = false;
  private closed = false;
  private receivedBefore = 0;
  private lostBefore = 0;
  private overrunsBefore = 0;
  private reconciliationCount = 0;
  private failureCount = 0;
  private last: Reconciliation | undefined;

  /**
   * Starts listening to events, then dumps the table once (`ready`). Needs
   * CAP_NET_ADMIN. Throws when the namespace cannot be entered.
   */
  static watch<K extends string>(options: TableSummaryOptions<K>): TableSummary<K> {
    return new TableSummary(Conntrack.open(options.netns === undefined ? {} : { netns: options.netns }), options);
  }

  private constructor(
    private readonly ct: Conntrack,
    private readonly options: TableSummaryOptions<K>,
  ) {
    super();
    this.tally = new TableTally(options.keys);
    this.listen();
    this.ready = this.reconcile().then(() => undefined);
    // Whoever awaits `ready` sees a failure; nobody awaiting it is not a crash.
    this.ready.catch(() => undefined);
    const interval = options.reconcileInterval ?? 60_000;
    if (interval > 0) this.timer = setInterval(() => void this.reconcile().catch(() => undefined), interval).unref();
  }

  /** Entries counted. */
  get entries(): number {
    return this.tally.entries;
  }

  /** Entries per group of `key` (groups with none are left out). */
  counts(key: K): GroupCount[] {
    return this.tally.counts(key);
  }

  /** The `limit` groups of `key` with the most entries, most first. */
  top(key: K, limit: number): GroupCount[] {
    return this.tally.top(key, limit);
  }

  /** Events received so far. */
  get eventsReceived(): number {
    return this.receivedBefore + (this.stream?.received ?? 0);
  }

  /** Events the kernel dropped so far (its count; see EventsLost). */
  get eventsLost(): number {
    return this.lostBefore + (this.stream?.lost ?? 0);
  }

  /** ENOBUFS reports so far: each one is followed by a reconciling dump. */
  get overruns(): number {
    return this.overrunsBefore + (this.stream?.overruns ?? 0);
  }

  /** Reconciling dumps completed. */
  get reconciliations(): number {
    return this.reconciliationCount;
  }

  /** Dumps and listeners that failed. */
  get failures(): number {
    return this.failureCount;
  }

  /**
   * Whether a reconciling dump is running. The counts stay readable
   * meanwhile, without waiting for it: kept by events as before, with the
   * dump's corrections applied as far as it has gone (entries it finds gone
   * are removed when it ends).
   */
  get reconciling(): boolean {
    return this.running !== undefined;
  }

  /** The last completed reconciliation. */
  get lastReconciliation(): Reconciliation | undefined {
    return this.last;
  }

  /**
   * Dumps the table and corrects the counts now. While one runs, a call
   * gets the one after it (events during a dump may have been lost too).
   */
  reconcile(): Promise<Reconciliation> {
    if (this.running) {
      this.again = true;
      return this.running.then(() => this.running ?? this.reconcile());
    }
    this.running = this.pass().finally(() => {
      this.running = undefined;
      if (this.again && !this.closed) {
        this.again = false;
        void this.reconcile().catch(() => undefined);
      }
    });
    return this.running;
  }

  /** Stops listening and reconciling. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    // Conntrack#close() leaves rawEvents streams open: they are their caller's to close.
    this.stream?.close();
    this.ct.close();
  }

  private async pass(): Promise<Reconciliation> {
    const started = performance.now();
    this.tally.beginPass();
    try {
      await this.ct.dumpRaw({}, {}, (e) => this.tally.see(e));
    } catch (err) {
      this.tally.abandonPass();
      // Entries may be missing from an interrupted dump: count none as gone, dump again.
      if (err instanceof DumpInterruptedError) this.again = true;
      this.fail(err as Error);
      throw err;
    }
    const result: Reconciliation = {
      ...this.tally.endPass(),
      at: new Date(),
      durationMs: performance.now() - started,
      entries: this.tally.entries,
    };
    this.reconciliationCount++;
    this.last = result;
    this.emit('reconciled', result);
    return result;
  }

  private listen(): void {
    // Transient: each event is tallied at once, nothing of it kept.
    const stream = this.ct.rawEvents({ bufferSize: this.options.bufferSize ?? defaultEventBufferSize(), transient: true });
    this.stream = stream;
    stream.on('event', (ev) => this.tally.apply(ev.type, this.entry.set(ev.buf, ev.start, ev.end, ev.family)));
    // The loss is reported once the kernel stops dropping: a dump from then on misses nothing.
    stream.on('lost', () => void this.reconcile().catch(() => undefined));
    let failed = false;
    stream.on('error', (err) => {
      failed = true;
      this.fail(err);
    });
    stream.on('close', () => {
      this.receivedBefore += stream.received;
      this.lostBefore += stream.lost;
      this.overrunsBefore += stream.overruns;
      this.stream = undefined;
      if (this.closed || !failed) return;
      // The listener failed: listen again and recount what happened meanwhile.
      try {
        this.listen();
      } catch (err) {
        this.fail(err as Error);
        return;
      }
      void this.reconcile().catch(() => undefined);
    });
  }

  private fail(err: Error): void {
    this.failureCount++;
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }
}
