import { AttributeCursor, type MessageWriter } from '../netlink/attributes';
import type { MessageCursor } from '../netlink/messages';
import { messageType, NFGENMSG_LEN, Subsystem } from '../nfnetlink/header';
import {
  CountersAttr,
  CtAttr,
  CtMsg,
  DccpAttr,
  HelpAttr,
  NatAttr,
  ProtoinfoAttr,
  ProtoNatAttr,
  SctpAttr,
  SecctxAttr,
  SeqAdjAttr,
  SynproxyAttr,
  TcpAttr,
  TimestampAttr,
} from './constants';
import type {
  Counters,
  DccpInfo,
  Flow,
  NatRange,
  SctpInfo,
  SeqAdjust,
  Synproxy,
  TcpFlags,
  TcpInfo,
  Timestamps,
  Tuple,
} from './flow';
import { decodeIPv4, decodeIPv6, decodeTuple, encodeTuple, hasTupleFields, writeAddress } from './tuple-codec';

// Request builders that write a bare tuple next to flow attributes take both from here.
export { encodeTuple } from './tuple-codec';

/**
 * A conntrack entry on the wire: the attributes after the nfgenmsg of an
 * IPCTNL_MSG_CT_NEW / _DELETE message (dump entry, event, or request).
 *
 * ```
 * CTA_TUPLE_ORIG, CTA_TUPLE_REPLY, CTA_TUPLE_MASTER   nested tuples (tuple-codec.ts)
 * CTA_STATUS, CTA_TIMEOUT, CTA_MARK, CTA_USE, CTA_ID, CTA_SECMARK   be32
 * CTA_ZONE                                            be16
 * CTA_PROTOINFO { CTA_PROTOINFO_TCP | _SCTP | _DCCP { ... } }
 * CTA_COUNTERS_ORIG / _REPLY { PACKETS, BYTES be64 | PACKETS32, BYTES32 be32 }
 * CTA_TIMESTAMP { START, STOP be64 ns }       CTA_TIMESTAMP_EVENT be64 ns (events)
 * CTA_HELP { CTA_HELP_NAME string }     CTA_SECCTX { CTA_SECCTX_NAME string }
 * CTA_SEQ_ADJ_ORIG / _REPLY { CORRECTION_POS, OFFSET_BEFORE, OFFSET_AFTER be32 }
 * CTA_SYNPROXY { ISN, ITS, TSOFF be32 }
 * CTA_LABELS, CTA_LABELS_MASK           bitmap of host-order 32-bit words, copied as is
 * CTA_NAT_SRC / _DST { V4_MINIP, V4_MAXIP | V6_MINIP, V6_MAXIP, PROTO { PORT_MIN, PORT_MAX be16 } }
 * ```
 */

/** Stands for a direction not (yet) seen while decoding; never escapes decodeFlow. */
const NO_TUPLE: Tuple = Object.freeze({});

const CT_NEW = messageType(Subsystem.CTNETLINK, CtMsg.NEW);

/** The entry an IPCTNL_MSG_CT_NEW message (a dumped or looked-up entry) carries; undefined for any other message. */
export function decodeFlowMessage(m: MessageCursor): Flow | undefined {
  if (m.type !== CT_NEW || m.end - m.payload < NFGENMSG_LEN) return undefined;
  return decodeFlow(m.buf, m.payload + NFGENMSG_LEN, m.end, m.buf[m.payload]!);
}

/**
 * Decodes the entry whose attributes fill `buf[start, end)`. Every attribute
 * the kernel sends is kept; unknown ones are skipped (newer kernels); request
 * attributes (CTA_NAT_*, CTA_LABELS_MASK) are decoded too so that requests can
 * be read back. Throws ProtocolError for malformed attributes.
 *
 * This runs once per entry of a dump, so it allocates only the objects whose
 * attributes are present and nothing per attribute.
 */
