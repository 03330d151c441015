import { MessageWriter } from '../netlink/attributes';
import { NetlinkChannel } from '../netlink/channel';
import { NetlinkOption } from '../netlink/constants';
import { DumpInterruptedError, isNotFound, NetlinkError } from '../netlink/errors';
import type { MessageCursor } from '../netlink/messages';
import { NetlinkSocket, type Transport } from '../netlink/socket';
import { messageType, NFGENMSG_LEN, Subsystem } from '../nfnetlink/header';
import { CtMsg, Family } from '../ctnetlink/constants';
import type { FlowFilter } from '../ctnetlink/filter';
import {
  kernelCovers,
  kernelSupportFromProbeError,
  usesTupleFilter,
  writeFilterProbe,
  type KernelFilterSupport,
} from '../ctnetlink/filter-kernel';
import { compileFilter, matchesAll } from '../ctnetlink/filter-match';
import type { Flow, Tuple } from '../ctnetlink/flow';
import { decodeFlowMessage } from '../ctnetlink/flow-codec';
import {
  cpuStatsRequest,
  createRequest,
  deleteRequest,
  dumpRequest,
  flushRequest,
  getRequest,
  globalStatsRequest,
  updateRequest,
  type Table,
} from '../ctnetlink/requests';
import { decodeStats } from '../ctnetlink/stats-codec';
import { compileWirePrefilter } from '../ctnetlink/filter-wire';
import { WireEntry } from '../ctnetlink/wire-entry';
import type { Expectation, ExpectationEvent } from '../ctnetlink/expect';
import { expectationStatsRequest } from '../ctnetlink/expect-requests';
import type { EventStream, EventStreamOptions } from './event-stream';
import type { ConntrackEvent } from '../ctnetlink/event';
import { Outcome, type WindowBatch } from './batch-window';
import { BulkChange, type BulkChangeOptions, type BulkResult } from './bulk-change';
import { CreateBatch } from './bulk-create';
import { DeleteBatch } from './bulk-delete';
import { UpdateBatch, type EntryUpdate } from './bulk-update';
import { ResultQueue } from './result-queue';
import { conntrackEvents, rawConntrackEvents, type EventOptions, type RawConntrackEvent, type RawEventOptions } from './events';
import { toFilter, toFlow, type FlowChange, type FlowFilterInput, type FlowInput } from './input';
import * as expectations from './expectations';
import type { ExpectationLookup, NewExpectation } from './expectations';

export interface ConntrackOptions {
  /** Network namespace to work in: a name under /run/netns (as `ip netns` makes) or a path. */
  netns?: string;
  /**
   * @internal Opens what stands in for each netlink socket (the query and the
   * modify one): the seam where unit tests put a fake kernel.
   */
  transport?: () => Transport;
}

export interface DumpOptions {
  /** `conntrack` (default), or the transient `dying` / `unconfirmed` lists. */
  table?: Table;
  /** Reset the counters while reading them (`conntrack -L -z`). */
  zero?: boolean;
  /** Aborting ends the dump: the iteration (or the promise) rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** For single requests and bulk changes. */
export interface AbortOptions {
  /**
   * Aborting rejects with the signal's reason, at once. Nothing is sent once
   * it has aborted; a change already sent may still be made by the kernel
   * (its answer is left unread), and changes the kernel already made stay
   * made. A bulk change stops dumping.
   */
  signal?: AbortSignal;
}

/** One CPU's conntrack counters (`conntrack -S`). */
export interface CpuStats {
  cpu: number;
  /** CTA_STATS_* (or CTA_STATS_EXP_*) number -> value, in the kernel's order. */
  counters: Array<{ type: number; value: number }>;
  /** The same by the names `conntrack -S` prints (`found`, `insert_failed` …); counters newer than those names are in `counters` only. */
  named: Record<string, number>;
}

/** The names of CTA_STATS_* 1.. as `conntrack -S` prints them. */
export const CPU_STATS_NAMES: readonly string[] = [
  'searched', 'found', 'new', 'invalid', 'ignore', 'delete', 'delete_list', 'insert',
  'insert_failed', 'drop', 'early_drop', 'error', 'search_restart', 'clash_resolve', 'chaintoolong',
];

/** The names of CTA_STATS_EXP_* 1.. as `conntrack -S expect` prints them. */
export const EXPECTATION_STATS_NAMES: readonly string[] = ['expect_new', 'expect_create', 'expect_delete'];

const CT_NEW = messageType(Subsystem.CTNETLINK, CtMsg.NEW);

/** Pipelined requests share this receive buffer for their ACKs and replies. */
const MODIFY_RCVBUF = 4 * 1024 * 1024;

/** Dumps are received ahead on a second core into this much memory (32 of the kernel's 32 KiB datagrams). */
const READ_AHEAD = 1024 * 1024;

/**
 * Bulk changes unfinished at most: enough to fill many sendmsg calls, few
 * enough that their replies always fit the modify socket's receive buffer.
 */
const PIPELINE_DEPTH = 1024;

const NO_TUPLE_FILTER: KernelFilterSupport = { tupleFilter: false };

/** The families conntrack tracks, in the order a split dump asks for them. */
const PER_FAMILY = [Family.INET, Family.INET6] as const;

/**
 * A failure of one dump of a split dump: an interruption is reported after
 * the remaining dumps ran (like a single dump reports it after its last
 * entry); anything else ends the dump at once.
 */
function laterDumps(err: unknown): DumpInterruptedError {
  if (err instanceof DumpInterruptedError) return err;
  throw err;
}

/** A dump request and the userspace part of its filter (none when the kernel does all of it). */
interface DumpPlan {
  request: Buffer;
  seq: number;
  match: ((flow: Flow) => boolean) | undefined;
  /** A cheap necessary condition of `match` on the undecoded entry. */
  prefilter: ((entry: WireEntry) => boolean) | undefined;
}

/**
 * `promise`, or the abort reason of `signal` as soon as it aborts. For a
 * single request: the kernel still answers it, the answer is left unread.
 */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    // The request went out already; its answer (e.g. ENOENT) no longer matters
    // and must not surface as an unhandled rejection.
    promise.catch(() => undefined);
    throw signal.reason;
  }
  return new Promise<T>((resolve, reject) => {
    const abort = (): void => reject(signal.reason);
    signal.addEventListener('abort', abort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', abort));
  });
}

