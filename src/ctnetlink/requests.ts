import { AttributeCursor, MessageWriter } from '../netlink/attributes';
import { MessageFlags, NLA_HDRLEN, NLMSG_HDRLEN } from '../netlink/constants';
import { beginNfMessage, NFGENMSG_LEN, Subsystem } from '../nfnetlink/header';
import { CtAttr, CtMsg } from './constants';
import type { FlowFilter } from './filter';
import { encodeDumpFilter, type KernelFilterSupport } from './filter-kernel';
import type { Flow } from './flow';
import { encodeFlow, encodeTuple } from './flow-codec';
import { invertTuple } from './tuple';
import { hasTupleFields } from './tuple-codec';
import { Status } from './status';
import { Slot, TupleField, type WireEntry } from './wire-entry';

/**
 * Builders for every conntrack request, one complete netlink message each
 * (pure: bytes in, bytes out; the request engine sends them).
 */

/** Which list a dump walks. */
export type Table = 'conntrack' | 'dying' | 'unconfirmed';

const dumpMsg: Record<Table, CtMsg> = {
  conntrack: CtMsg.GET,
  dying: CtMsg.GET_DYING,
  unconfirmed: CtMsg.GET_UNCONFIRMED,
};

const REQUEST_ACK = MessageFlags.REQUEST | MessageFlags.ACK;

function finish(w: MessageWriter, start: number): Buffer {
  w.endMessage(start);
  return w.toBuffer();
}

export interface DumpRequest {
  table?: Table;
  /** Read and reset the counters (IPCTNL_MSG_CT_GET_CTRZERO); `conntrack -L -z`. */
  zero?: boolean;
  /** Kernel-side selection; the caller still re-checks every entry in userspace. */
  filter?: FlowFilter;
  kernel?: KernelFilterSupport;
}

/** A dump of a conntrack list; nfgen_family is the family filter (0 = all). */
export function dumpRequest(seq: number, req: DumpRequest): Buffer {
  const w = new MessageWriter();
  const table = req.table ?? 'conntrack';
  const msg = req.zero && table === 'conntrack' ? CtMsg.GET_CTRZERO : dumpMsg[table];
  const start = beginNfMessage(w, Subsystem.CTNETLINK, msg, MessageFlags.REQUEST | MessageFlags.DUMP, seq, req.filter?.family ?? 0);
  // 1.4.7 sends mark/status filters only for the main list; dying/unconfirmed take none.
  if (req.filter && table === 'conntrack') encodeDumpFilter(w, req.filter, req.kernel ?? { tupleFilter: false });
  return finish(w, start);
}

/** Looks one entry up by its tuple(s) and zone. */
export function getRequest(seq: number, template: Flow): Buffer {
  const w = new MessageWriter();
  writeGetRequest(w, seq, template);
  return w.toBuffer();
}

/** Appends getRequest()'s message to `w` (a batch of requests). */
export function writeGetRequest(w: MessageWriter, seq: number, template: Flow): void {
  const start = beginNfMessage(w, Subsystem.CTNETLINK, CtMsg.GET, REQUEST_ACK, seq, template.family);
  encodeFlow(w, template);
  w.endMessage(start);
}

/**
 * Creates an entry. `exclusive` (NLM_F_EXCL) makes an existing entry an error
 * (EEXIST); without it the kernel updates the existing entry instead. A
 * missing reply tuple is the mirror image of the original (no NAT).
 */
export function createRequest(seq: number, flow: Flow, exclusive: boolean): Buffer {
  const w = new MessageWriter();
  writeCreateRequest(w, seq, flow, exclusive);
  return w.toBuffer();
}

/**
 * createRequest() into one reused buffer: for callers that encode many
 * creates and keep only the bytes (`conntrack -R` spools them), with no
 * allocation per request. The result is valid until the next call.
 */
export class CreateEncoder {
  private readonly w = new MessageWriter(512);

  encode(flow: Flow, exclusive: boolean): Buffer {
    this.w.reset();
    writeCreateRequest(this.w, 0, flow, exclusive);
    return this.w.view();
  }
}

/** Appends createRequest()'s message to `w` (a batch of requests). */
export function writeCreateRequest(w: MessageWriter, seq: number, flow: Flow, exclusive: boolean): void {
  const start = beginCreateRequest(w, seq, flow.family, exclusive);
  // The kernel refuses to create an entry whose status lacks IPS_CONFIRMED (EBUSY).
  // The status is passed apart: a spread copy of the flow makes encoding several times slower.
  const status = (flow.status ?? 0) | Status.CONFIRMED;
  encodeFlow(w, hasTupleFields(flow.reply) ? flow : { ...flow, reply: invertTuple(flow.orig) }, status);
  w.endMessage(start);
}

/**
 * Starts a create request in `w`: its attributes follow, then
 * `w.endMessage(start)` with the offset returned. For writers of an entry's
 * attributes that have no Flow to give writeCreateRequest().
 */
