/**
 * `-c` without a Flow per entry: the create request of a replicated flow,
 * written straight from the sync attributes the external cache keeps. The
 * bytes are those of the library's create request of committedFlow() of
 * the decoded flow (a property test holds them equal), so everything
 * commit.ts says of a committed entry holds: the reply tuple is the
 * inverse of the original and the kernel applies the NAT itself,
 * IPS_EXPECTED is cleared, TCP is "be liberal" both ways unless
 * `TCPWindowTracking`, the timeout is the one given.
 *
 * Decoding a million flows to objects, with address text that the request
 * then parses back to bytes, was most of a commit's own work. A flow
 * without an address or protocol attribute is not written here (false):
 * the caller builds it through the Flow.
 */
import { CtAttr, DccpAttr, Family, HelpAttr, IpAttr, NatAttr, Proto, ProtoAttr, ProtoinfoAttr, ProtoNatAttr, SctpAttr, SeqAdjAttr, SynproxyAttr, TcpAttr, TcpFlag, TupleAttr } from '../../ctnetlink/constants';
import { beginCreateRequest } from '../../ctnetlink/requests';
import { Status } from '../../ctnetlink/status';
import { icmpReplyType, PORT_PROTOCOLS } from '../../ctnetlink/tuple';
import type { MessageWriter } from '../../netlink/attributes';
import { readU16BE, readU16LE, readU32BE } from '../../netlink/bytes';
import { FlowAttr } from '../sync/attributes';
import { cString } from '../sync/flow-attributes';

/** Attribute slots: FlowAttr ids, an IPv6 attribute sharing its IPv4 twin's (the last of the two wins, as in decoding). */
const SLOTS = FlowAttr.ZONE + 1;
const TWIN: Partial<Record<FlowAttr, FlowAttr>> = {
  [FlowAttr.IPV6]: FlowAttr.IPV4,
  [FlowAttr.MASTER_IPV6]: FlowAttr.MASTER_IPV4,
  [FlowAttr.SNAT_IPV6]: FlowAttr.SNAT_IPV4,
  [FlowAttr.DNAT_IPV6]: FlowAttr.DNAT_IPV4,
};
const SLOT_OF = Array.from({ length: SLOTS }, (_, type) => TWIN[type as FlowAttr] ?? type);

/** Where each slot's payload starts in the attributes being written (-1: absent), and its length. */
const at = new Int32Array(SLOTS);
const len = new Int32Array(SLOTS);

/** "Be liberal" set and masked, the CTA_PROTOINFO_TCP_FLAGS value of both directions. */
const LIBERAL = (TcpFlag.BE_LIBERAL << 8) | TcpFlag.BE_LIBERAL;

export interface CommitRequestOptions {
  /** `TCPWindowTracking`: TCP flows keep strict tracking. */
  tcpWindowTracking: boolean;
}

/** Whether the flow whose attributes are `buf[start, end)` has a master (any MASTER_* attribute): it is committed after the others. */
export function isRelated(buf: Buffer, start: number, end: number): boolean {
  for (let off = start; end - off > 4; off = next(buf, off)) {
    const type = readU16BE(buf, off + 2);
    if (type >= FlowAttr.MASTER_IPV4 && type <= FlowAttr.MASTER_PORT) return true;
  }
  return false;
}

/** The offset of the attribute after the one at `off` (the end of the walk for a length below the header's). */
function next(buf: Buffer, off: number): number {
  const length = readU16BE(buf, off);
  return length < 4 ? Infinity : off + ((length + 3) & ~3);
}

/**
 * Appends the create request (NLM_F_EXCL) of the flow whose sync
 * attributes are `buf[start, end)`, with the timeout `timeout` makes of the
 * replicated one; false, with nothing written, for a flow without an
 * address or a protocol attribute.
 */