/** What every method rejects with once close() ran (EBADF, as for a closed descriptor). */
function closedError(): NetlinkError {
  return new NetlinkError(9 /* EBADF */, 'sendmsg', 'the Conntrack is closed');
}

const writeCreate = (batch: CreateBatch, flow: FlowInput): void => batch.write(flow);
const writeUpdate = (batch: UpdateBatch, update: EntryUpdate): void => batch.write(update);
const writeDelete = (batch: DeleteBatch, entry: WireEntry): void => batch.write(entry);

/** The update request of `set` for `entry`: found by its original tuple and zone. */
function changeOf(entry: Flow, set: FlowChange): Flow {
  const update = { ...set, family: entry.family, orig: entry.orig, reply: {} } as Flow;
  if (entry.zone !== undefined) update.zone = entry.zone;
  return update;
}

/**
 * The conntrack table of one network namespace, over ctnetlink.
 *
 * Reads stream (`dump` is an async iterable whose memory stays flat for any
 * table size) and writes pipeline: start many `delete`/`create`/`update`
 * calls before awaiting them and they share sendmsg calls, like a batch.
 * Methods throw NetlinkError (`code`, `errno`, kernel's extended-ack text);
 * nothing here prints or exits. A dump the kernel flags NLM_F_DUMP_INTR (the
 * table changed under it) delivers every entry it got, then throws
 * DumpInterruptedError: it is not repeated here, the caller dumps again if it
 * needs a consistent view (ctnetlink of Linux 6.x never sets the flag).
 * Malformed replies throw ProtocolError; ENOBUFS (replies dropped) fails the
 * requests in flight with NetlinkError ENOBUFS.
 *
 * Needs CAP_NET_ADMIN in the namespace for everything but open.
 */
export class Conntrack {
  private queryChannel: NetlinkChannel | undefined;
  private modifyChannel: NetlinkChannel | undefined;
  private readonly sockets = new Map<NetlinkChannel, NetlinkSocket>();
  /** Event streams opened by events() / expectationEvents() / rawEvents(): close() ends them too. */
  private readonly streams = new Set<{ close(): void }>();
  private closed = false;
  /** What the kernel filters in dumps: probed once, by the first dump that could use CTA_FILTER. */
  private kernelFilter: Promise<KernelFilterSupport> | undefined;

  private constructor(private readonly options: ConntrackOptions) {}

  /**
   * Opens the table; sockets are created on first use, except that with
   * `netns` one is opened at once, so a namespace that cannot be entered
   * fails here (NetlinkError, syscall `open` or `setns`) rather than part-way
   * through a first command.
   */
  static open(options: ConntrackOptions = {}): Conntrack {
    const ct = new Conntrack(options);
    if (options.netns !== undefined) ct.query();
    return ct;
  }

