import { NetlinkChannel } from '../netlink/channel';
import { NetlinkOption } from '../netlink/constants';
import { NetlinkError } from '../netlink/errors';
import type { MessageCursor } from '../netlink/messages';
import { NetlinkSocket } from '../netlink/socket';
import { messageType, NFGENMSG_LEN, Subsystem } from '../nfnetlink/header';
import { CtMsg } from '../ctnetlink/constants';
import type { FlowFilter } from '../ctnetlink/filter';
import { compileFilter } from '../ctnetlink/filter-match';
import type { Flow } from '../ctnetlink/flow';
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
import { invertTuple } from '../ctnetlink/tuple';
import { hasTupleFields } from '../ctnetlink/tuple-codec';

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
const ENOENT = 2;

/** Pipelined requests share this receive buffer for their ACKs and replies. */
const MODIFY_RCVBUF = 4 * 1024 * 1024;

function decodeEntry(m: MessageCursor): Flow | undefined {
  if (m.type !== CT_NEW || m.end - m.payload < NFGENMSG_LEN) return undefined;
  return decodeFlow(m.buf, m.payload + NFGENMSG_LEN, m.end, m.buf[m.payload]!);
}

function isNotFound(err: unknown): boolean {
  return err instanceof NetlinkError && err.positiveErrno === ENOENT;
}

/**
 * The conntrack table of one network namespace, over ctnetlink.
 *
 * Reads stream (`dump` is an async iterable whose memory stays flat for any
 * table size) and writes pipeline: start many `delete`/`create`/`update`
 * calls before awaiting them and they share sendmsg calls, like a batch.
 * Methods throw NetlinkError (`code`, `errno`, kernel's extended-ack text);
 * nothing here prints or exits.
 *
 * Needs CAP_NET_ADMIN in the namespace for everything but nothing at open.
 */
export class Conntrack {
  private queryChannel: NetlinkChannel | undefined;
  private modifyChannel: NetlinkChannel | undefined;

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
    const channel = this.query();
    const seq = channel.nextSeq();
    const match = compileFilter(filter);
    const request = dumpRequest(seq, { table: options.table, zero: options.zero, filter });
    for await (const batch of channel.dump(request, seq, decodeEntry)) {
      const kept = batch.filter(match);
      if (kept.length > 0) yield kept;
    }
  }

  /** Entries of a table in kernel order, one at a time. */
  async *dump(filter: FlowFilter = {}, options: DumpOptions = {}): AsyncGenerator<Flow> {
    for await (const batch of this.dumpBatches(filter, options)) yield* batch;
  }

  /**
   * One entry by its tuple (original, and reply if given) and zone; undefined
   * when there is none. `conntrack -G`.
   */
  async get(template: Flow): Promise<Flow | undefined> {
    const channel = this.query();
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
    // The kernel wants both directions; without NAT the reply is the mirror image.
    const complete = hasTupleFields(flow.reply) ? flow : { ...flow, reply: invertTuple(flow.orig) };
    await channel.request(createRequest(seq, complete, options.exclusive ?? true), seq);
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
    const channel = this.modify();
    const seq = channel.nextSeq();
    try {
      await channel.request(deleteRequest(seq, flow), seq);
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
    let count = 0;
    for await (const deleted of this.deleteMatching(filter)) count += deleted.length;
    return count;
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
    const channel = this.query();
    const seq = channel.nextSeq();
    const all: CpuStats[] = [];
    for await (const batch of channel.dump(cpuStatsRequest(seq), seq, (m) => ({
      cpu: m.buf.readUInt16BE(m.payload + 2),
      counters: decodeStats(m.buf, m.payload + NFGENMSG_LEN, m.end),
    }))) {
      all.push(...batch);
    }
    return all;
  }

  /** Closes the sockets; requests still in flight fail. */
  close(): void {
    this.queryChannel?.close();
    this.modifyChannel?.close();
    this.queryChannel = this.modifyChannel = undefined;
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
    return new NetlinkChannel(socket, { familyHeaderLength: NFGENMSG_LEN });
  }
}
