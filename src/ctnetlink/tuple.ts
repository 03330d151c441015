import { Family, Proto } from './constants';
import type { NatRange, Tuple } from './flow';

/** Protocols whose tuples carry CTA_PROTO_SRC_PORT / _DST_PORT (GRE keys travel there too). */
export const PORT_PROTOCOLS: ReadonlySet<number> = new Set([Proto.TCP, Proto.UDP, Proto.UDPLITE, Proto.SCTP, Proto.DCCP, Proto.GRE]);

/** The ICMP request/reply type pairs the kernel tracks as one connection, per family. */
const ICMP_REPLY_TYPES: Readonly<Record<number, ReadonlyMap<number, number>>> = {
  [Family.INET]: new Map([[8, 0], [0, 8], [13, 14], [14, 13], [15, 16], [16, 15], [17, 18], [18, 17]]),
  [Family.INET6]: new Map([[128, 129], [129, 128], [139, 140], [140, 139]]),
};

/** The reply-direction ICMP type of `type`, or undefined when the kernel tracks no reply for it. */
export function icmpReplyType(family: number, type: number): number | undefined {
  return ICMP_REPLY_TYPES[family]?.get(type);
}

/**
 * The tuple of the other direction when no NAT is involved: addresses and
 * ports swapped, ICMP type mapped to its reply (255, which the kernel
 * refuses, when there is none — as libnetfilter_conntrack does).
 */
export function invertTuple(t: Tuple): Tuple {
  const out: Tuple = {};
  if (t.l3 !== undefined) out.l3 = t.l3;
  if (t.dst !== undefined) out.src = t.dst;
  if (t.src !== undefined) out.dst = t.src;
  if (t.proto !== undefined) out.proto = t.proto;
  if (t.proto !== undefined && PORT_PROTOCOLS.has(t.proto)) {
    if (t.dport !== undefined) out.sport = t.dport;
    if (t.sport !== undefined) out.dport = t.sport;
  }
  if (t.icmpType !== undefined) out.icmpType = icmpReplyType(t.l3 ?? Family.INET, t.icmpType) ?? 255;
  if (t.icmpCode !== undefined) out.icmpCode = t.icmpCode;
  if (t.icmpId !== undefined) out.icmpId = t.icmpId;
  return out;
}

/**
 * The reply tuple of a NATed connection, from its original tuple and the
 * translation applied to it: the inverse of `orig`, then the reply goes to
 * the source NAT address and port (`natSrc`) and comes from the destination
 * NAT address and port (`natDst`). What conntrackd needs to recreate a flow
 * known only by its original tuple and NAT on another node
 * (`conntrackd -c`); `conntrack -I --src-nat/--dst-nat` in the CLI.
 */
export function translatedReply(orig: Tuple, nat: { natSrc?: NatRange; natDst?: NatRange }): Tuple {
  const reply = invertTuple(orig);
  const { natSrc, natDst } = nat;
  if (natSrc?.minIp !== undefined) reply.dst = natSrc.minIp;
  if (natDst?.minIp !== undefined) reply.src = natDst.minIp;
  if (natSrc?.minPort !== undefined) reply.dport = natSrc.minPort;
  if (natDst?.minPort !== undefined) reply.sport = natDst.minPort;
  return reply;
}