export function writeCommitRequest(
  w: MessageWriter,
  buf: Buffer,
  start: number,
  end: number,
  timeout: (replicated: number | undefined) => number,
  opts: CommitRequestOptions,
): boolean {
  locate(buf, start, end);
  const addr = at[FlowAttr.IPV4]!;
  const l4 = at[FlowAttr.L4PROTO]!;
  if (addr < 0 || l4 < 0) return false;
  const v6 = len[FlowAttr.IPV4] === 32;
  const proto = buf[l4]!;
  const message = beginCreateRequest(w, 0, v6 ? Family.INET6 : Family.INET, true);
  writeTuple(w, CtAttr.TUPLE_ORIG, buf, proto, false);
  writeTuple(w, CtAttr.TUPLE_REPLY, buf, proto, true);
  writeMaster(w, buf);
  const status = at[FlowAttr.STATUS]! < 0 ? 0 : readU32BE(buf, at[FlowAttr.STATUS]!) & ~Status.EXPECTED;
  w.u32be(CtAttr.STATUS, (status | Status.CONFIRMED) >>> 0);
  w.u32be(CtAttr.TIMEOUT, timeout(at[FlowAttr.TIMEOUT]! < 0 ? undefined : readU32BE(buf, at[FlowAttr.TIMEOUT]!)));
  if (at[FlowAttr.MARK]! >= 0) copy(w, CtAttr.MARK, buf, FlowAttr.MARK);
  if (at[FlowAttr.ZONE]! >= 0) copy(w, CtAttr.ZONE, buf, FlowAttr.ZONE);
  writeProtoinfo(w, buf, proto === Proto.TCP && !opts.tcpWindowTracking);
  writeNat(w, CtAttr.NAT_SRC, buf, FlowAttr.SNAT_IPV4, FlowAttr.SPAT_PORT);
  writeNat(w, CtAttr.NAT_DST, buf, FlowAttr.DNAT_IPV4, FlowAttr.DPAT_PORT);
  if (at[FlowAttr.HELPER_NAME]! >= 0) {
    const help = w.beginNested(CtAttr.HELP);
    w.string(HelpAttr.NAME, cString(buf, at[FlowAttr.HELPER_NAME]!, len[FlowAttr.HELPER_NAME]!));
    w.endNested(help);
  }
  if (at[FlowAttr.LABELS]! >= 0) w.bytes(CtAttr.LABELS, labels(buf));
  const seqAdj = at[FlowAttr.NAT_SEQ_ADJ]!;
  if (seqAdj >= 0) {
    writeSeqAdj(w, CtAttr.SEQ_ADJ_ORIG, buf, seqAdj);
    writeSeqAdj(w, CtAttr.SEQ_ADJ_REPLY, buf, seqAdj + 12);
  }
  const synproxy = at[FlowAttr.SYNPROXY]!;
  if (synproxy >= 0) {
    // The sync attribute holds its, isn, tsoff; the kernel's nest lists isn first.
    const nest = w.beginNested(CtAttr.SYNPROXY);
    w.bytesOf(SynproxyAttr.ISN, buf, synproxy + 4, synproxy + 8);
    w.bytesOf(SynproxyAttr.ITS, buf, synproxy, synproxy + 4);
    w.bytesOf(SynproxyAttr.TSOFF, buf, synproxy + 8, synproxy + 12);
    w.endNested(nest);
  }
  w.endMessage(message);
  return true;
}

/** Fills `at` and `len` from the attributes (checked when they were received). */
function locate(buf: Buffer, start: number, end: number): void {
  for (let i = 0; i < SLOTS; i++) at[i] = -1;
  for (let off = start; end - off > 4; off = next(buf, off)) {
    const type = readU16BE(buf, off + 2);
    if (type >= SLOTS) continue;
    const slot = SLOT_OF[type]!;
    at[slot] = off + 4;
    len[slot] = readU16BE(buf, off) - 4;
  }
}

/** A sync attribute whose bytes are the kernel attribute's (both big-endian). */
function copy(w: MessageWriter, type: number, buf: Buffer, slot: FlowAttr): void {
  w.bytesOf(type, buf, at[slot]!, at[slot]! + len[slot]!);
}

/**
 * The original tuple, or its inverse (`reply`): both addresses, the ports
 * of a port protocol (swapped, 0 when the flow has none), ICMP's code,
 * type (the reply's type, 255 when ICMP has none) and id (0 when absent).
 */
