/**
 * A flow ↔ the attributes of a CT_NEW / CT_UPD / CT_DEL message.
 *
 * Only the original tuple travels; the peer rebuilds the reply tuple as its
 * inverse plus the NAT the sender saw: SNAT_* is the reply destination when
 * the source was translated, DNAT_* the reply source when the destination
 * was, SPAT/DPAT the matching ports. A decoded flow therefore has an empty
 * `reply` and carries that NAT as `natSrc` / `natDst`, ready for a commit.
 *
 * 1.4.7's writing order, which `encodeFlowAttributes` keeps so that our
 * messages are byte-identical to the C daemon's: address, STATUS, L4PROTO,
 * protocol part (PORT, TCP_STATE, WSCALEs / SCTP / DCCP / ICMP type, code,
 * id), TIMEOUT, MARK, master tuple, NAT addresses, NAT ports, NAT_SEQ_ADJ,
 * HELPER_NAME, LABELS, SYNPROXY, ZONE. The receiver does not depend on it.
 */
import type { Flow, NatRange, Tuple } from '../../ctnetlink/flow';
import { Proto, Family } from '../../ctnetlink/constants';
import { Status } from '../../ctnetlink/status';
import { addressBytes, addressText } from './addresses';
import { AttrWriter, FLOW_ATTR_SIZES, FlowAttr, walkAttributes } from './attributes';
import { SyncEncodeError } from './errors';

/** How the sender is configured, as far as the attributes are concerned. */
export interface FlowEncodeOptions {
  /** `CommitTimeout` is set: the peer commits with it, so TIMEOUT is left out. */
  omitTimeout?: boolean;
  /** `TCPWindowTracking on`: the window scale factors travel too. */
  windowTracking?: boolean;
}

/** Protocols whose messages always carry PORT (1.4.7 sends it even when the kernel did not report ports). */
const ALWAYS_PORT: ReadonlySet<number> = new Set([Proto.TCP, Proto.UDP, Proto.SCTP, Proto.DCCP]);

/** Appends the attributes of `flow` to `w`. @throws SyncEncodeError when the flow has no family, addresses or protocol. */
export function encodeFlowAttributes(w: AttrWriter, flow: Flow, opts: FlowEncodeOptions = {}): void {
  const { orig } = flow;
  const family = flow.family;
  if (family !== Family.INET && family !== Family.INET6) throw new SyncEncodeError(`flow family ${family}`);
  if (orig.proto === undefined) throw new SyncEncodeError('flow without a layer-4 protocol');
  const v4 = family === Family.INET;
  w.bytes(v4 ? FlowAttr.IPV4 : FlowAttr.IPV6, addressBytes(orig.src, family, 'source'), addressBytes(orig.dst, family, 'destination'));
  if (flow.status !== undefined) w.u32(FlowAttr.STATUS, flow.status);
  w.u8(FlowAttr.L4PROTO, orig.proto);
  encodeProtocolPart(w, flow, opts);
  if (flow.timeout !== undefined && !opts.omitTimeout) w.u32(FlowAttr.TIMEOUT, flow.timeout);
  if (flow.mark !== undefined) w.u32(FlowAttr.MARK, flow.mark);
  if (flow.master?.src !== undefined) encodeMaster(w, flow.master, flow.master.l3 ?? family);
  const nat = natOf(flow);
  if (nat.src?.minIp !== undefined) w.bytes(v4 ? FlowAttr.SNAT_IPV4 : FlowAttr.SNAT_IPV6, addressBytes(nat.src.minIp, family, 'SNAT'));
  if (nat.dst?.minIp !== undefined) w.bytes(v4 ? FlowAttr.DNAT_IPV4 : FlowAttr.DNAT_IPV6, addressBytes(nat.dst.minIp, family, 'DNAT'));
  if (nat.src?.minPort !== undefined) w.u16le(FlowAttr.SPAT_PORT, nat.src.minPort);
  if (nat.dst?.minPort !== undefined) w.u16le(FlowAttr.DPAT_PORT, nat.dst.minPort);
  const { seqAdjOrig: o, seqAdjReply: r } = flow;
  if (o && r) {
    w.u32s(FlowAttr.NAT_SEQ_ADJ, [o.correctionPos, o.offsetBefore, o.offsetAfter, r.correctionPos, r.offsetBefore, r.offsetAfter]);
  }
  if (flow.helper !== undefined) w.string(FlowAttr.HELPER_NAME, flow.helper);
  if (flow.labels && flow.labels.some((b) => b !== 0)) w.u32s(FlowAttr.LABELS, labelWords(flow.labels));
  if (flow.synproxy) w.u32s(FlowAttr.SYNPROXY, [flow.synproxy.its, flow.synproxy.isn, flow.synproxy.tsoff]);
  if (flow.zone !== undefined) w.u16be(FlowAttr.ZONE, flow.zone);
}

