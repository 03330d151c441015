/**
 * The daemon's kernel side, all through the library: the event socket (its
 * buffer, reliability, kernel filter and overruns), dumps of the table and
 * the selective flush. It decides nothing about caches: events and dumped
 * entries that pass the Filter go to a KernelSink.
 */
import { Outcome, RequestBatch, WindowBatch } from '../../api/batch-window';
import { Conntrack } from '../../api/conntrack';
import { isNotFound } from '../../api/errors';
import type { EventStream } from '../../api/event-stream';
import type { RawConntrackEvent } from '../../api/events';
import type { EventType } from '../../ctnetlink/event';
import type { Flow } from '../../ctnetlink/flow';
import { writeDeleteOfCreate } from '../../ctnetlink/requests';
import type { MessageWriter } from '../../netlink/attributes';
import { NetlinkError } from '../../netlink/errors';
import { WireEntry } from '../../ctnetlink/wire-entry';
import type { GeneralConfig } from '../config/config';
import type { Log } from '../daemon/contract';
import { newNetlinkCounters } from '../stats/counters';
import type { CreateOutcome } from './commit';
import type { FlowPredicate } from './filter';

/**
 * Who caused an event: `self` when a request of the daemon's own sockets did
 * (its flush), which a sync mode must not replicate back; `other` for the
 * kernel (traffic, timeouts) and everybody else.
 */
export type Origin = 'self' | 'other';

export interface KernelSink {
  event(type: EventType, entry: WireEntry, origin: Origin): void;
  dumped(entry: WireEntry): void;
  /** The kernel dropped events: the cache may now miss changes. */
  overrun(): void;
}

export interface KernelOptions {
  general: GeneralConfig;
  log: Log;
  netns?: string;
  filter: FlowPredicate;
  /** A socket filter for the event socket (`Filter From Kernelspace`). */
  kernelFilter?: Buffer;
  sink: KernelSink;
  /** Events a commit lets wait before it sends more creates; COMMIT_EVENT_BACKLOG by default. */
  commitBacklog?: number;
}

/** Requests per batch of a commit. */
const BATCH = 256;

/**
 * Events a commit lets wait for the event handler before it sends more
 * (KernelOptions.commitBacklog). Every create of a commit makes an event on
 * the daemon's own event socket, and the kernel creates faster than the
 * handler takes events (EventIterationLimit per turn of the loop): unpaced,
 * a commit of a million flows outgrew the event stream's read-ahead (128 MiB,
 * about half a million events) and then the socket buffer, and the overrun
 * cost a resync of the whole table. A quarter of the read-ahead may wait:
 * pacing sooner made commits slower (the kernel's creates and our event
 * handling then take turns, and each evicts the other's working set).
 */
const COMMIT_EVENT_BACKLOG = 131_072;
/**
 * ... nor more than half the event socket's buffer in the kernel: the
 * read-ahead thread empties it, but under SCHED_RR it may wait a whole time
 * slice (100 ms) for a core while the commit's own threads run.
 */
const COMMIT_BUFFER_FILL = 0.5;
/** Creates a commit adds at most between two looks at its events (a look at the socket is a system call). */
const COMMIT_LOOK_EVERY = 64;
/**
 * What an event takes of the socket's buffer (the kernel's accounting of its
 * datagram): 1,280 bytes measured for a TCP entry's; one with NAT or labels
 * may take more, which the quarter kept free in commitWindow() absorbs.
 */
const EVENT_TRUESIZE = 1280;

/** Creates written by a commit's writer, each kept until taken (an existing entry's is sent again). */
class CommitBatch<T> extends RequestBatch {
  constructor(private readonly writer: (w: MessageWriter, item: T) => void) {
    super(BATCH, 160);
  }

  write(item: T): void {
    this.writer(this.requests, item);
    this.written();
  }

  protected outcome(_index: number, err: NetlinkError | undefined): Outcome {
    if (err === undefined) return Outcome.DONE;
    return err.code === 'EEXIST' ? Outcome.EXISTED : Outcome.FAILED;
  }
}

/**
 * Pairs of a delete of an existing entry and its create; a delete of an
 * entry gone meanwhile is no failure. A pair never straddles two batches:
 * both of its requests are added at once, and a batch holds an even number.
 */
class ReplaceBatch extends WindowBatch {
  constructor() {
    super(BATCH, 160);
  }

  protected outcome(index: number, err: NetlinkError | undefined): Outcome {
    if (err === undefined) return Outcome.DONE;
    return index % 2 === 0 && isNotFound(err) ? Outcome.GONE : Outcome.FAILED;
  }
}

const writeItem = <T>(batch: CommitBatch<T>, item: T): void => batch.write(item);
const writeDeleteOf = (batch: ReplaceBatch, create: Buffer): void => writeDeleteOfCreate(batch.requests, 0, create);
const writeRaw = (batch: ReplaceBatch, create: Buffer): void => batch.requests.raw(create);