function writeTuple(w: MessageWriter, type: CtAttr, buf: Buffer, proto: number, reply: boolean): void {
  const nest = w.beginNested(type);
  const addr = at[FlowAttr.IPV4]!;
  const size = len[FlowAttr.IPV4]! / 2;
  const v6 = size === 16;
  const src = reply ? addr + size : addr;
  const dst = reply ? addr : addr + size;
  const ip = w.beginNested(TupleAttr.IP);
  w.bytesOf(v6 ? IpAttr.V6_SRC : IpAttr.V4_SRC, buf, src, src + size);
  w.bytesOf(v6 ? IpAttr.V6_DST : IpAttr.V4_DST, buf, dst, dst + size);
  w.endNested(ip);
  const p = w.beginNested(TupleAttr.PROTO);
  w.u8(ProtoAttr.NUM, proto);
  const port = at[FlowAttr.PORT]!;
  if (PORT_PROTOCOLS.has(proto)) {
    const sport = port < 0 ? 0 : readU16BE(buf, reply ? port + 2 : port);
    const dport = port < 0 ? 0 : readU16BE(buf, reply ? port : port + 2);
    w.u16be(ProtoAttr.SRC_PORT, sport);
    w.u16be(ProtoAttr.DST_PORT, dport);
  } else if (proto === Proto.ICMP || proto === Proto.ICMPV6) {
    const v4 = proto === Proto.ICMP;
    const code = at[FlowAttr.ICMP_CODE]!;
    const type = at[FlowAttr.ICMP_TYPE]!;
    const id = at[FlowAttr.ICMP_ID]!;
    w.u8(v4 ? ProtoAttr.ICMP_CODE : ProtoAttr.ICMPV6_CODE, code < 0 ? 0 : buf[code]!);
    const icmpType = type < 0 ? 0 : reply ? (icmpReplyType(v6 ? Family.INET6 : Family.INET, buf[type]!) ?? 255) : buf[type]!;
    w.u8(v4 ? ProtoAttr.ICMP_TYPE : ProtoAttr.ICMPV6_TYPE, icmpType);
    // NTA_ICMP_ID travels little-endian.
    w.u16be(v4 ? ProtoAttr.ICMP_ID : ProtoAttr.ICMPV6_ID, id < 0 ? 0 : readU16LE(buf, id));
  }
  w.endNested(p);
  w.endNested(nest);
}

/** The master's tuple, when the flow has its address or protocol (its ports alone make none). */
function writeMaster(w: MessageWriter, buf: Buffer): void {
  const addr = at[FlowAttr.MASTER_IPV4]!;
  const l4 = at[FlowAttr.MASTER_L4PROTO]!;
  if (addr < 0 && l4 < 0) return;
  const nest = w.beginNested(CtAttr.TUPLE_MASTER);
  if (addr >= 0) {
    const size = len[FlowAttr.MASTER_IPV4]! / 2;
    const v6 = size === 16;
    const ip = w.beginNested(TupleAttr.IP);
    w.bytesOf(v6 ? IpAttr.V6_SRC : IpAttr.V4_SRC, buf, addr, addr + size);
    w.bytesOf(v6 ? IpAttr.V6_DST : IpAttr.V4_DST, buf, addr + size, addr + 2 * size);
    w.endNested(ip);
  }
  if (l4 >= 0) {
    const proto = buf[l4]!;
    const p = w.beginNested(TupleAttr.PROTO);
    w.u8(ProtoAttr.NUM, proto);
    const port = at[FlowAttr.MASTER_PORT]!;
    if (PORT_PROTOCOLS.has(proto)) {
      w.u16be(ProtoAttr.SRC_PORT, port < 0 ? 0 : readU16BE(buf, port));
      w.u16be(ProtoAttr.DST_PORT, port < 0 ? 0 : readU16BE(buf, port + 2));
    } else if (proto === Proto.ICMP || proto === Proto.ICMPV6) {
      const v4 = proto === Proto.ICMP;
      w.u8(v4 ? ProtoAttr.ICMP_CODE : ProtoAttr.ICMPV6_CODE, 0);
      w.u8(v4 ? ProtoAttr.ICMP_TYPE : ProtoAttr.ICMPV6_TYPE, 0);
      w.u16be(v4 ? ProtoAttr.ICMP_ID : ProtoAttr.ICMPV6_ID, 0);
    }
    w.endNested(p);
  }
  w.endNested(nest);
}