function encodeProtocolPart(w: AttrWriter, flow: Flow, opts: FlowEncodeOptions): void {
  const { orig } = flow;
  if (ALWAYS_PORT.has(orig.proto!)) w.u16pair(FlowAttr.PORT, orig.sport ?? 0, orig.dport ?? 0);
  switch (orig.proto) {
    case Proto.TCP:
      if (flow.tcp?.state === undefined) return;
      w.u8(FlowAttr.TCP_STATE, flow.tcp.state);
      if (opts.windowTracking) {
        w.u8(FlowAttr.TCP_WSCALE_ORIG, flow.tcp.wscaleOrig ?? 0);
        w.u8(FlowAttr.TCP_WSCALE_REPL, flow.tcp.wscaleReply ?? 0);
      }
      return;
    case Proto.SCTP:
      if (flow.sctp?.state === undefined) return;
      w.u8(FlowAttr.SCTP_STATE, flow.sctp.state);
      w.u32(FlowAttr.SCTP_VTAG_ORIG, flow.sctp.vtagOrig ?? 0);
      w.u32(FlowAttr.SCTP_VTAG_REPL, flow.sctp.vtagReply ?? 0);
      return;
    case Proto.DCCP:
      if (flow.dccp?.state === undefined) return;
      w.u8(FlowAttr.DCCP_STATE, flow.dccp.state);
      w.u8(FlowAttr.DCCP_ROLE, flow.dccp.role ?? 0);
      return;
    case Proto.ICMP:
    case Proto.ICMPV6:
      if (orig.icmpType !== undefined) w.u8(FlowAttr.ICMP_TYPE, orig.icmpType);
      if (orig.icmpCode !== undefined) w.u8(FlowAttr.ICMP_CODE, orig.icmpCode);
      if (orig.icmpId !== undefined) w.u16le(FlowAttr.ICMP_ID, orig.icmpId);
      return;
  }
}

function encodeMaster(w: AttrWriter, m: Tuple, family: number): void {
  const v4 = family === Family.INET;
  w.bytes(v4 ? FlowAttr.MASTER_IPV4 : FlowAttr.MASTER_IPV6, addressBytes(m.src, family, 'master source'), addressBytes(m.dst, family, 'master destination'));
  if (m.proto !== undefined) w.u8(FlowAttr.MASTER_L4PROTO, m.proto);
  if (m.sport !== undefined || m.dport !== undefined) w.u16pair(FlowAttr.MASTER_PORT, m.sport ?? 0, m.dport ?? 0);
}

/**
 * The NAT to replicate: the flow's own `natSrc`/`natDst` when it has them
 * (a decoded flow being passed on), else what its reply tuple shows. As
 * libnetfilter_conntrack decides it for 1.4.7: source NAT when the kernel
 * says it is done (SRC_NAT_DONE) and the reply destination differs from the
 * original source; likewise for destination NAT; ports the same way.
 */
function natOf(flow: Flow): { src?: NatRange; dst?: NatRange } {
  if (flow.natSrc || flow.natDst) return { src: flow.natSrc, dst: flow.natDst };
  const { orig, reply } = flow;
  const status = flow.status ?? 0;
  const out: { src?: NatRange; dst?: NatRange } = {};
  if (status & Status.SRC_NAT_DONE) out.src = translated(orig.src, reply.dst, orig.sport, reply.dport);
  if (status & Status.DST_NAT_DONE) out.dst = translated(orig.dst, reply.src, orig.dport, reply.sport);
  return out;
}

function translated(ip: string | undefined, replyIp: string | undefined, port: number | undefined, replyPort: number | undefined): NatRange | undefined {
  const r: NatRange = {};
  if (replyIp !== undefined && replyIp !== ip) r.minIp = replyIp;
  if (replyPort !== undefined && port !== undefined && replyPort !== port) r.minPort = replyPort;
  return r.minIp === undefined && r.minPort === undefined ? undefined : r;
}

/** The label bitmap as 32-bit words: the library keeps host-order (x86: little-endian) words. */
function labelWords(labels: Buffer): number[] {
  const words: number[] = [];
  for (let i = 0; i + 4 <= labels.length; i += 4) words.push(labels.readUInt32LE(i));
  return words;
}

/**
 * The flow in the attributes of `buf[start, end)`.
 * @throws SyncDecodeError('bad-payload') when they break 1.4.7's rules.
 */