  /**
   * Entries of a table in kernel order, one array per received datagram —
   * the cheapest way to walk a big table. `conntrack -L`.
   */
  dumpBatches(filter: FlowFilterInput = {}, options: DumpOptions = {}): AsyncGenerator<Flow[]> {
    return this.wholeDump(options.signal, async function* (this: Conntrack, query: NetlinkChannel): AsyncGenerator<Flow[]> {
      let interrupted: DumpInterruptedError | undefined;
      for (const { request, seq, match } of await this.dumpPlans(filter, options)) {
        try {
          for await (const batch of query.dump(request, seq, decodeFlowMessage)) {
            const kept = match ? batch.filter(match) : batch;
            if (kept.length > 0) yield kept;
          }
        } catch (err) {
          interrupted = laterDumps(err);
        }
      }
      if (interrupted) throw interrupted;
    });
  }

  /**
   * Runs `dump` (a dump on the query socket) and, when the caller leaves it
   * before its end (break, return, a throw), retires that socket: the kernel
   * goes on dumping into it and refuses another dump there (EBUSY) until it
   * has been read to the end, so the next call gets a fresh socket at once.
   */
  private async *wholeDump<T>(
    signal: AbortSignal | undefined,
    dump: (this: Conntrack, query: NetlinkChannel) => AsyncGenerator<T>,
  ): AsyncGenerator<T> {
    signal?.throwIfAborted();
    const query = this.query();
    const unwatch = this.retireOnAbort(query, signal);
    let ended = false;
    try {
      for await (const item of dump.call(this, query)) {
        signal?.throwIfAborted();
        yield item;
      }
      ended = true;
    } catch (err) {
      signal?.throwIfAborted();
      throw err;
    } finally {
      unwatch();
      if (!ended) this.retire(query);
    }
  }

  /**
   * An abort of `signal` retires the query socket (see wholeDump): the
   * request on it fails at once, and the caller reports the abort instead.
   * Returns the function that stops watching.
   */
  private retireOnAbort(query: NetlinkChannel, signal: AbortSignal | undefined): () => void {
    if (!signal) return () => {};
    const abort = (): void => this.retire(query);
    signal.addEventListener('abort', abort, { once: true });
    return () => signal.removeEventListener('abort', abort);
  }

  /** Drops the query socket `channel` (see wholeDump); requests still on it fail. */
  private retire(channel: NetlinkChannel): void {
    if (this.queryChannel !== channel) return;
    this.queryChannel = undefined;
    this.sockets.delete(channel);
    channel.close();
  }

  /**
   * @internal Not part of the package's API: the CLI's fast paths.
   *
   * Visits the entries of a table in kernel order as the kernel sent them,
   * undecoded: the cheapest way through a big table (`conntrack -L` prints
   * this way). `visit` runs synchronously for every entry the filter keeps,
   * with one WireEntry that is reused and valid only during the call
   * (`entry.flow()` decodes it). Without `filter.family`, a filter on tuple
   * fields runs as one dump per family, IPv4 then IPv6, because the kernel
   * compares tuples only in single-family dumps: each family's entries come in
   * kernel order, and IPv4 ones before IPv6 ones. Resolves with the number of entries visited;
   * rejects with what `visit` threw, or DumpInterruptedError after the last
   * entry when the table changed during the dump.
   */
  async dumpRaw(filter: FlowFilterInput, options: DumpOptions, visit: (entry: WireEntry) => void): Promise<number> {
    const entry = new WireEntry();
    let visited = 0;
    let interrupted: DumpInterruptedError | undefined;
    options.signal?.throwIfAborted();
    const query = this.query();
    const unwatch = this.retireOnAbort(query, options.signal);
    let ended = false;
    try {
      for (const { request, seq, match, prefilter } of await this.dumpPlans(filter, options)) {
        try {
          await query.request(request, seq, (m) => {
            if (m.type !== CT_NEW || m.end - m.payload < NFGENMSG_LEN) return;
            entry.set(m.buf, m.payload + NFGENMSG_LEN, m.end, m.buf[m.payload]!);
            if (prefilter && !prefilter(entry)) return;
            if (match && !match(entry.flow())) return;
            visited++;
            visit(entry);
          });
        } catch (err) {
          interrupted = laterDumps(err);
        }
      }
      ended = true;
    } catch (err) {
      options.signal?.throwIfAborted();
      throw err;
    } finally {
      unwatch();
      // `visit` threw or a reply was malformed: the kernel may still be dumping (see wholeDump).
      if (!ended) this.retire(query);
    }
    options.signal?.throwIfAborted();
    if (interrupted) throw interrupted;
    return visited;
  }

  /** Entries of a table in kernel order, one at a time. */
  async *dump(filter: FlowFilterInput = {}, options: DumpOptions = {}): AsyncGenerator<Flow> {
    for await (const batch of this.dumpBatches(filter, options)) {
      for (const flow of batch) {
        options.signal?.throwIfAborted();
        yield flow;
      }
    }
  }