/** TCP (state, window scales, "be liberal" when `liberal`), SCTP and DCCP state, in one nest. */
function writeProtoinfo(w: MessageWriter, buf: Buffer, liberal: boolean): void {
  const tcpState = at[FlowAttr.TCP_STATE]!;
  const wscaleOrig = at[FlowAttr.TCP_WSCALE_ORIG]!;
  const wscaleReply = at[FlowAttr.TCP_WSCALE_REPL]!;
  const tcp = liberal || tcpState >= 0 || wscaleOrig >= 0 || wscaleReply >= 0;
  const sctp = at[FlowAttr.SCTP_STATE]! >= 0 || at[FlowAttr.SCTP_VTAG_ORIG]! >= 0 || at[FlowAttr.SCTP_VTAG_REPL]! >= 0;
  const dccp = at[FlowAttr.DCCP_STATE]! >= 0 || at[FlowAttr.DCCP_ROLE]! >= 0;
  if (!tcp && !sctp && !dccp) return;
  const info = w.beginNested(CtAttr.PROTOINFO);
  if (tcp) {
    const nest = w.beginNested(ProtoinfoAttr.TCP);
    if (tcpState >= 0) copy(w, TcpAttr.STATE, buf, FlowAttr.TCP_STATE);
    if (wscaleOrig >= 0) copy(w, TcpAttr.WSCALE_ORIGINAL, buf, FlowAttr.TCP_WSCALE_ORIG);
    if (wscaleReply >= 0) copy(w, TcpAttr.WSCALE_REPLY, buf, FlowAttr.TCP_WSCALE_REPL);
    if (liberal) {
      w.u16be(TcpAttr.FLAGS_ORIGINAL, LIBERAL);
      w.u16be(TcpAttr.FLAGS_REPLY, LIBERAL);
    }
    w.endNested(nest);
  }
  if (sctp) {
    const nest = w.beginNested(ProtoinfoAttr.SCTP);
    if (at[FlowAttr.SCTP_STATE]! >= 0) copy(w, SctpAttr.STATE, buf, FlowAttr.SCTP_STATE);
    if (at[FlowAttr.SCTP_VTAG_ORIG]! >= 0) copy(w, SctpAttr.VTAG_ORIGINAL, buf, FlowAttr.SCTP_VTAG_ORIG);
    if (at[FlowAttr.SCTP_VTAG_REPL]! >= 0) copy(w, SctpAttr.VTAG_REPLY, buf, FlowAttr.SCTP_VTAG_REPL);
    w.endNested(nest);
  }
  if (dccp) {
    const nest = w.beginNested(ProtoinfoAttr.DCCP);
    if (at[FlowAttr.DCCP_STATE]! >= 0) copy(w, DccpAttr.STATE, buf, FlowAttr.DCCP_STATE);
    if (at[FlowAttr.DCCP_ROLE]! >= 0) copy(w, DccpAttr.ROLE, buf, FlowAttr.DCCP_ROLE);
    w.endNested(nest);
  }
  w.endNested(info);
}

/** A NAT range of one address and one port, either optional (the port travels little-endian). */
function writeNat(w: MessageWriter, type: CtAttr, buf: Buffer, ipSlot: FlowAttr, portSlot: FlowAttr): void {
  const ip = at[ipSlot]!;
  const port = at[portSlot]!;
  if (ip < 0 && port < 0) return;
  const nest = w.beginNested(type);
  if (ip >= 0) w.bytesOf(len[ipSlot] === 16 ? NatAttr.V6_MINIP : NatAttr.V4_MINIP, buf, ip, ip + len[ipSlot]!);
  if (port >= 0) {
    const ports = w.beginNested(NatAttr.PROTO);
    w.u16be(ProtoNatAttr.PORT_MIN, readU16LE(buf, port));
    w.endNested(ports);
  }
  w.endNested(nest);
}

function writeSeqAdj(w: MessageWriter, type: CtAttr, buf: Buffer, from: number): void {
  const nest = w.beginNested(type);
  w.bytesOf(SeqAdjAttr.CORRECTION_POS, buf, from, from + 4);
  w.bytesOf(SeqAdjAttr.OFFSET_BEFORE, buf, from + 4, from + 8);
  w.bytesOf(SeqAdjAttr.OFFSET_AFTER, buf, from + 8, from + 12);
  w.endNested(nest);
}

/** The label bitmap: big-endian words on the wire, host-order (x86: little-endian) words for the kernel. */
function labels(buf: Buffer): Buffer {
  const from = at[FlowAttr.LABELS]!;
  const out = Buffer.alloc(len[FlowAttr.LABELS]! & ~3);
  for (let i = 0; i < out.length; i += 4) out.writeUInt32LE(buf.readUInt32BE(from + i), i);
  return out;
}