export function decodeFlowAttributes(buf: Buffer, start: number, end: number): Flow {
  const orig: Tuple = {};
  const flow: Flow = { family: 0, orig, reply: {} };
  const master = (): Tuple => (flow.master ??= {});
  const natSrc = (): NatRange => (flow.natSrc ??= {});
  const natDst = (): NatRange => (flow.natDst ??= {});
  walkAttributes(buf, start, end, FLOW_ATTR_SIZES, (type, at, n) => {
    switch (type as FlowAttr) {
      case FlowAttr.IPV4:
      case FlowAttr.IPV6: {
        const size = n / 2 as 4 | 16;
        flow.family = orig.l3 = size === 4 ? Family.INET : Family.INET6;
        orig.src = addressText(buf, at, size);
        orig.dst = addressText(buf, at + size, size);
        return;
      }
      case FlowAttr.L4PROTO: orig.proto = buf[at]!; return;
      case FlowAttr.PORT: orig.sport = buf.readUInt16BE(at); orig.dport = buf.readUInt16BE(at + 2); return;
      case FlowAttr.TCP_STATE: (flow.tcp ??= {}).state = buf[at]!; return;
      case FlowAttr.TCP_WSCALE_ORIG: (flow.tcp ??= {}).wscaleOrig = buf[at]!; return;
      case FlowAttr.TCP_WSCALE_REPL: (flow.tcp ??= {}).wscaleReply = buf[at]!; return;
      case FlowAttr.STATUS: flow.status = buf.readUInt32BE(at); return;
      case FlowAttr.TIMEOUT: flow.timeout = buf.readUInt32BE(at); return;
      case FlowAttr.MARK: flow.mark = buf.readUInt32BE(at); return;
      case FlowAttr.MASTER_IPV4:
      case FlowAttr.MASTER_IPV6: {
        const size = n / 2 as 4 | 16;
        const m = master();
        m.l3 = size === 4 ? Family.INET : Family.INET6;
        m.src = addressText(buf, at, size);
        m.dst = addressText(buf, at + size, size);
        return;
      }
      case FlowAttr.MASTER_L4PROTO: master().proto = buf[at]!; return;
      case FlowAttr.MASTER_PORT: master().sport = buf.readUInt16BE(at); master().dport = buf.readUInt16BE(at + 2); return;
      case FlowAttr.SNAT_IPV4: natSrc().minIp = addressText(buf, at, 4); return;
      case FlowAttr.DNAT_IPV4: natDst().minIp = addressText(buf, at, 4); return;
      case FlowAttr.SNAT_IPV6: natSrc().minIp = addressText(buf, at, 16); return;
      case FlowAttr.DNAT_IPV6: natDst().minIp = addressText(buf, at, 16); return;
      case FlowAttr.SPAT_PORT: natSrc().minPort = buf.readUInt16LE(at); return;
      case FlowAttr.DPAT_PORT: natDst().minPort = buf.readUInt16LE(at); return;
      case FlowAttr.NAT_SEQ_ADJ: {
        const u = (i: number): number => buf.readUInt32BE(at + 4 * i);
        flow.seqAdjOrig = { correctionPos: u(0), offsetBefore: u(1), offsetAfter: u(2) };
        flow.seqAdjReply = { correctionPos: u(3), offsetBefore: u(4), offsetAfter: u(5) };
        return;
      }
      case FlowAttr.SCTP_STATE: (flow.sctp ??= {}).state = buf[at]!; return;
      case FlowAttr.SCTP_VTAG_ORIG: (flow.sctp ??= {}).vtagOrig = buf.readUInt32BE(at); return;
      case FlowAttr.SCTP_VTAG_REPL: (flow.sctp ??= {}).vtagReply = buf.readUInt32BE(at); return;
      case FlowAttr.DCCP_STATE: (flow.dccp ??= {}).state = buf[at]!; return;
      case FlowAttr.DCCP_ROLE: (flow.dccp ??= {}).role = buf[at]!; return;
      case FlowAttr.ICMP_TYPE: orig.icmpType = buf[at]!; return;
      case FlowAttr.ICMP_CODE: orig.icmpCode = buf[at]!; return;
      case FlowAttr.ICMP_ID: orig.icmpId = buf.readUInt16LE(at); return;
      case FlowAttr.HELPER_NAME: flow.helper = cString(buf, at, n); return;
      case FlowAttr.LABELS: {
        const labels = Buffer.alloc(n & ~3);
        for (let i = 0; i < labels.length; i += 4) labels.writeUInt32LE(buf.readUInt32BE(at + i), i);
        flow.labels = labels;
        return;
      }
      case FlowAttr.SYNPROXY:
        flow.synproxy = { its: buf.readUInt32BE(at), isn: buf.readUInt32BE(at + 4), tsoff: buf.readUInt32BE(at + 8) };
        return;
      case FlowAttr.ZONE: flow.zone = buf.readUInt16BE(at); return;
    }
  });
  return flow;
}

/** A NUL-terminated string of at most `n` bytes (1.4.7 copies up to the NUL). */
export function cString(buf: Buffer, at: number, n: number): string {
  const nul = buf.indexOf(0, at);
  return buf.toString('latin1', at, nul < 0 || nul > at + n ? at + n : nul);
}