export function decodeFlow(buf: Buffer, start: number, end: number, family: number): Flow {
  const flow: Flow = { family, orig: NO_TUPLE, reply: NO_TUPLE };
  const c = new AttributeCursor(buf, start, end);
  while (c.next()) {
    switch (c.type) {
      case CtAttr.TUPLE_ORIG:
        flow.orig = decodeTuple(c);
        break;
      case CtAttr.TUPLE_REPLY:
        flow.reply = decodeTuple(c);
        break;
      case CtAttr.TUPLE_MASTER:
        flow.master = decodeTuple(c);
        break;
      case CtAttr.STATUS:
        flow.status = c.u32be();
        break;
      case CtAttr.PROTOINFO:
        decodeProtoinfo(c, flow);
        break;
      case CtAttr.HELP:
        decodeHelp(c, flow);
        break;
      case CtAttr.NAT_SRC:
        flow.natSrc = decodeNat(c);
        break;
      case CtAttr.NAT_DST:
        flow.natDst = decodeNat(c);
        break;
      case CtAttr.TIMEOUT:
        flow.timeout = c.u32be();
        break;
      case CtAttr.MARK:
        flow.mark = c.u32be();
        break;
      case CtAttr.COUNTERS_ORIG:
        flow.countersOrig = decodeCounters(c);
        break;
      case CtAttr.COUNTERS_REPLY:
        flow.countersReply = decodeCounters(c);
        break;
      case CtAttr.USE:
        flow.use = c.u32be();
        break;
      case CtAttr.ID:
        flow.id = c.u32be();
        break;
      case CtAttr.SEQ_ADJ_ORIG:
        flow.seqAdjOrig = decodeSeqAdj(c);
        break;
      case CtAttr.SEQ_ADJ_REPLY:
        flow.seqAdjReply = decodeSeqAdj(c);
        break;
      case CtAttr.SECMARK:
        flow.secmark = c.u32be();
        break;
      case CtAttr.ZONE:
        flow.zone = c.u16be();
        break;
      case CtAttr.SECCTX:
        decodeSecctx(c, flow);
        break;
      case CtAttr.TIMESTAMP:
        flow.timestamp = decodeTimestamp(c);
        break;
      case CtAttr.LABELS:
        flow.labels = c.bytes();
        break;
      case CtAttr.LABELS_MASK:
        flow.labelsMask = c.bytes();
        break;
      case CtAttr.SYNPROXY:
        flow.synproxy = decodeSynproxy(c);
        break;
      case CtAttr.TIMESTAMP_EVENT:
        flow.eventTimestamp = c.u64be();
        break;
    }
  }
  // A truncated event or a hand-made request may lack a direction; the model wants both.
  if (flow.orig === NO_TUPLE) flow.orig = {};
  if (flow.reply === NO_TUPLE) flow.reply = {};
  return flow;
}

function decodeProtoinfo(c: AttributeCursor, flow: Flow): void {
  const a = c.nested();
  while (a.next()) {
    switch (a.type) {
      case ProtoinfoAttr.TCP:
        flow.tcp = decodeTcp(a);
        break;
      case ProtoinfoAttr.SCTP:
        flow.sctp = decodeSctp(a);
        break;
      case ProtoinfoAttr.DCCP:
        flow.dccp = decodeDccp(a);
        break;
    }
  }
}

function decodeTcp(c: AttributeCursor): TcpInfo {
  const tcp: TcpInfo = {};
  const a = c.nested();
  while (a.next()) {
    switch (a.type) {
      case TcpAttr.STATE:
        tcp.state = a.u8();
        break;
      case TcpAttr.WSCALE_ORIGINAL:
        tcp.wscaleOrig = a.u8();
        break;
      case TcpAttr.WSCALE_REPLY:
        tcp.wscaleReply = a.u8();
        break;
      case TcpAttr.FLAGS_ORIGINAL:
        tcp.flagsOrig = decodeTcpFlags(a);
        break;
      case TcpAttr.FLAGS_REPLY:
        tcp.flagsReply = decodeTcpFlags(a);
        break;
    }
  }
  return tcp;
}

/** struct nf_ct_tcp_flags: u8 flags, u8 mask. */
function decodeTcpFlags(a: AttributeCursor): TcpFlags {
  const both = a.u16be();
  return { flags: both >>> 8, mask: both & 0xff };
}

function decodeSctp(c: AttributeCursor): SctpInfo {
  const sctp: SctpInfo = {};
  const a = c.nested();
  while (a.next()) {
    switch (a.type) {
      case SctpAttr.STATE:
        sctp.state = a.u8();
        break;
      case SctpAttr.VTAG_ORIGINAL:
        sctp.vtagOrig = a.u32be();
        break;
      case SctpAttr.VTAG_REPLY:
        sctp.vtagReply = a.u32be();
        break;
    }
  }
  return sctp;
}

function decodeDccp(c: AttributeCursor): DccpInfo {
  const dccp: DccpInfo = {};
  const a = c.nested();
  while (a.next()) {
    switch (a.type) {
      case DccpAttr.STATE:
        dccp.state = a.u8();
        break;
      case DccpAttr.ROLE:
        dccp.role = a.u8();
        break;
      case DccpAttr.HANDSHAKE_SEQ:
        dccp.handshakeSeq = a.u64be();
        break;
    }
  }
  return dccp;
}

function decodeCounters(c: AttributeCursor): Counters {
  const counters: Counters = { packets: 0n, bytes: 0n };
  const a = c.nested();
  while (a.next()) {
    switch (a.type) {
      case CountersAttr.PACKETS:
        counters.packets = a.u64be();
        break;
      case CountersAttr.BYTES:
        counters.bytes = a.u64be();
        break;
      case CountersAttr.PACKETS32:
        counters.packets = BigInt(a.u32be());
        break;
      case CountersAttr.BYTES32:
        counters.bytes = BigInt(a.u32be());
        break;
    }
  }
  return counters;
}

