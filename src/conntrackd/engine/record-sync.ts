/**
 * The sync attributes of a cached flow, written straight from its record
 * (record.ts). The primary sends a message for every change of every flow:
 * decoding each record into a Flow (address text, nested objects) only to
 * encode it again was most of its work and most of its garbage.
 *
 * The bytes are exactly those encodeFlowAttributes (sync/flow-attributes.ts)
 * writes for the record's decoded flow, in 1.4.7's order, which a test
 * checks on generated flows of every shape. One walk over the record notes
 * where each value is; the writing then copies bytes.
 */
import { CtAttr, Family, HelpAttr, IpAttr, Proto, ProtoAttr, ProtoinfoAttr, SeqAdjAttr, SynproxyAttr, TupleAttr } from '../../ctnetlink/constants';
import { Status } from '../../ctnetlink/status';
import { AttributeCursor } from '../../netlink/attributes';
import { readU16BE, readU32BE } from '../../netlink/bytes';
import { FlowAttr, type AttrWriter } from '../sync/attributes';
import { SyncEncodeError } from '../sync/errors';
import type { FlowEncodeOptions } from '../sync/flow-attributes';
import { KEY_TUPLE } from './record';

const NONE = -1;

/** Where one tuple's values are (offsets into the record's buffer; NONE when absent). */
class TupleAt {
  src = NONE;
  dst = NONE;
  srcSize = 0;
  dstSize = 0;
  /** The family of the last address attribute, as the decoder's `l3`. */
  l3 = 0;
  proto = NONE;
  sport = NONE;
  dport = NONE;
  icmpType = NONE;
  icmpCode = NONE;
  icmpId = NONE;

  clear(): void {
    this.src = this.dst = this.proto = this.sport = this.dport = NONE;
    this.icmpType = this.icmpCode = this.icmpId = NONE;
    this.srcSize = this.dstSize = this.l3 = 0;
  }
}

/** Where a record's values are: one walk fills it, reused for every record. */
class RecordAt {
  readonly orig = new TupleAt();
  readonly reply = new TupleAt();
  readonly master = new TupleAt();
  status = NONE;
  mark = NONE;
  zone = NONE;
  /**
   * The protocol-info values: for block b (ProtoinfoAttr: TCP 1, DCCP 2,
   * SCTP 3), the values of its attribute types 1 to 3 at [3b, 3b + 2]
   * (TCP: state, wscale orig, wscale reply; SCTP: state, vtag orig, vtag
   * reply; DCCP: state, role).
   */
  readonly info = new Int32Array(12);
  /**
   * Where the reply tuple's nest lies (its values start, its end): walked
   * only for a NAT-ed flow, the one case whose message shows the reply, so
   * that the walk of most flows skips a third of the record.
   */
  replyNest = NONE;
  replyEnd = 0;
  seqOrig = NONE;
  seqReply = NONE;
  helper = NONE;
  helperLength = 0;
  labels = NONE;
  labelsLength = 0;
  synproxy = NONE;
  synproxyEnd = 0;

  clear(): void {
    this.orig.clear();
    this.master.clear();
    this.status = this.mark = this.zone = this.replyNest = NONE;
    this.seqOrig = this.seqReply = this.helper = this.labels = this.synproxy = NONE;
    // A loop, not fill(): a builtin call costs more than twelve stores, once per flow sent.
    const info = this.info;
    for (let i = 0; i < info.length; i++) info[i] = NONE;
  }
}

const at = new RecordAt();
const top = new AttributeCursor(Buffer.alloc(0), 0, 0);
const inner = new AttributeCursor(Buffer.alloc(0), 0, 0);
const innermost = new AttributeCursor(Buffer.alloc(0), 0, 0);

/** Protocols whose messages always carry PORT, as in flow-attributes.ts. */
function alwaysPort(proto: number): boolean {
  return proto === Proto.TCP || proto === Proto.UDP || proto === Proto.SCTP || proto === Proto.DCCP;
}

/**
 * Appends the sync attributes of the record at `buf[start, start + length)`
 * (key of `keyLength` bytes) to `w`, with `timeout` as the flow's timeout.
 * @throws SyncEncodeError for a flow the wire cannot carry (as encodeFlowAttributes).
 */
