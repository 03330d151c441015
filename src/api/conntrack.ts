import { align, MessageWriter } from '../netlink/attributes';
import { NetlinkChannel, type BatchHandler } from '../netlink/channel';
import { NetlinkOption, NLMSG_HDRLEN } from '../netlink/constants';
import { DumpInterruptedError, isNotFound, NetlinkError, ProtocolError } from '../netlink/errors';
import type { MessageCursor } from '../netlink/messages';
import { NetlinkSocket } from '../netlink/socket';
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
import { decodeFlow } from '../ctnetlink/flow-codec';
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
import { BulkDelete } from './bulk-delete';
import { conntrackEvents, rawConntrackEvents, type EventOptions, type RawConntrackEvent, type RawEventOptions } from './events';
import * as expectations from './expectations';
import type { ExpectationLookup, NewExpectation } from './expectations';

export interface ConntrackOptions {
  /** Network namespace to work in: a name under /run/netns (as `ip netns` makes) or a path. */
  netns?: string;
}

export interface DumpOptions {
  /** `conntrack` (default), or the transient `dying` / `unconfirmed` lists. */
  table?: Table;
  /** Reset the counters while reading them (`conntrack -L -z`). */
  zero?: boolean;
}

/** One CPU's conntrack counters (`conntrack -S`): CTA_STATS_* type -> value, in kernel order. */
export interface CpuStats {
  cpu: number;
  counters: Array<{ type: number; value: number }>;
}

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