  /**
   * One entry by its tuple (original, and reply if given) and zone; undefined
   * when there is none. `conntrack -G`. Asked on the modify socket: `-U`
   * reads each entry back while its dump holds the query socket unread
   * (backpressure), where the answer would never be read.
   */
  async get(template: FlowInput, options: AbortOptions = {}): Promise<Flow | undefined> {
    options.signal?.throwIfAborted();
    const channel = this.modify();
    const seq = channel.nextSeq();
    let found: Flow | undefined;
    try {
      await abortable(
        channel.request(getRequest(seq, toFlow(template)), seq, (m) => {
          found = decodeFlowMessage(m) ?? found;
        }),
        options.signal,
      );
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    return found;
  }

  /**
   * Creates an entry (`conntrack -I`). With `exclusive: false` an existing
   * entry with the same tuple is updated instead of failing with EEXIST.
   * Minimum: original tuple with protocol, and a timeout; a missing reply
   * tuple is derived from the original.
   */
  async create(flow: FlowInput, options: { exclusive?: boolean } & AbortOptions = {}): Promise<void> {
    options.signal?.throwIfAborted();
    const channel = this.modify();
    const seq = channel.nextSeq();
    await abortable(channel.request(createRequest(seq, toFlow(flow), options.exclusive ?? true), seq), options.signal);
  }

  /**
   * Changes the attributes present in `flow` of the entry with its original
   * tuple (and zone). Resolves false when there is no such entry, like
   * delete(); `conntrack -U`.
   */
  async update(flow: FlowInput, options: AbortOptions = {}): Promise<boolean> {
    return this.unlessGone((seq) => updateRequest(seq, toFlow(flow)), options.signal);
  }

  /**
   * Deletes one entry (exactly that one when `flow.id` is set). Resolves false
   * when it no longer exists — in a busy table entries vanish between a dump
   * and a delete, and that is not an error.
   */
  async delete(flow: FlowInput, options: AbortOptions = {}): Promise<boolean> {
    return this.unlessGone((seq) => deleteRequest(seq, toFlow(flow)), options.signal);
  }

  /**
   * Creates every flow of `flows` (`conntrack -R` of `-I` lines), many
   * requests per sendmsg, and yields what became of each in the order given:
   * `{ flow }`, or `{ flow, error }` for one the kernel refused (EEXIST for
   * an existing entry unless `exclusive: false`); a refusal does not stop
   * the others. Backpressure both ways: `flows` is read only as the kernel
   * answers (at most 1024 creates unanswered) and as the results are taken.
   * A flow that cannot be encoded (e.g. an unknown protocol name) throws.
   * Leaving the loop early, or aborting, stops reading `flows`; creates
   * already sent stay made.
   */
  async *createMany(
    flows: Iterable<FlowInput> | AsyncIterable<FlowInput>,
    options: { exclusive?: boolean; signal?: AbortSignal } = {},
  ): AsyncGenerator<BulkResult<FlowInput>> {
    options.signal?.throwIfAborted();
    const modify = this.bulkModify();
    const results: BulkResult<FlowInput>[] = [];
    const exclusive = options.exclusive ?? true;
    const bulk = new BulkChange<CreateBatch>(() => modify, {
      depth: PIPELINE_DEPTH,
      feed: 'await',
      batch: () => new CreateBatch(exclusive),
      take: (batch, i) => results.push(batch.result(i)),
    });
    for await (const flow of flows) {
      options.signal?.throwIfAborted();
      bulk.add(writeCreate, flow);
      await bulk.room();
      if (results.length > 0) yield* results.splice(0);
    }
    await bulk.finish();
    options.signal?.throwIfAborted();
    yield* results.splice(0);
  }

  /**
   * Changes every entry that matches `filter` (`conntrack -U`): `change`
   * gets each dumped entry and returns the attributes to set (undefined:
   * leave it), the updates travel pipelined while the dump goes on, and
   * each updated entry is yielded in dump order: as dumped, or with
   * `readBack` as the kernel has it after the change (one lookup more per
   * entry). An entry that vanished meanwhile is skipped; one the kernel
   * refused to change comes with `error`. Slow consumers pause the dump.
   */
  async *updateEach(
    filter: FlowFilterInput,
    change: (entry: Flow) => FlowChange | undefined,
    options: { readBack?: boolean; signal?: AbortSignal } = {},
  ): AsyncGenerator<BulkResult<Flow>> {
    const readBack = options.readBack ?? false;
    const update: EntryUpdate = { entry: undefined!, change: undefined! };
    yield* this.dumpedResults<UpdateBatch, BulkResult<Flow>>(
      filter,
      options.signal,
      { batch: () => new UpdateBatch(readBack), take: () => {} },
      (bulk, entry) => {
        const flow = entry.flow();
        const set = change(flow);
        if (set === undefined) return;
        update.entry = flow;
        update.change = changeOf(flow, set);
        bulk.add(writeUpdate, update);
        if (readBack) bulk.add(writeUpdate, update);
      },
      (batch, i) => batch.result(i),
    );
  }

  /**
   * Deletes every entry that matches `filter` (`conntrack -D`, Linux ≥ 2.6.14)
   * and yields each deleted one, as dumped, in dump order once the kernel
   * confirmed it; the deletes travel pipelined while the dump goes on. An
   * entry that vanished meanwhile is skipped; one the kernel refused to
   * delete comes with `error`. Slow consumers pause the dump.
   */
  async *deleteEach(filter: FlowFilterInput = {}, options: AbortOptions = {}): AsyncGenerator<BulkResult<Flow>> {
    const view = new WireEntry();
    yield* this.dumpedResults<DeleteBatch, BulkResult<Flow>>(
      filter,
      options.signal,
      { batch: () => new DeleteBatch(), take: () => {} },
      (bulk, entry) => bulk.add(writeDelete, entry),
      (batch, i) => {
        const outcome = batch.outcomes[i];
        if (outcome === Outcome.GONE) return undefined;
        const flow = batch.entry(i, view).flow();
        return outcome === Outcome.DONE ? { flow } : { flow, error: batch.error(i) as Error };
      },
    );
  }

  /**
   * @internal Not part of the package's API: the CLI's fast path.
   *
   * deleteEach() that shows each deleted entry to `visit` undecoded (the
   * reused WireEntry, valid only during the call) and rejects with the first
   * refusal. Resolves with the number deleted. `conntrack -D`.
   */
  async deleteEntries(filter: FlowFilterInput, visit: (deleted: WireEntry) => void, options: AbortOptions = {}): Promise<number> {
    return this.deleteShown(filter, undefined, visit, options.signal);
  }

  /**
   * @internal Not part of the package's API: conntrackd's flush.
   *
   * Deletes every entry that `select` picks and shows each deleted one to
   * `visit`, like deleteEntries() with a predicate of the caller's instead
   * of a FlowFilter (conntrackd's `-F` keeps what its own filter ignores).
   * `select` gets the reused WireEntry, valid only during the call.
   * Resolves with the number deleted.
   */
  async deleteWhere(select: (entry: WireEntry) => boolean, visit: (deleted: WireEntry) => void = () => {}): Promise<number> {
    return this.deleteShown({}, select, visit, undefined);
  }

  /**
   * @internal Not part of the package's API: `conntrack -R`, and
   * conntrackd's commit (requests written from replicated bytes).
   *
   * A bulk change on the modify socket for a producer that awaits room()
   * after each add; the socket is opened when the first batch is sent.
   * `depth`: requests unanswered at most, the pipeline's 1024 at most (and
   * by default).
   */
  bulkChange<B extends WindowBatch>(options: Omit<BulkChangeOptions<B>, 'depth' | 'feed' | 'hold' | 'release'> & { depth?: number }): BulkChange<B> {
    return new BulkChange<B>(() => this.bulkModify(), { ...options, depth: Math.min(options.depth ?? PIPELINE_DEPTH, PIPELINE_DEPTH), feed: 'await' });
  }

  private async deleteShown(
    filter: FlowFilterInput,
    select: ((entry: WireEntry) => boolean) | undefined,
    visit: (deleted: WireEntry) => void,
    signal: AbortSignal | undefined,
  ): Promise<number> {
    const view = new WireEntry();
    let deleted = 0;
    await this.changeDumped<DeleteBatch>(
      filter,
      signal,
      {
        batch: () => new DeleteBatch(),
        take: (batch, i) => {
          const outcome = batch.outcomes[i];
          if (outcome === Outcome.FAILED) throw batch.error(i);
          if (outcome !== Outcome.DONE) return;
          visit(batch.entry(i, view));
          deleted++;
        },
      },
      (bulk, entry) => {
        if (!select || select(entry)) bulk.add(writeDelete, entry);
      },
    );
    return deleted;
  }

  /**
   * Runs a bulk change fed by a dump of `filter`: `add` gets every entry the
   * filter keeps (the reused WireEntry, valid only during the call) and adds
   * its requests to `bulk`; past the window's depth the dump pauses. An
   * interrupted dump still saw every entry: what it started is finished,
   * then the interruption reported.
   */
  private async changeDumped<B extends WindowBatch>(
    filter: FlowFilterInput,
    signal: AbortSignal | undefined,
    kind: Pick<BulkChangeOptions<B>, 'batch' | 'take'>,
    add: (bulk: BulkChange<B>, entry: WireEntry) => void,
  ): Promise<void> {
    const query = this.query();
    const modify = this.bulkModify();
    const bulk = new BulkChange<B>(() => modify, {
      ...kind,
      depth: PIPELINE_DEPTH,
      feed: 'dump',
      hold: () => query.holdReading(),
      release: () => query.releaseReading(),
    });
    try {
      await this.dumpRaw(filter, { signal }, (entry) => add(bulk, entry));
    } catch (err) {
      if (err instanceof DumpInterruptedError) await bulk.finish();
      else bulk.fail(err);
      throw err;
    }
    await bulk.finish();
  }

  /**
   * changeDumped() as an async iterator of what `result` makes of each
   * answered request, in order (undefined: nothing to yield). A consumer
   * that lags pauses the dump; one that leaves early ends it at once.
   */
  private async *dumpedResults<B extends WindowBatch, R>(
    filter: FlowFilterInput,
    signal: AbortSignal | undefined,
    kind: Pick<BulkChangeOptions<B>, 'batch' | 'take'>,
    add: (bulk: BulkChange<B>, entry: WireEntry) => void,
    result: (batch: B, index: number) => R | undefined,
  ): AsyncGenerator<R> {
    signal?.throwIfAborted();
    const query = this.query();
    const queue = new ResultQueue<R>(PIPELINE_DEPTH, () => query.holdReading(), () => query.releaseReading());
    const take = (batch: B, i: number): void => {
      const r = result(batch, i);
      if (r !== undefined) queue.push(r);
    };
    this.changeDumped<B>(filter, signal, { ...kind, take }, add).then(
      () => queue.end(false),
      (err: unknown) => queue.end(true, err),
    );
    try {
      yield* queue.results();
    } finally {
      // Left early: the dump may still be running (see wholeDump).
      if (!queue.done) this.retire(query);
    }
  }

  /** Sends one change; false when the entry was gone already (ENOENT). */
  private async unlessGone(request: (seq: number) => Buffer, signal: AbortSignal | undefined): Promise<boolean> {
    signal?.throwIfAborted();
    const channel = this.modify();
    const seq = channel.nextSeq();
    try {
      await abortable(channel.request(request(seq), seq), signal);
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /**
   * Empties the table in one request (`conntrack -F`) and resolves with the
   * number of entries it held just before (the kernel does not say how many
   * the flush removed); or, with a filter, deletes the matching entries and
   * resolves with how many went.
   */
  async flush(filter?: FlowFilterInput, options: AbortOptions = {}): Promise<number> {
    if (filter === undefined) {
      const entries = await this.count(options);
      options.signal?.throwIfAborted();
      const channel = this.modify();
      const seq = channel.nextSeq();
      await abortable(channel.request(flushRequest(seq), seq), options.signal);
      return entries;
    }
    return this.deleteEntries(filter, () => {}, options);
  }

  /** Number of entries in the namespace's table (`conntrack -C`). */
  async count(options: AbortOptions = {}): Promise<number> {
    options.signal?.throwIfAborted();
    const channel = this.query();
    const seq = channel.nextSeq();
    let entries: number | undefined;
    const request = channel.request(globalStatsRequest(seq), seq, (m) => {
      for (const s of decodeStats(m.buf, m.payload + NFGENMSG_LEN, m.end)) {
        if (s.type === 1 /* CTA_STATS_GLOBAL_ENTRIES */) entries = s.value;
      }
    });
    await abortable(request, options.signal);
    if (entries === undefined) throw new NetlinkError(61 /* ENODATA */, 'recvmsg', 'no CTA_STATS_GLOBAL_ENTRIES in the reply');
    return entries;
  }

  /** Per-CPU counters (`conntrack -S`). */
  async stats(options: AbortOptions = {}): Promise<CpuStats[]> {
    return this.cpuStats(cpuStatsRequest, CPU_STATS_NAMES, options.signal);
  }

  /**
   * Expectations in kernel order; by default of every family
   * (`conntrack -L expect` lists IPv4 unless `-f ipv6`).
   */
  dumpExpectations(options: { family?: number; signal?: AbortSignal } = {}): AsyncGenerator<Expectation> {
    return this.wholeDump(options.signal, (query) => expectations.dumpExpectations(query, options.family ?? 0));
  }

  /** The expectation whose expected tuple is `tuple`; undefined when there is none. `conntrack -G expect`. */
  async getExpectation(tuple: Tuple, lookup: ExpectationLookup = {}): Promise<Expectation | undefined> {
    return expectations.getExpectation(this.query(), tuple, lookup);
  }

  /**
   * Creates an expectation (`conntrack -I expect`). The master must exist
   * and have a helper (ENOENT, EOPNOTSUPP otherwise); the helper's policy
   * may replace the timeout and evict older expectations of the master.
   * With `exclusive: false` an existing one only gets the new timeout.
   */
  async createExpectation(exp: NewExpectation, options: { exclusive?: boolean } = {}): Promise<void> {
    await expectations.createExpectation(this.modify(), exp, options.exclusive ?? true);
  }

  /** Deletes the expectation with this expected tuple; false when there is none. `conntrack -D expect`. */
  async deleteExpectation(tuple: Tuple, lookup: ExpectationLookup = {}): Promise<boolean> {
    return expectations.deleteExpectation(this.modify(), tuple, lookup);
  }

  /** Deletes every expectation of every family, or those of one helper's masters. `conntrack -F expect`. */
  async flushExpectations(options: { helper?: string } = {}): Promise<void> {
    await expectations.flushExpectations(this.modify(), options.helper);
  }

  /** Per-CPU expectation counters (`conntrack -S expect`): CTA_STATS_EXP_NEW, _CREATE, _DELETE. */
  async expectationStats(): Promise<CpuStats[]> {
    return this.cpuStats(expectationStatsRequest, EXPECTATION_STATS_NAMES);
  }

  /**
   * Expectation events (`conntrack -E expect`) on a socket of their own,
   * until `close()`. The kernel reports an expectation only when its master
   * was created while events were on (`net.netfilter.nf_conntrack_events=1`,
   * or the default 2 with a listener already present).
   */
  expectationEvents(options: Omit<EventStreamOptions, 'netns'> = {}): EventStream<ExpectationEvent> {
    if (this.closed) throw closedError();
    return this.track(expectations.expectationEvents({ ...options, netns: this.options.netns }));
  }

  /**
   * Conntrack events (`conntrack -E`) on a socket of their own, until
   * `close()` or `options.signal` aborts: NEW, UPDATE and DESTROY as
   * `options.mask` selects, filtered like dumps. Where the kernel had to drop
   * events, an EventsLost item (and 'lost' event) says how many. The kernel
   * reports an entry's events only if they were on when it was created
   * (`net.netfilter.nf_conntrack_events=1`, or the default 2 with a listener
   * present then).
   */
  events(options: EventOptions = {}): EventStream<ConntrackEvent> {
    if (this.closed) throw closedError();
    return this.track(conntrackEvents({ ...options, netns: this.options.netns }));
  }

  /**
   * Conntrack events undecoded (RawConntrackEvent: type, portid, family and a
   * copy of the attributes), on a socket of their own until `close()`: for
   * listeners that store entries compactly. No userspace filter; a classic
   * BPF program in `options.kernelFilter` filters in the kernel. The receive
   * buffer is the kernel's default unless `options.bufferSize` says otherwise.
   */
  rawEvents(options: RawEventOptions = {}): EventStream<RawConntrackEvent> {
    if (this.closed) throw closedError();
    return this.track(rawConntrackEvents({ ...options, netns: this.options.netns }));
  }

  /**
   * Netlink port ids of the sockets this instance has opened so far. Events
   * carry the port id of the socket whose request caused them
   * (ConntrackEvent.portid), so a listener tells its own changes (a flush,
   * a commit) from everybody else's with these.
   */
  portIds(): number[] {
    return [...this.sockets.values()].map((socket) => socket.portid);
  }

  /**
   * Whether `portid` is the port id of one of this instance's sockets: an
   * event this instance caused. portIds().includes(), without the array (a
   * daemon asks for every event).
   */
  ownsPort(portid: number): boolean {
    if (portid === 0) return false;
    for (const socket of this.sockets.values()) if (socket.portid === portid) return true;
    return false;
  }

  /**
   * Closes the sockets and ends the event streams this object opened (their
   * `for await` loops finish); requests still in flight fail. Afterwards
   * every method fails with NetlinkError EBADF ('the Conntrack is closed').
   */
  close(): void {
    this.closed = true;
    this.queryChannel?.close();
    this.modifyChannel?.close();
    this.queryChannel = this.modifyChannel = undefined;
    this.sockets.clear();
    for (const stream of this.streams) stream.close();
  }

  /** close(), for `using ct = Conntrack.open()`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** close(), for `await using ct = Conntrack.open()`. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  private track<T>(stream: EventStream<T>): EventStream<T> {
    this.streams.add(stream);
    stream.once('close', () => this.streams.delete(stream));
    return stream;
  }

  /** One message per CPU (res_id = the CPU), its counters in wire order. */
  /** A per-CPU dump; an abort ends it as it ends any dump (see wholeDump). */
  private async cpuStats(request: (seq: number) => Buffer, names: readonly string[], signal?: AbortSignal): Promise<CpuStats[]> {
    const decode = (m: MessageCursor): CpuStats => {
      const counters = decodeStats(m.buf, m.payload + NFGENMSG_LEN, m.end);
      const named: Record<string, number> = {};
      for (const { type, value } of counters) if (names[type - 1] !== undefined) named[names[type - 1]!] = value;
      return { cpu: m.buf.readUInt16BE(m.payload + 2), counters, named };
    };
    const all: CpuStats[] = [];
    for await (const batch of this.wholeDump(signal, async function* (query) {
      const seq = query.nextSeq();
      yield* query.dump(request(seq), seq, decode);
    })) {
      all.push(...batch);
    }
    return all;
  }

  /**
   * What a dump sends the kernel for `filter` and what is left to check here.
   * Only the main table takes kernel filters; tuple filters only after the
   * probe said the kernel understands them.
   */
  private async dumpPlans(input: FlowFilterInput, options: DumpOptions): Promise<DumpPlan[]> {
    const filter = toFilter(input);
    const table = options.table ?? 'conntrack';
    const main = table === 'conntrack';
    const split = main && filter.family === undefined && PER_FAMILY.some((family) => usesTupleFilter({ ...filter, family }));
    const kernel = main && (split || usesTupleFilter(filter)) ? await this.filterSupport() : NO_TUPLE_FILTER;
    this.readAhead(this.query());
    // The kernel compares tuple fields only in a dump of one family: rather than
    // bring every entry of an all-family dump to userspace, ask for each family.
    const filters = split && kernel.tupleFilter ? PER_FAMILY.map((family) => ({ ...filter, family })) : [filter];
    return filters.map((f) => this.dumpPlan(f, table, options.zero, kernel));
  }

  private dumpPlan(filter: FlowFilter, table: Table, zero: boolean | undefined, kernel: KernelFilterSupport): DumpPlan {
    const seq = this.query().nextSeq();
    const request = dumpRequest(seq, { table, zero, filter, kernel });
    if ((table === 'conntrack' && kernelCovers(filter, kernel)) || matchesAll(filter)) {
      return { request, seq, match: undefined, prefilter: undefined };
    }
    // The byte-level prefilter only skips decoding; the predicate always re-checks,
    // so a result never depends on which path ran (a prefilter marked exact let
    // non-matching entries through: test/kernel/library.test.ts).
    return { request, seq, match: compileFilter(filter), prefilter: compileWirePrefilter(filter) };
  }

  private filterSupport(): Promise<KernelFilterSupport> {
    this.kernelFilter ??= this.probeFilter().catch((err: unknown) => {
      this.kernelFilter = undefined;
      throw err;
    });
    return this.kernelFilter;
  }

  private async probeFilter(): Promise<KernelFilterSupport> {
    const channel = this.query();
    const seq = channel.nextSeq();
    const w = new MessageWriter();
    writeFilterProbe(w, seq);
    try {
      await channel.request(w.toBuffer(), seq);
    } catch (err) {
      if (err instanceof NetlinkError) return kernelSupportFromProbeError(err.positiveErrno);
      throw err;
    }
    return kernelSupportFromProbeError(0);
  }

  /**
   * Dumps receive on a second core (NetlinkSocket.readAhead): the kernel's
   * share of a dump runs inside the recvmsg calls. Not changes: the kernel
   * makes their replies inside sendmsg, so they are waiting when it returns.
   */
  private readAhead(channel: NetlinkChannel): void {
    this.sockets.get(channel)?.readAhead(READ_AHEAD);
  }

  /** Dumps and lookups. */
  private query(): NetlinkChannel {
    if (this.closed) throw closedError();
    this.queryChannel ??= this.openChannel(false);
    return this.queryChannel;
  }

  /**
   * Changes go on their own socket, so a paused dump (backpressure) never
   * holds back the ACKs of deletes made from it.
   */
  private modify(): NetlinkChannel {
    if (this.closed) throw closedError();
    this.modifyChannel ??= this.openChannel(true);
    return this.modifyChannel;
  }

  /**
   * The modify socket, for a bulk change: its requests leave from a thread
   * of their own (NetlinkSocket.sendBehind), because the kernel makes each
   * change inside the sendmsg() that carries it, and the next batch can be
   * written meanwhile.
   */
  private bulkModify(): NetlinkChannel {
    const channel = this.modify();
    this.sockets.get(channel)?.sendBehind();
    return channel;
  }

  private openChannel(pipelined: boolean): NetlinkChannel {
    const settings = { familyHeaderLength: NFGENMSG_LEN, maxInFlight: pipelined ? PIPELINE_DEPTH : undefined };
    if (this.options.transport) return new NetlinkChannel(this.options.transport(), settings);
    const socket = NetlinkSocket.open({ netns: this.options.netns });
    try {
      socket.trySetOption(NetlinkOption.EXT_ACK, 1);
      if (pipelined) {
        // Errors then echo only the request's header, not all of it.
        socket.trySetOption(NetlinkOption.CAP_ACK, 1);
        socket.setReceiveBuffer(MODIFY_RCVBUF);
      }
    } catch (err) {
      socket.close();
      throw err;
    }
    const channel = new NetlinkChannel(socket, settings);
    this.sockets.set(channel, socket);
    return channel;
  }
}