export class KernelSide {
  /** `-s runtime`'s netlink counters; overruns also count as failed reads (catchEventFailed), as in 1.4.7. */
  readonly counters = newNetlinkCounters();
  private readonly ct: Conntrack;
  private events: EventStream<RawConntrackEvent> | undefined;
  private readonly entry = new WireEntry();
  /** Events handled in this turn of the event loop (EventIterationLimit). */
  private turn = 0;
  /** The buffer size asked for last; doubling starts from it, as in 1.4.7. */
  private requested = 0;
  private growthWarned = false;

  constructor(private readonly options: KernelOptions) {
    this.ct = Conntrack.open({ netns: options.netns });
  }

  /**
   * Opens the event socket, logging what 1.4.7 logs: reliable delivery,
   * where the filter runs, and the buffer size (NetlinkBufferSize is
   * applied only when it does not exceed NetlinkBufferSizeMaxGrowth).
   */
  listen(): void {
    const { general, log, kernelFilter } = this.options;
    if (general.netlinkEventsReliable) log.write('NOTICE', 'reliable ctnetlink event delivery is ENABLED.');
    if (general.filter) log.write('NOTICE', `using ${kernelFilter ? 'kernel' : 'user'}-space event filtering`);
    const size = general.netlinkBufferSize;
    const applied = size !== undefined && size <= this.maxGrowth() ? size : undefined;
    // Transient: an event goes into the cache (a copy of its own) before the next one is read.
    const events = this.ct.rawEvents({ bufferSize: applied, reliable: general.netlinkEventsReliable, kernelFilter, transient: true });
    if (applied === undefined) {
      log.write('NOTICE', 'NetlinkBufferSize is either not set or is greater than NetlinkBufferSizeMaxGrowth. Using current system buffer size');
    }
    this.requested = applied ?? events.bufferSize ?? 0;
    this.counters.bufferSize = this.requested;
    log.write('NOTICE', `netlink event socket buffer size has been set to ${this.requested} bytes`);
    events.on('event', (event) => this.onEvent(event));
    events.on('overrun', () => this.onOverrun());
    events.on('error', (err) => {
      this.counters.catchEventFailed++;
      log.write('WARNING', `event catch says: ${err.message}`);
    });
    this.events = events;
  }

  /** Dumps the kernel table, handing every entry the Filter passes to the sink. */
  async dump(): Promise<void> {
    const { filter, sink } = this.options;
    await this.ct.dumpRaw({}, {}, (entry) => {
      if (filter(entry)) sink.dumped(entry);
    });
  }

  /**
   * Deletes every kernel entry the Filter passes, keeping those it ignores,
   * through the daemon's own socket: the DESTROY events that follow are
   * marked `self`. Resolves with the number deleted.
   */
  flush(): Promise<number> {
    this.counters.flushes++;
    return this.ct.deleteWhere(this.options.filter);
  }

  /**
   * Creates `flow` through the daemon's own socket, so that its events are
   * `self` and never replicated back; an entry with the same tuple is
   * deleted and created again (`-c` over flows the kernel has already).
   */
  async replace(flow: Flow): Promise<'created' | 'replaced'> {
    try {
      await this.ct.create(flow);
      return 'created';
    } catch (err) {
      if (!(err instanceof NetlinkError) || err.code !== 'EEXIST') throw err;
    }
    await this.ct.delete(flow);
    await this.ct.create(flow);
    return 'replaced';
  }

  /**
   * Creates what `write` writes for every item of `items` (create requests
   * with NLM_F_EXCL, see CreateRequests), through the daemon's own socket,
   * as the library's bulk changes send them: many per sendmsg, pipelined.
   * The entries the kernel has already (EEXIST) are then deleted and
   * created again, each delete and create pair in order on the socket.
   * The creates keep pace with the event handler (commitBacklog).
   * `done` hears each outcome; resolves when every item is answered.
   */
  async createAll<T>(items: Iterable<T>, write: (w: MessageWriter, item: T) => void, done: (outcome: CreateOutcome) => void): Promise<void> {
    const existing: Buffer[] = [];
    const { depth, lookEvery } = this.commitWindow();
    const creates = this.ct.bulkChange<CommitBatch<T>>({
      depth,
      batch: () => new CommitBatch(write),
      take: (batch, i) => {
        const outcome = batch.outcomes[i];
        if (outcome === Outcome.DONE) done('created');
        else if (outcome === Outcome.EXISTED) existing.push(Buffer.from(batch.request(i)));
        else done(batch.error(i) as Error);
      },
    });
    let added = 0;
    for (const item of items) {
      try {
        creates.add(writeItem, item);
      } catch (err) {
        // This item could not be written (nothing of it was sent); the others go on.
        done(err as Error);
      }
      await creates.room();
      if (++added % lookEvery === 0) await this.eventsCaughtUp();
    }
    await creates.finish();
    if (existing.length === 0) return;
    const replacements = this.ct.bulkChange<ReplaceBatch>({
      depth,
      batch: () => new ReplaceBatch(),
      take: (batch, i) => {
        if (i % 2 === 0) return;
        const failed = batch.outcomes[i - 1] === Outcome.FAILED ? i - 1 : batch.outcomes[i] === Outcome.FAILED ? i : -1;
        done(failed < 0 ? 'replaced' : (batch.error(failed) as Error));
      },
    });
    for (const create of existing) {
      replacements.add(writeDeleteOf, create);
      replacements.add(writeRaw, create);
      await replacements.room();
      if (++added % lookEvery === 0) await this.eventsCaughtUp();
    }
    await replacements.finish();
  }