export function beginCreateRequest(w: MessageWriter, seq: number, family: number, exclusive: boolean): number {
  const flags = REQUEST_ACK | MessageFlags.CREATE | (exclusive ? MessageFlags.EXCL : 0);
  return beginNfMessage(w, Subsystem.CTNETLINK, CtMsg.NEW, flags, seq, family);
}

/** Changes an existing entry, found by its tuple; only the attributes present change. */
export function updateRequest(seq: number, flow: Flow): Buffer {
  const w = new MessageWriter();
  writeUpdateRequest(w, seq, flow);
  return w.toBuffer();
}

/** Appends updateRequest()'s message to `w` (a batch of requests). */
export function writeUpdateRequest(w: MessageWriter, seq: number, flow: Flow): void {
  const start = beginNfMessage(w, Subsystem.CTNETLINK, CtMsg.NEW, REQUEST_ACK, seq, flow.family);
  // Clearing IPS_CONFIRMED is refused (EBUSY), so a status change keeps it set.
  encodeFlow(w, flow, flow.status === undefined ? undefined : flow.status | Status.CONFIRMED);
  w.endMessage(start);
}

/**
 * Deletes one entry: its original tuple, zone and, when known, its id. The id
 * makes the delete exact: if the entry died and a new one took its tuple
 * meanwhile, the kernel answers ENOENT instead of deleting the newcomer.
 */
export function deleteRequest(seq: number, flow: Flow): Buffer {
  const w = new MessageWriter();
  const start = beginNfMessage(w, Subsystem.CTNETLINK, CtMsg.DELETE, REQUEST_ACK, seq, flow.family);
  encodeTuple(w, CtAttr.TUPLE_ORIG, flow.orig);
  if (flow.zone !== undefined) w.u16be(CtAttr.ZONE, flow.zone);
  if (flow.id !== undefined) w.u32be(CtAttr.ID, flow.id);
  return finish(w, start);
}

/**
 * Appends to `w` (a batch of requests) the delete of an entry as dumped,
 * without decoding it: its original tuple attribute is copied as the kernel
 * sent it, then CTA_ZONE and CTA_ID.
 */
export function writeDeleteFor(w: MessageWriter, seq: number, entry: WireEntry): void {
  entry.index();
  const start = beginNfMessage(w, Subsystem.CTNETLINK, CtMsg.DELETE, REQUEST_ACK, seq, entry.family);
  const tuple = entry.at[Slot.ORIG + TupleField.ATTR]!;
  if (tuple >= 0) w.raw(entry.buf.subarray(tuple, tuple + entry.len[Slot.ORIG + TupleField.ATTR]!));
  if (entry.has(Slot.ZONE)) w.u16be(CtAttr.ZONE, entry.u16(Slot.ZONE));
  if (entry.has(Slot.ID)) w.u32be(CtAttr.ID, entry.u32(Slot.ID));
  w.endMessage(start);
}

/**
 * Appends to `w` the delete of the entry that `create` (a createRequest()
 * message) made: its original tuple and zone attributes, copied.
 */
export function writeDeleteOfCreate(w: MessageWriter, seq: number, create: Buffer): void {
  const family = create[NLMSG_HDRLEN]!;
  const start = beginNfMessage(w, Subsystem.CTNETLINK, CtMsg.DELETE, REQUEST_ACK, seq, family);
  const attrs = new AttributeCursor(create, NLMSG_HDRLEN + NFGENMSG_LEN, create.readUInt32LE(0));
  while (attrs.next()) {
    if (attrs.type === CtAttr.TUPLE_ORIG || attrs.type === CtAttr.ZONE) {
      w.raw(create.subarray(attrs.offset - NLA_HDRLEN, attrs.offset + attrs.length));
    }
  }
  w.endMessage(start);
}

/**
 * Empties the table. A version-0 flush ignores nfgen_family, so every family
 * goes (what `conntrack -F` does).
 */
export function flushRequest(seq: number, family = 0): Buffer {
  const w = new MessageWriter();
  const start = beginNfMessage(w, Subsystem.CTNETLINK, CtMsg.DELETE, REQUEST_ACK, seq, family);
  return finish(w, start);
}

/** The namespace's global counters (entries, max entries); `conntrack -C`. */
export function globalStatsRequest(seq: number): Buffer {
  const w = new MessageWriter();
  const start = beginNfMessage(w, Subsystem.CTNETLINK, CtMsg.GET_STATS, REQUEST_ACK, seq, 0);
  return finish(w, start);
}

/** One message per CPU with its counters; `conntrack -S`. */
export function cpuStatsRequest(seq: number): Buffer {
  const w = new MessageWriter();
  const start = beginNfMessage(w, Subsystem.CTNETLINK, CtMsg.GET_STATS_CPU, MessageFlags.REQUEST | MessageFlags.DUMP, seq, 0);
  return finish(w, start);
}