export function writeRecordAttributes(
  w: AttrWriter,
  buf: Buffer,
  start: number,
  keyLength: number,
  length: number,
  timeout: number | undefined,
  opts: FlowEncodeOptions,
): void {
  at.clear();
  readTuple(top.reset(buf, start + KEY_TUPLE, start + keyLength), at.orig);
  readKept(buf, start + keyLength, start + length);
  const family = buf[start]!;
  const o = at.orig;
  if (family !== Family.INET && family !== Family.INET6) throw new SyncEncodeError(`flow family ${family}`);
  const size = family === Family.INET ? 4 : 16;
  if (o.proto === NONE) throw new SyncEncodeError('flow without a layer-4 protocol');
  checkAddress(o.src, o.srcSize, size, 'source');
  checkAddress(o.dst, o.dstSize, size, 'destination');
  w.pair(size === 4 ? FlowAttr.IPV4 : FlowAttr.IPV6, buf, o.src, o.dst, size);
  if (at.status !== NONE) w.u32(FlowAttr.STATUS, readU32BE(buf, at.status));
  const proto = buf[o.proto]!;
  w.u8(FlowAttr.L4PROTO, proto);
  writeProtocolPart(w, buf, proto, opts);
  if (timeout !== undefined && !opts.omitTimeout) w.u32(FlowAttr.TIMEOUT, timeout);
  if (at.mark !== NONE) w.u32(FlowAttr.MARK, readU32BE(buf, at.mark));
  if (at.master.src !== NONE) writeMaster(w, buf, at.master);
  writeNat(w, buf, at.status === NONE ? 0 : readU32BE(buf, at.status), size);
  if (at.seqOrig !== NONE && at.seqReply !== NONE) writeSeqAdj(w, buf);
  if (at.helper !== NONE) w.cString(FlowAttr.HELPER_NAME, buf, at.helper, at.helperLength);
  if (at.labels !== NONE) writeLabels(w, buf);
  if (at.synproxy !== NONE) writeSynproxy(w, buf);
  if (at.zone !== NONE) w.u16be(FlowAttr.ZONE, readU16BE(buf, at.zone));
}

/** Notes the values of the record's kept attributes (the key holds only the original tuple). */
function readKept(buf: Buffer, start: number, end: number): void {
  const c = top.reset(buf, start, end);
  while (c.next()) {
    switch (c.type) {
      case CtAttr.TUPLE_REPLY:
        at.replyNest = c.offset;
        at.replyEnd = c.offset + c.length;
        break;
      case CtAttr.TUPLE_MASTER:
        at.master.clear();
        readTuple(c.enter(inner), at.master);
        break;
      case CtAttr.STATUS:
        if (c.length >= 4) at.status = c.offset;
        break;
      case CtAttr.MARK:
        if (c.length >= 4) at.mark = c.offset;
        break;
      case CtAttr.ZONE:
        if (c.length >= 2) at.zone = c.offset;
        break;
      case CtAttr.PROTOINFO:
        readProtoinfo(c.enter(inner));
        break;
      case CtAttr.SEQ_ADJ_ORIG:
        at.seqOrig = c.offset;
        break;
      case CtAttr.SEQ_ADJ_REPLY:
        at.seqReply = c.offset;
        break;
      case CtAttr.HELP:
        readHelper(c.enter(inner));
        break;
      case CtAttr.LABELS:
        at.labels = c.offset;
        at.labelsLength = c.length;
        break;
      case CtAttr.SYNPROXY:
        at.synproxy = c.offset;
        at.synproxyEnd = c.offset + c.length;
        break;
    }
  }
}

/** The values of a tuple's attributes (the cursor is over them), as the tuple decoder reads them. */
function readTuple(c: AttributeCursor, t: TupleAt): void {
  while (c.next()) {
    if (c.type === TupleAttr.IP) readAddresses(c.enter(innermost), t);
    else if (c.type === TupleAttr.PROTO) readProto(c.enter(innermost), t);
  }
}

function readAddresses(c: AttributeCursor, t: TupleAt): void {
  while (c.next()) {
    const v4 = c.type === IpAttr.V4_SRC || c.type === IpAttr.V4_DST;
    if (!v4 && c.type !== IpAttr.V6_SRC && c.type !== IpAttr.V6_DST) continue;
    const size = v4 ? 4 : 16;
    if (c.length < size) throw new SyncEncodeError(`address attribute ${c.type} of ${c.length} bytes`);
    t.l3 = v4 ? Family.INET : Family.INET6;
    if (c.type === IpAttr.V4_SRC || c.type === IpAttr.V6_SRC) {
      t.src = c.offset;
      t.srcSize = size;
    } else {
      t.dst = c.offset;
      t.dstSize = size;
    }
  }
}

function readProto(c: AttributeCursor, t: TupleAt): void {
  while (c.next()) {
    switch (c.type) {
      case ProtoAttr.NUM: t.proto = c.offset; break;
      case ProtoAttr.SRC_PORT: t.sport = c.offset; break;
      case ProtoAttr.DST_PORT: t.dport = c.offset; break;
      case ProtoAttr.ICMP_ID:
      case ProtoAttr.ICMPV6_ID: t.icmpId = c.offset; break;
      case ProtoAttr.ICMP_TYPE:
      case ProtoAttr.ICMPV6_TYPE: t.icmpType = c.offset; break;
      case ProtoAttr.ICMP_CODE:
      case ProtoAttr.ICMPV6_CODE: t.icmpCode = c.offset; break;
    }
  }
}