function decodeEntry(m: MessageCursor): Flow | undefined {
  if (m.type !== CT_NEW || m.end - m.payload < NFGENMSG_LEN) return undefined;
  return decodeFlow(m.buf, m.payload + NFGENMSG_LEN, m.end, m.buf[m.payload]!);
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
 * Needs CAP_NET_ADMIN in the namespace for everything but nothing at open.
 */
export class Conntrack {
  private queryChannel: NetlinkChannel | undefined;
  private modifyChannel: NetlinkChannel | undefined;
  private readonly sockets = new Map<NetlinkChannel, NetlinkSocket>();
  /** What the kernel filters in dumps: probed once, by the first dump that could use CTA_FILTER. */
  private kernelFilter: Promise<KernelFilterSupport> | undefined;

  private constructor(private readonly options: ConntrackOptions) {}

  /** Opens the table; sockets are created on first use. */
  static open(options: ConntrackOptions = {}): Conntrack {
    return new Conntrack(options);
  }

  /**
   * Entries of a table in kernel order, one array per received datagram —
   * the cheapest way to walk a big table. `conntrack -L`.
   */
  async *dumpBatches(filter: FlowFilter = {}, options: DumpOptions = {}): AsyncGenerator<Flow[]> {
    let interrupted: DumpInterruptedError | undefined;
    for (const { request, seq, match } of await this.dumpPlans(filter, options)) {
      try {
        for await (const batch of this.query().dump(request, seq, decodeEntry)) {
          const kept = match ? batch.filter(match) : batch;
          if (kept.length > 0) yield kept;
        }
      } catch (err) {
        interrupted = laterDumps(err);
      }
    }
    if (interrupted) throw interrupted;
  }

  /**
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
  async dumpRaw(filter: FlowFilter, options: DumpOptions, visit: (entry: WireEntry) => void): Promise<number> {
    const entry = new WireEntry();
    let visited = 0;
    let interrupted: DumpInterruptedError | undefined;
    for (const { request, seq, match, prefilter } of await this.dumpPlans(filter, options)) {
      try {
        await this.query().request(request, seq, (m) => {
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
    if (interrupted) throw interrupted;
    return visited;
  }

  /** Entries of a table in kernel order, one at a time. */
  async *dump(filter: FlowFilter = {}, options: DumpOptions = {}): AsyncGenerator<Flow> {
    for await (const batch of this.dumpBatches(filter, options)) yield* batch;
  }

  /**
   * One entry by its tuple (original, and reply if given) and zone; undefined
   * when there is none. `conntrack -G`. Asked on the modify socket: `-U`
   * reads each entry back while its dump holds the query socket unread
   * (backpressure), where the answer would never be read.
   */
  async get(template: Flow): Promise<Flow | undefined> {
    const channel = this.modify();
    const seq = channel.nextSeq();
    let found: Flow | undefined;
    try {
      await channel.request(getRequest(seq, template), seq, (m) => {
        found = decodeEntry(m) ?? found;
      });
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
  async create(flow: Flow, options: { exclusive?: boolean } = {}): Promise<void> {
    const channel = this.modify();
    const seq = channel.nextSeq();
    await channel.request(createRequest(seq, flow, options.exclusive ?? true), seq);
  }

  /**
   * Sends `count` complete requests packed in `messages` (each asking for an
   * ACK; their sequence numbers are written here) as one batch on the modify
   * socket; `handler` gets each answer by the request's index. The caller
   * bounds how many are unanswered. For bulk loads (`conntrack -R`): nothing
   * is allocated per request.
   */
  submitBatch(messages: Buffer, count: number, handler: BatchHandler): void {
    const channel = this.modify();
    const first = channel.reserveSeqs(count);
    for (let at = 0, seq = first; at < messages.length; seq++) {
      const length = messages.readUInt32LE(at);
      // A header that does not fit would loop forever or write past the buffer.
      if (length < NLMSG_HDRLEN || at + length > messages.length) throw new ProtocolError(`batch message at ${at} has length ${length}`);
      messages.writeUInt32LE(seq, at + 8);
      at += align(length);
    }
    channel.submitBatch(messages, first, count, handler);
  }

  /** Changes the attributes present in `flow` of the entry with its original tuple. `conntrack -U`. */
  async update(flow: Flow): Promise<void> {
    const channel = this.modify();
    const seq = channel.nextSeq();
    await channel.request(updateRequest(seq, flow), seq);
  }

  /**
   * Deletes one entry (exactly that one when `flow.id` is set). Resolves false
   * when it no longer exists — in a busy table entries vanish between a dump
   * and a delete, and that is not an error.
   */
  async delete(flow: Flow): Promise<boolean> {
    return this.deleteBy((seq) => deleteRequest(seq, flow));
  }

  /**
   * Runs `apply` on every entry a dump keeps while the dump goes on and hands
   * the results to `emit` in dump order, skipping undefined ones: the engine
   * of bulk changes (`conntrack -D`, `-U`). Up to PIPELINE_DEPTH applications
   * are unfinished at a time, so their requests leave many per sendmsg; past
   * that the dump pauses. `apply` gets the reused WireEntry, valid only until
   * it returns (copy what the result needs). The first failure of `apply` or
   * `emit` ends the dump and rejects; resolves with the number emitted.
   */
  async pipeline<R>(
    filter: FlowFilter,
    apply: (entry: WireEntry) => Promise<R | undefined>,
    emit: (result: R) => void,
  ): Promise<number> {
    const query = this.query();
    const window: { done: boolean; value: R | undefined }[] = [];
    let failed = false;
    let failure: unknown;
    let held = false;
    let emitted = 0;
    let drained: (() => void) | undefined;
    const fail = (err: unknown): void => {
      if (failed) return;
      failed = true;
      failure = err;
    };
    const release = (): void => {
      if (held) {
        held = false;
        query.releaseReading();
      }
    };
    const settle = (): void => {
      while (window.length > 0 && window[0]!.done && !failed) {
        const { value } = window.shift()!;
        if (value === undefined) continue;
        try {
          emit(value);
          emitted++;
        } catch (err) {
          fail(err);
        }
      }
      if (failed || window.length <= PIPELINE_DEPTH / 2) release();
      if (failed || window.length === 0) drained?.();
    };
    try {
      await this.dumpRaw(filter, {}, (entry) => {
        if (failed) throw failure;
        const slot: { done: boolean; value: R | undefined } = { done: false, value: undefined };
        window.push(slot);
        apply(entry).then(
          (value) => {
            slot.value = value;
            slot.done = true;
            settle();
          },
          (err: unknown) => {
            fail(err);
            settle();
          },
        );
        if (!held && window.length >= PIPELINE_DEPTH) {
          held = true;
          query.holdReading();
        }
      });
      if (window.length > 0 && !failed) await new Promise<void>((resolve) => (drained = resolve));
    } finally {
      release();
    }
    if (failed) throw failure;
    return emitted;
  }

  /**
   * Deletes every matching entry and shows each deleted one to `visit` (as it
   * was dumped, in kernel order) once the kernel confirmed it. Entries that
   * vanish meanwhile are skipped. Deletes travel pipelined while the dump goes
   * on. Resolves with the number deleted. `conntrack -D`.
   */
  async deleteEach(filter: FlowFilter, visit: (deleted: WireEntry) => void): Promise<number> {
    const query = this.query();
    const bulk = new BulkDelete(this.modify(), PIPELINE_DEPTH, visit, () => query.holdReading(), () => query.releaseReading());
    try {
      await this.dumpRaw(filter, {}, (entry) => bulk.add(entry));
    } catch (err) {
      // An interrupted dump still saw every entry: finish what it started, then report it.
      if (err instanceof DumpInterruptedError) await bulk.finish();
      else bulk.fail(err);
      throw err;
    }
    return bulk.finish();
  }

  /**
   * Deletes every entry that `select` picks and shows each deleted one to
   * `visit`, like deleteEach() with a predicate of the caller's instead of a
   * FlowFilter (conntrackd's `-F` keeps what its own filter ignores).
   * `select` gets the reused WireEntry, valid only during the call.
   * Resolves with the number deleted.
   */
  async deleteWhere(select: (entry: WireEntry) => boolean, visit: (deleted: WireEntry) => void = () => {}): Promise<number> {
    const query = this.query();
    const bulk = new BulkDelete(this.modify(), PIPELINE_DEPTH, visit, () => query.holdReading(), () => query.releaseReading());
    try {
      await this.dumpRaw({}, {}, (entry) => {
        if (select(entry)) bulk.add(entry);
      });
    } catch (err) {
      if (err instanceof DumpInterruptedError) await bulk.finish();
      else bulk.fail(err);
      throw err;
    }
    return bulk.finish();
  }

  /** Sends one delete; false when the entry was gone already (ENOENT). */
  private async deleteBy(request: (seq: number) => Buffer): Promise<boolean> {
    const channel = this.modify();
    const seq = channel.nextSeq();
    try {
      await channel.request(request(seq), seq);
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /**
   * Deletes every entry that matches, yielding the deleted ones per dumped
   * batch in kernel order. Deletes of a batch are in flight together while
   * the dump goes on. `conntrack -D`.
   */
  async *deleteMatching(filter: FlowFilter = {}): AsyncGenerator<Flow[]> {
    for await (const batch of this.dumpBatches(filter)) {
      const done = await Promise.all(batch.map((flow) => this.delete(flow)));
      const deleted = batch.filter((_, i) => done[i]);
      if (deleted.length > 0) yield deleted;
    }
  }

  /**
   * Empties the table in one request (`conntrack -F`), or, with a filter,
   * deletes the matching entries and returns how many went.
   */
  async flush(filter?: FlowFilter): Promise<number | undefined> {
    if (filter === undefined) {
      const channel = this.modify();
      const seq = channel.nextSeq();
      await channel.request(flushRequest(seq), seq);
      return undefined;
    }
    return this.deleteEach(filter, () => {});
  }

  /** Number of entries in the namespace's table (`conntrack -C`). */
  async count(): Promise<number> {
    const channel = this.query();
    const seq = channel.nextSeq();
    let entries: number | undefined;
    await channel.request(globalStatsRequest(seq), seq, (m) => {
      for (const s of decodeStats(m.buf, m.payload + NFGENMSG_LEN, m.end)) {
        if (s.type === 1 /* CTA_STATS_GLOBAL_ENTRIES */) entries = s.value;
      }
    });
    if (entries === undefined) throw new NetlinkError(61 /* ENODATA */, 'recvmsg', 'no CTA_STATS_GLOBAL_ENTRIES in the reply');
    return entries;
  }

  /** Per-CPU counters (`conntrack -S`). */
  async stats(): Promise<CpuStats[]> {
    return this.cpuStats(cpuStatsRequest);
  }

  /**
   * Expectations in kernel order; by default of every family
   * (`conntrack -L expect` lists IPv4 unless `-f ipv6`).
   */
  dumpExpectations(options: { family?: number } = {}): AsyncGenerator<Expectation> {
    return expectations.dumpExpectations(this.query(), options.family ?? 0);
  }

  /** The expectation whose expected tuple is `tuple`; undefined when there is none. `conntrack -G expect`. */
  getExpectation(tuple: Tuple, lookup: ExpectationLookup = {}): Promise<Expectation | undefined> {
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
  deleteExpectation(tuple: Tuple, lookup: ExpectationLookup = {}): Promise<boolean> {
    return expectations.deleteExpectation(this.modify(), tuple, lookup);
  }

  /** Deletes every expectation of every family, or those of one helper's masters. `conntrack -F expect`. */
  async flushExpectations(options: { helper?: string } = {}): Promise<void> {
    await expectations.flushExpectations(this.modify(), options.helper);
  }

  /** Per-CPU expectation counters (`conntrack -S expect`): CTA_STATS_EXP_NEW, _CREATE, _DELETE. */
  async expectationStats(): Promise<CpuStats[]> {
    return this.cpuStats(expectationStatsRequest);
  }

  /**
   * Expectation events (`conntrack -E expect`) on a socket of their own,
   * until `close()`. The kernel reports an expectation only when its master
   * was created while events were on (`net.netfilter.nf_conntrack_events=1`,
   * or the default 2 with a listener already present).
   */
  expectationEvents(options: Omit<EventStreamOptions, 'netns'> = {}): EventStream<ExpectationEvent> {
    return expectations.expectationEvents({ ...options, netns: this.options.netns });
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
    return conntrackEvents({ ...options, netns: this.options.netns });
  }

  /**
   * Conntrack events undecoded (RawConntrackEvent: type, portid, family and a
   * copy of the attributes), on a socket of their own until `close()`: for
   * listeners that store entries compactly. No userspace filter; a classic
   * BPF program in `options.kernelFilter` filters in the kernel. The receive
   * buffer is the kernel's default unless `options.bufferSize` says otherwise.
   */
  rawEvents(options: RawEventOptions = {}): EventStream<RawConntrackEvent> {
    return rawConntrackEvents({ ...options, netns: this.options.netns });
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

  /** Closes the sockets; requests still in flight fail. */
  close(): void {
    this.queryChannel?.close();
    this.modifyChannel?.close();
    this.queryChannel = this.modifyChannel = undefined;
    this.sockets.clear();
  }

  /** One message per CPU (res_id = the CPU), its counters in wire order. */
  private async cpuStats(request: (seq: number) => Buffer): Promise<CpuStats[]> {
    const channel = this.query();
    const seq = channel.nextSeq();
    const all: CpuStats[] = [];
    for await (const batch of channel.dump(request(seq), seq, (m) => ({
      cpu: m.buf.readUInt16BE(m.payload + 2),
      counters: decodeStats(m.buf, m.payload + NFGENMSG_LEN, m.end),
    }))) {
      all.push(...batch);
    }
    return all;
  }

  /**
   * What a dump sends the kernel for `filter` and what is left to check here.
   * Only the main table takes kernel filters; tuple filters only after the
   * probe said the kernel understands them.
   */
  private async dumpPlans(filter: FlowFilter, options: DumpOptions): Promise<DumpPlan[]> {
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
    this.queryChannel ??= this.openChannel(false);
    return this.queryChannel;
  }

  /**
   * Changes go on their own socket, so a paused dump (backpressure) never
   * holds back the ACKs of deletes made from it.
   */
  private modify(): NetlinkChannel {
    this.modifyChannel ??= this.openChannel(true);
    return this.modifyChannel;
  }

  private openChannel(pipelined: boolean): NetlinkChannel {
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
    const channel = new NetlinkChannel(socket, { familyHeaderLength: NFGENMSG_LEN, maxInFlight: pipelined ? PIPELINE_DEPTH : undefined });
    this.sockets.set(channel, socket);
    return channel;
  }
}