  /** Updates the entry of `flow`'s original tuple, through the daemon's own socket; false when there was none. */
  update(flow: Flow): Promise<boolean> {
    return this.ct.update(flow);
  }

  /** Deletes the entry of `flow`'s original tuple, through the daemon's own socket; false when there was none. */
  delete(flow: Flow): Promise<boolean> {
    return this.ct.delete(flow);
  }

  close(): void {
    this.events?.close();
    this.ct.close();
  }

  /**
   * How many creates a commit keeps unanswered, and adds between two looks
   * at its events. The kernel has made the events of the creates it answered
   * and of those it is making; should the reader thread fall behind, they wait
   * in the socket's buffer. So that they always fit, the creates of a window
   * and of a look's stride take at most three quarters of what the buffer
   * has left above COMMIT_BUFFER_FILL: the system's default buffer (208 KiB)
   * holds ~160 events, and a commit of 10,000 flows on it overran with the
   * library's 1024 in flight. A large buffer keeps the library's pipeline.
   */
  private commitWindow(): { depth: number | undefined; lookEvery: number } {
    const bytes = this.events?.bufferSize;
    if (bytes === undefined) return { depth: undefined, lookEvery: COMMIT_LOOK_EVERY };
    const events = Math.floor((bytes * (1 - COMMIT_BUFFER_FILL)) / EVENT_TRUESIZE);
    return { depth: Math.max(2, Math.floor(events / 2)), lookEvery: Math.max(1, Math.min(COMMIT_LOOK_EVERY, Math.floor(events / 4))) };
  }

  private eventsBehind(): boolean {
    const events = this.events;
    if (events === undefined) return false;
    return events.backlog > (this.options.commitBacklog ?? COMMIT_EVENT_BACKLOG) || (events.bufferFill ?? 0) > COMMIT_BUFFER_FILL;
  }

  /**
   * Resolves once few enough events wait (commitBacklog, COMMIT_BUFFER_FILL).
   * Between looks the loop sleeps a millisecond rather than spin: under
   * SCHED_RR a spinning loop would keep the read-ahead thread off its core.
   */
  private async eventsCaughtUp(): Promise<void> {
    while (this.eventsBehind()) await new Promise<void>((resolve) => setTimeout(resolve, 1));
  }

  private maxGrowth(): number {
    const { netlinkBufferSize, netlinkBufferSizeMaxGrowth } = this.options.general;
    return netlinkBufferSizeMaxGrowth ?? netlinkBufferSize ?? 0;
  }

  private onEvent(event: RawConntrackEvent): void {
    this.counters.eventsReceived++;
    const entry = this.entry.set(event.buf, event.start, event.end, event.family);
    if (!this.options.filter(entry)) {
      this.counters.eventsFiltered++;
    } else {
      const origin: Origin = this.ct.ownsPort(event.portid) ? 'self' : 'other';
      this.options.sink.event(event.type, entry, origin);
    }
    this.countTurn();
  }

  /** After EventIterationLimit events the socket pauses until the loop has run other work. */
  private countTurn(): void {
    if (this.turn++ === 0) {
      setImmediate(() => {
        const held = this.turn >= this.options.general.eventIterationLimit;
        this.turn = 0;
        if (held) this.events?.resume();
      });
    }
    if (this.turn === this.options.general.eventIterationLimit) this.events?.pause();
  }

  /**
   * ENOBUFS: double the buffer up to NetlinkBufferSizeMaxGrowth (warned once
   * when it cannot grow further), then let the sink recover.
   */
  private onOverrun(): void {
    this.counters.overruns++;
    this.counters.catchEventFailed++;
    const { log } = this.options;
    const doubled = this.requested * 2;
    if (doubled > this.maxGrowth()) {
      if (!this.growthWarned) {
        this.growthWarned = true;
        log.write(
          'WARNING',
          'netlink event socket buffer size cannot be doubled further since it will exceed NetlinkBufferSizeMaxGrowth. ' +
            'We are likely to be losing events, this may lead to unsynchronized replicas. ' +
            'Please, consider increasing netlink socket buffer size via NetlinkBufferSize and ' +
            'NetlinkBufferSizeMaxGrowth clauses in conntrackd.conf',
        );
      }
    } else {
      this.events?.resize(doubled);
      this.requested = doubled;
      this.counters.bufferSize = doubled;
      log.write('NOTICE', `netlink event socket buffer size has been doubled to ${doubled} bytes`);
    }
    this.options.sink.overrun();
  }
}
