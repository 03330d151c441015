import { DccpState as Dccp, Family as Fam, Proto, SctpState as Sctp, TcpState as Tcp } from '../ctnetlink/constants';
import { Status as Bit } from '../ctnetlink/status';

/**
 * The library's public constants, as frozen objects that exist at runtime.
 * The codec's own tables are const enums, which vanish at compile time: a
 * project that compiles file by file (isolatedModules: esbuild, Vite, swc)
 * cannot use those, so what the package exports is built from them here.
 */

/** Layer-4 protocol numbers (IPPROTO_*) of the protocols conntrack tracks with state. */
export const Protocol = Object.freeze({
  ICMP: Proto.ICMP,
  TCP: Proto.TCP,
  UDP: Proto.UDP,
  DCCP: Proto.DCCP,
  GRE: Proto.GRE,
  ICMPV6: Proto.ICMPV6,
  SCTP: Proto.SCTP,
  UDPLITE: Proto.UDPLITE,
});

/** A protocol by its lower-case name, as `proto` accepts it (`'tcp'`, `'icmpv6'` …). */
export type ProtocolName = Lowercase<keyof typeof Protocol>;

/** Layer-3 families (AF_INET, AF_INET6), as `Flow.family` and `Tuple.l3` carry them. */
export const Family = Object.freeze({ INET: Fam.INET, INET6: Fam.INET6 });

/** Status bits of an entry (`Flow.status`; IPS_* of the kernel). */
export const Status = Object.freeze({
  EXPECTED: Bit.EXPECTED,
  SEEN_REPLY: Bit.SEEN_REPLY,
  ASSURED: Bit.ASSURED,
  CONFIRMED: Bit.CONFIRMED,
  SRC_NAT: Bit.SRC_NAT,
  DST_NAT: Bit.DST_NAT,
  SEQ_ADJUST: Bit.SEQ_ADJUST,
  SRC_NAT_DONE: Bit.SRC_NAT_DONE,
  DST_NAT_DONE: Bit.DST_NAT_DONE,
  DYING: Bit.DYING,
  FIXED_TIMEOUT: Bit.FIXED_TIMEOUT,
  TEMPLATE: Bit.TEMPLATE,
  NAT_CLASH: Bit.NAT_CLASH,
  HELPER: Bit.HELPER,
  OFFLOAD: Bit.OFFLOAD,
  HW_OFFLOAD: Bit.HW_OFFLOAD,
});

/** TCP tracker states (`Flow.tcp.state`; TCP_CONNTRACK_*). */
export const TcpState = Object.freeze({
  NONE: Tcp.NONE,
  SYN_SENT: Tcp.SYN_SENT,
  SYN_RECV: Tcp.SYN_RECV,
  ESTABLISHED: Tcp.ESTABLISHED,
  FIN_WAIT: Tcp.FIN_WAIT,
  CLOSE_WAIT: Tcp.CLOSE_WAIT,
  LAST_ACK: Tcp.LAST_ACK,
  TIME_WAIT: Tcp.TIME_WAIT,
  CLOSE: Tcp.CLOSE,
  SYN_SENT2: Tcp.SYN_SENT2,
});

/** SCTP tracker states (`Flow.sctp.state`; SCTP_CONNTRACK_*). */
export const SctpState = Object.freeze({
  NONE: Sctp.NONE,
  CLOSED: Sctp.CLOSED,
  COOKIE_WAIT: Sctp.COOKIE_WAIT,
  COOKIE_ECHOED: Sctp.COOKIE_ECHOED,
  ESTABLISHED: Sctp.ESTABLISHED,
  SHUTDOWN_SENT: Sctp.SHUTDOWN_SENT,
  SHUTDOWN_RECD: Sctp.SHUTDOWN_RECD,
  SHUTDOWN_ACK_SENT: Sctp.SHUTDOWN_ACK_SENT,
  HEARTBEAT_SENT: Sctp.HEARTBEAT_SENT,
  HEARTBEAT_ACKED: Sctp.HEARTBEAT_ACKED,
});

/** DCCP tracker states (`Flow.dccp.state`; CT_DCCP_*). */
export const DccpState = Object.freeze({
  NONE: Dccp.NONE,
  REQUEST: Dccp.REQUEST,
  RESPOND: Dccp.RESPOND,
  PARTOPEN: Dccp.PARTOPEN,
  OPEN: Dccp.OPEN,
  CLOSEREQ: Dccp.CLOSEREQ,
  CLOSING: Dccp.CLOSING,
  TIMEWAIT: Dccp.TIMEWAIT,
  IGNORE: Dccp.IGNORE,
  INVALID: Dccp.INVALID,
});