function decodeTimestamp(c: AttributeCursor): Timestamps {
  const timestamp: Timestamps = {};
  const a = c.nested();
  while (a.next()) {
    switch (a.type) {
      case TimestampAttr.START:
        timestamp.start = a.u64be();
        break;
      case TimestampAttr.STOP:
        timestamp.stop = a.u64be();
        break;
    }
  }
  return timestamp;
}

function decodeHelp(c: AttributeCursor, flow: Flow): void {
  const a = c.nested();
  while (a.next()) {
    if (a.type === HelpAttr.NAME) flow.helper = a.string();
  }
}

function decodeSecctx(c: AttributeCursor, flow: Flow): void {
  const a = c.nested();
  while (a.next()) {
    if (a.type === SecctxAttr.NAME) flow.secctx = a.string();
  }
}

function decodeSeqAdj(c: AttributeCursor): SeqAdjust {
  const adj: SeqAdjust = { correctionPos: 0, offsetBefore: 0, offsetAfter: 0 };
  const a = c.nested();
  while (a.next()) {
    switch (a.type) {
      case SeqAdjAttr.CORRECTION_POS:
        adj.correctionPos = a.u32be();
        break;
      case SeqAdjAttr.OFFSET_BEFORE:
        adj.offsetBefore = a.u32be();
        break;
      case SeqAdjAttr.OFFSET_AFTER:
        adj.offsetAfter = a.u32be();
        break;
    }
  }
  return adj;
}

function decodeSynproxy(c: AttributeCursor): Synproxy {
  const synproxy: Synproxy = { isn: 0, its: 0, tsoff: 0 };
  const a = c.nested();
  while (a.next()) {
    switch (a.type) {
      case SynproxyAttr.ISN:
        synproxy.isn = a.u32be();
        break;
      case SynproxyAttr.ITS:
        synproxy.its = a.u32be();
        break;
      case SynproxyAttr.TSOFF:
        synproxy.tsoff = a.u32be();
        break;
    }
  }
  return synproxy;
}

function decodeNat(c: AttributeCursor): NatRange {
  const nat: NatRange = {};
  const a = c.nested();
  while (a.next()) {
    switch (a.type) {
      case NatAttr.V4_MINIP:
        nat.minIp = decodeIPv4(a);
        break;
      case NatAttr.V4_MAXIP:
        nat.maxIp = decodeIPv4(a);
        break;
      case NatAttr.V6_MINIP:
        nat.minIp = decodeIPv6(a);
        break;
      case NatAttr.V6_MAXIP:
        nat.maxIp = decodeIPv6(a);
        break;
      case NatAttr.PROTO:
        decodeNatPorts(a, nat);
        break;
    }
  }
  return nat;
}

function decodeNatPorts(c: AttributeCursor, nat: NatRange): void {
  const a = c.nested();
  while (a.next()) {
    switch (a.type) {
      case ProtoNatAttr.PORT_MIN:
        nat.minPort = a.u16be();
        break;
      case ProtoNatAttr.PORT_MAX:
        nat.maxPort = a.u16be();
        break;
    }
  }
}

/**
 * Writes the request-relevant fields of `f` that are present. Read-only
 * state (use, counters, timestamps, secctx) is never sent, and neither is
 * secmark, which the kernel does not let ctnetlink set. CTA_ID goes along
 * when present: the kernel then deletes or updates exactly that entry, not
 * a newer one that reuses the tuple.
 * `status` replaces f.status (requests that must set IPS_CONFIRMED).
 * Throws RangeError for address text that is not an address of its family.
 */