/** The protocol-info blocks' values (a block seen twice: the last one's, as decoded). */
function readProtoinfo(c: AttributeCursor): void {
  while (c.next()) {
    const block = c.type;
    if (block !== ProtoinfoAttr.TCP && block !== ProtoinfoAttr.SCTP && block !== ProtoinfoAttr.DCCP) continue;
    const info = at.info;
    info[3 * block] = info[3 * block + 1] = info[3 * block + 2] = NONE;
    const a = c.enter(innermost);
    while (a.next()) if (a.type >= 1 && a.type <= 3 && a.length >= 1) info[3 * block + a.type - 1] = a.offset;
  }
}

function readHelper(c: AttributeCursor): void {
  while (c.next()) {
    if (c.type !== HelpAttr.NAME) continue;
    at.helper = c.offset;
    at.helperLength = c.length;
  }
}

function writeProtocolPart(w: AttrWriter, buf: Buffer, proto: number, opts: FlowEncodeOptions): void {
  const o = at.orig;
  if (alwaysPort(proto)) w.u16pair(FlowAttr.PORT, o.sport === NONE ? 0 : readU16BE(buf, o.sport), o.dport === NONE ? 0 : readU16BE(buf, o.dport));
  const info = at.info;
  switch (proto) {
    case Proto.TCP: {
      const b = 3 * ProtoinfoAttr.TCP;
      if (info[b] === NONE) return;
      w.u8(FlowAttr.TCP_STATE, buf[info[b]!]!);
      if (opts.windowTracking) {
        w.u8(FlowAttr.TCP_WSCALE_ORIG, info[b + 1] === NONE ? 0 : buf[info[b + 1]!]!);
        w.u8(FlowAttr.TCP_WSCALE_REPL, info[b + 2] === NONE ? 0 : buf[info[b + 2]!]!);
      }
      return;
    }
    case Proto.SCTP: {
      const b = 3 * ProtoinfoAttr.SCTP;
      if (info[b] === NONE) return;
      w.u8(FlowAttr.SCTP_STATE, buf[info[b]!]!);
      w.u32(FlowAttr.SCTP_VTAG_ORIG, info[b + 1] === NONE ? 0 : readU32BE(buf, info[b + 1]!));
      w.u32(FlowAttr.SCTP_VTAG_REPL, info[b + 2] === NONE ? 0 : readU32BE(buf, info[b + 2]!));
      return;
    }
    case Proto.DCCP: {
      const b = 3 * ProtoinfoAttr.DCCP;
      if (info[b] === NONE) return;
      w.u8(FlowAttr.DCCP_STATE, buf[info[b]!]!);
      w.u8(FlowAttr.DCCP_ROLE, info[b + 1] === NONE ? 0 : buf[info[b + 1]!]!);
      return;
    }
    case Proto.ICMP:
    case Proto.ICMPV6:
      if (o.icmpType !== NONE) w.u8(FlowAttr.ICMP_TYPE, buf[o.icmpType]!);
      if (o.icmpCode !== NONE) w.u8(FlowAttr.ICMP_CODE, buf[o.icmpCode]!);
      if (o.icmpId !== NONE) w.u16le(FlowAttr.ICMP_ID, readU16BE(buf, o.icmpId));
      return;
  }
}

function writeMaster(w: AttrWriter, buf: Buffer, m: TupleAt): void {
  const size = m.l3 === Family.INET ? 4 : 16;
  checkAddress(m.src, m.srcSize, size, 'master source');
  checkAddress(m.dst, m.dstSize, size, 'master destination');
  w.pair(size === 4 ? FlowAttr.MASTER_IPV4 : FlowAttr.MASTER_IPV6, buf, m.src, m.dst, size);
  if (m.proto !== NONE) w.u8(FlowAttr.MASTER_L4PROTO, buf[m.proto]!);
  if (m.sport !== NONE || m.dport !== NONE) w.u16pair(FlowAttr.MASTER_PORT, m.sport === NONE ? 0 : readU16BE(buf, m.sport), m.dport === NONE ? 0 : readU16BE(buf, m.dport));
}

/**
 * The NAT the reply tuple shows, as flow-attributes.ts's natOf decides it:
 * source NAT when SRC_NAT_DONE and the reply destination differs from the
 * original source, destination NAT likewise; the ports the same way.
 */