export function encodeFlow(w: MessageWriter, f: Partial<Flow>, status = f.status): void {
  if (f.orig && hasTupleFields(f.orig)) encodeTuple(w, CtAttr.TUPLE_ORIG, f.orig);
  if (f.reply && hasTupleFields(f.reply)) encodeTuple(w, CtAttr.TUPLE_REPLY, f.reply);
  if (f.master && hasTupleFields(f.master)) encodeTuple(w, CtAttr.TUPLE_MASTER, f.master);
  if (status !== undefined) w.u32be(CtAttr.STATUS, status);
  if (f.timeout !== undefined) w.u32be(CtAttr.TIMEOUT, f.timeout);
  if (f.mark !== undefined) w.u32be(CtAttr.MARK, f.mark);
  if (f.zone !== undefined) w.u16be(CtAttr.ZONE, f.zone);
  if (f.id !== undefined) w.u32be(CtAttr.ID, f.id);
  if (f.tcp || f.sctp || f.dccp) encodeProtoinfo(w, f);
  if (f.natSrc) encodeNat(w, CtAttr.NAT_SRC, f.natSrc);
  if (f.natDst) encodeNat(w, CtAttr.NAT_DST, f.natDst);
  if (f.helper !== undefined) {
    const help = w.beginNested(CtAttr.HELP);
    w.string(HelpAttr.NAME, f.helper);
    w.endNested(help);
  }
  if (f.labels) w.bytes(CtAttr.LABELS, f.labels);
  if (f.labelsMask) w.bytes(CtAttr.LABELS_MASK, f.labelsMask);
  if (f.seqAdjOrig) encodeSeqAdj(w, CtAttr.SEQ_ADJ_ORIG, f.seqAdjOrig);
  if (f.seqAdjReply) encodeSeqAdj(w, CtAttr.SEQ_ADJ_REPLY, f.seqAdjReply);
  if (f.synproxy) {
    const nest = w.beginNested(CtAttr.SYNPROXY);
    w.u32be(SynproxyAttr.ISN, f.synproxy.isn);
    w.u32be(SynproxyAttr.ITS, f.synproxy.its);
    w.u32be(SynproxyAttr.TSOFF, f.synproxy.tsoff);
    w.endNested(nest);
  }
}

function encodeProtoinfo(w: MessageWriter, f: Partial<Flow>): void {
  const info = w.beginNested(CtAttr.PROTOINFO);
  if (f.tcp) {
    const nest = w.beginNested(ProtoinfoAttr.TCP);
    const tcp = f.tcp;
    if (tcp.state !== undefined) w.u8(TcpAttr.STATE, tcp.state);
    if (tcp.wscaleOrig !== undefined) w.u8(TcpAttr.WSCALE_ORIGINAL, tcp.wscaleOrig);
    if (tcp.wscaleReply !== undefined) w.u8(TcpAttr.WSCALE_REPLY, tcp.wscaleReply);
    if (tcp.flagsOrig) w.u16be(TcpAttr.FLAGS_ORIGINAL, (tcp.flagsOrig.flags << 8) | (tcp.flagsOrig.mask & 0xff));
    if (tcp.flagsReply) w.u16be(TcpAttr.FLAGS_REPLY, (tcp.flagsReply.flags << 8) | (tcp.flagsReply.mask & 0xff));
    w.endNested(nest);
  }
  if (f.sctp) {
    const nest = w.beginNested(ProtoinfoAttr.SCTP);
    const sctp = f.sctp;
    if (sctp.state !== undefined) w.u8(SctpAttr.STATE, sctp.state);
    if (sctp.vtagOrig !== undefined) w.u32be(SctpAttr.VTAG_ORIGINAL, sctp.vtagOrig);
    if (sctp.vtagReply !== undefined) w.u32be(SctpAttr.VTAG_REPLY, sctp.vtagReply);
    w.endNested(nest);
  }
  if (f.dccp) {
    const nest = w.beginNested(ProtoinfoAttr.DCCP);
    const dccp = f.dccp;
    if (dccp.state !== undefined) w.u8(DccpAttr.STATE, dccp.state);
    if (dccp.role !== undefined) w.u8(DccpAttr.ROLE, dccp.role);
    if (dccp.handshakeSeq !== undefined) w.u64be(DccpAttr.HANDSHAKE_SEQ, dccp.handshakeSeq);
    w.endNested(nest);
  }
  w.endNested(info);
}

function encodeNat(w: MessageWriter, attrType: number, nat: NatRange): void {
  const nest = w.beginNested(attrType);
  if (nat.minIp !== undefined) writeAddress(w, NatAttr.V4_MINIP, NatAttr.V6_MINIP, nat.minIp);
  if (nat.maxIp !== undefined) writeAddress(w, NatAttr.V4_MAXIP, NatAttr.V6_MAXIP, nat.maxIp);
  if (nat.minPort !== undefined || nat.maxPort !== undefined) {
    const ports = w.beginNested(NatAttr.PROTO);
    if (nat.minPort !== undefined) w.u16be(ProtoNatAttr.PORT_MIN, nat.minPort);
    if (nat.maxPort !== undefined) w.u16be(ProtoNatAttr.PORT_MAX, nat.maxPort);
    w.endNested(ports);
  }
  w.endNested(nest);
}

function encodeSeqAdj(w: MessageWriter, attrType: number, adj: SeqAdjust): void {
  const nest = w.beginNested(attrType);
  w.u32be(SeqAdjAttr.CORRECTION_POS, adj.correctionPos);
  w.u32be(SeqAdjAttr.OFFSET_BEFORE, adj.offsetBefore);
  w.u32be(SeqAdjAttr.OFFSET_AFTER, adj.offsetAfter);
  w.endNested(nest);
}