function writeNat(w: AttrWriter, buf: Buffer, status: number, size: number): void {
  const o = at.orig;
  const r = at.reply;
  const snat = (status & Status.SRC_NAT_DONE) !== 0;
  const dnat = (status & Status.DST_NAT_DONE) !== 0;
  if (!snat && !dnat) return;
  r.clear();
  if (at.replyNest !== NONE) readTuple(inner.reset(buf, at.replyNest, at.replyEnd), r);
  const snatIp = snat && differs(buf, r.dst, r.dstSize, o.src, o.srcSize);
  const dnatIp = dnat && differs(buf, r.src, r.srcSize, o.dst, o.dstSize);
  if (snatIp) {
    checkAddress(r.dst, r.dstSize, size, 'SNAT');
    w.copy(size === 4 ? FlowAttr.SNAT_IPV4 : FlowAttr.SNAT_IPV6, buf, r.dst, size);
  }
  if (dnatIp) {
    checkAddress(r.src, r.srcSize, size, 'DNAT');
    w.copy(size === 4 ? FlowAttr.DNAT_IPV4 : FlowAttr.DNAT_IPV6, buf, r.src, size);
  }
  if (snat && portDiffers(buf, r.dport, o.sport)) w.u16le(FlowAttr.SPAT_PORT, readU16BE(buf, r.dport));
  if (dnat && portDiffers(buf, r.sport, o.dport)) w.u16le(FlowAttr.DPAT_PORT, readU16BE(buf, r.sport));
}

/** A reply address that is there and is not the original one (of another size, it is not). */
function differs(buf: Buffer, replyAt: number, replySize: number, origAt: number, origSize: number): boolean {
  if (replyAt === NONE) return false;
  if (replySize !== origSize) return true;
  for (let i = 0; i < replySize; i++) if (buf[replyAt + i] !== buf[origAt + i]) return true;
  return false;
}

function portDiffers(buf: Buffer, replyAt: number, origAt: number): boolean {
  return replyAt !== NONE && origAt !== NONE && readU16BE(buf, replyAt) !== readU16BE(buf, origAt);
}

function writeSeqAdj(w: AttrWriter, buf: Buffer): void {
  const p = w.put(FlowAttr.NAT_SEQ_ADJ, 24);
  seqAdjInto(w, p, buf, at.seqOrig);
  seqAdjInto(w, p + 12, buf, at.seqReply);
}

/** A sequence adjustment's three words (0 for one missing, as decoded). */
function seqAdjInto(w: AttrWriter, p: number, buf: Buffer, nest: number): void {
  let pos = 0;
  let before = 0;
  let after = 0;
  const c = inner.reset(buf, nest, nestEnd(buf, nest));
  while (c.next()) {
    if (c.length < 4) continue;
    if (c.type === SeqAdjAttr.CORRECTION_POS) pos = readU32BE(buf, c.offset);
    else if (c.type === SeqAdjAttr.OFFSET_BEFORE) before = readU32BE(buf, c.offset);
    else if (c.type === SeqAdjAttr.OFFSET_AFTER) after = readU32BE(buf, c.offset);
  }
  w.setU32(p, pos);
  w.setU32(p + 4, before);
  w.setU32(p + 8, after);
}

/** The end of the nested attribute whose value starts at `value` (its header is the 4 bytes before). */
function nestEnd(buf: Buffer, value: number): number {
  return value - 4 + (buf[value - 4]! | (buf[value - 3]! << 8));
}

/** The label bitmap, if any bit is set: the kernel's host-order (x86: little-endian) words, big-endian on the wire. */
function writeLabels(w: AttrWriter, buf: Buffer): void {
  const words = at.labelsLength >>> 2;
  let set = false;
  for (let i = 0; i < at.labelsLength && !set; i++) set = buf[at.labels + i] !== 0;
  if (!set) return;
  const p = w.put(FlowAttr.LABELS, 4 * words);
  for (let i = 0; i < words; i++) w.setU32(p + 4 * i, buf.readUInt32LE(at.labels + 4 * i));
}

function writeSynproxy(w: AttrWriter, buf: Buffer): void {
  let isn = 0;
  let its = 0;
  let tsoff = 0;
  const c = inner.reset(buf, at.synproxy, at.synproxyEnd);
  while (c.next()) {
    if (c.length < 4) continue;
    if (c.type === SynproxyAttr.ISN) isn = readU32BE(buf, c.offset);
    else if (c.type === SynproxyAttr.ITS) its = readU32BE(buf, c.offset);
    else if (c.type === SynproxyAttr.TSOFF) tsoff = readU32BE(buf, c.offset);
  }
  const p = w.put(FlowAttr.SYNPROXY, 12);
  w.setU32(p, its);
  w.setU32(p + 4, isn);
  w.setU32(p + 8, tsoff);
}

/** An address must be there and of the flow's family, as addressBytes() insists. */
function checkAddress(offset: number, size: number, wanted: number, what: string): void {
  if (offset === NONE) throw new SyncEncodeError(`${what} address missing`);
  if (size !== wanted) throw new SyncEncodeError(`${what} address of ${size} bytes in a flow of ${wanted}-byte addresses`);
}

