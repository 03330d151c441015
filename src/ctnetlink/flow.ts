/**
 * The domain model of a conntrack entry (a "flow"), as decoded from and
 * encoded to ctnetlink messages. Every field is optional where the kernel may
 * omit the attribute: presence matters to the output formats (e.g. `mark=` is
 * printed only when CTA_MARK was sent).
 */

/** One direction of a connection (CTA_TUPLE_ORIG / CTA_TUPLE_REPLY / CTA_TUPLE_MASTER). */
export interface Tuple {
  /** 2 (AF_INET) or 10 (AF_INET6): which CTA_IP_V4_* / CTA_IP_V6_* attributes carried the addresses. */
  l3?: number;
  /** Source address, dotted quad or RFC 5952 text (CTA_IP_V4_SRC / CTA_IP_V6_SRC). */
  src?: string;
  /** Destination address (CTA_IP_V4_DST / CTA_IP_V6_DST). */
  dst?: string;
  /** Layer-4 protocol number (CTA_PROTO_NUM). */
  proto?: number;
  /** Source port, or GRE source key (CTA_PROTO_SRC_PORT). */
  sport?: number;
  /** Destination port, or GRE destination key (CTA_PROTO_DST_PORT). */
  dport?: number;
  /** ICMP/ICMPv6 id (CTA_PROTO_ICMP_ID / CTA_PROTO_ICMPV6_ID). */
  icmpId?: number;
  /** ICMP/ICMPv6 type (CTA_PROTO_ICMP_TYPE / CTA_PROTO_ICMPV6_TYPE). */
  icmpType?: number;
  /** ICMP/ICMPv6 code (CTA_PROTO_ICMP_CODE / CTA_PROTO_ICMPV6_CODE). */
  icmpCode?: number;
  /** Zone of this direction (CTA_TUPLE_ZONE); `conntrack --orig-zone/--reply-zone`. */
  zone?: number;
}

/** Packet and byte counters of one direction; present when `nf_conntrack_acct=1`. */
export interface Counters {
  packets: bigint; // CTA_COUNTERS_PACKETS (or the 32-bit CTA_COUNTERS32_PACKETS)
  bytes: bigint; // CTA_COUNTERS_BYTES (or CTA_COUNTERS32_BYTES)
}

/** TCP protocol info (CTA_PROTOINFO_TCP). */
export interface TcpInfo {
  state?: number; // CTA_PROTOINFO_TCP_STATE
  wscaleOrig?: number; // CTA_PROTOINFO_TCP_WSCALE_ORIGINAL
  wscaleReply?: number; // CTA_PROTOINFO_TCP_WSCALE_REPLY
  flagsOrig?: TcpFlags; // CTA_PROTOINFO_TCP_FLAGS_ORIGINAL
  flagsReply?: TcpFlags; // CTA_PROTOINFO_TCP_FLAGS_REPLY
}

/** struct nf_ct_tcp_flags: the flags and which of them to change. */
export interface TcpFlags {
  flags: number;
  mask: number;
}

/** SCTP protocol info (CTA_PROTOINFO_SCTP). Vtags are the raw 32-bit values as the kernel sends them. */
export interface SctpInfo {
  state?: number; // CTA_PROTOINFO_SCTP_STATE
  vtagOrig?: number; // CTA_PROTOINFO_SCTP_VTAG_ORIGINAL
  vtagReply?: number; // CTA_PROTOINFO_SCTP_VTAG_REPLY
}

/** DCCP protocol info (CTA_PROTOINFO_DCCP). */
export interface DccpInfo {
  state?: number; // CTA_PROTOINFO_DCCP_STATE
  role?: number; // CTA_PROTOINFO_DCCP_ROLE (0 client, 1 server)
  handshakeSeq?: bigint; // CTA_PROTOINFO_DCCP_HANDSHAKE_SEQ
}

/** NAT sequence adjustment of one direction (CTA_SEQ_ADJ_ORIG / _REPLY). */
export interface SeqAdjust {
  correctionPos: number; // CTA_SEQADJ_CORRECTION_POS
  offsetBefore: number; // CTA_SEQADJ_OFFSET_BEFORE
  offsetAfter: number; // CTA_SEQADJ_OFFSET_AFTER
}

/** SYN proxy state (CTA_SYNPROXY). */
export interface Synproxy {
  isn: number; // CTA_SYNPROXY_ISN
  its: number; // CTA_SYNPROXY_ITS
  tsoff: number; // CTA_SYNPROXY_TSOFF
}

/** A NAT request on create (CTA_NAT_SRC / CTA_NAT_DST); `conntrack -I --src-nat/--dst-nat`. */
export interface NatRange {
  minIp?: string; // CTA_NAT_V4_MINIP / CTA_NAT_V6_MINIP
  maxIp?: string; // CTA_NAT_V4_MAXIP / CTA_NAT_V6_MAXIP
  minPort?: number; // CTA_PROTONAT_PORT_MIN
  maxPort?: number; // CTA_PROTONAT_PORT_MAX
}

/** Kernel timestamps in nanoseconds; present when `nf_conntrack_timestamp=1`. */
export interface Timestamps {
  start?: bigint; // CTA_TIMESTAMP_START
  stop?: bigint; // CTA_TIMESTAMP_STOP
}

/** A conntrack entry. */
export interface Flow {
  /** nfgen_family of the message: 2 (IPv4) or 10 (IPv6). */
  family: number;
  orig: Tuple; // CTA_TUPLE_ORIG
  reply: Tuple; // CTA_TUPLE_REPLY
  master?: Tuple; // CTA_TUPLE_MASTER
  /** Status bits (see `Status`), CTA_STATUS. */
  status?: number;
  /** Seconds until the entry expires, CTA_TIMEOUT. */
  timeout?: number;
  mark?: number; // CTA_MARK
  secmark?: number; // CTA_SECMARK
  secctx?: string; // CTA_SECCTX / CTA_SECCTX_NAME
  zone?: number; // CTA_ZONE
  use?: number; // CTA_USE
  id?: number; // CTA_ID
  tcp?: TcpInfo; // CTA_PROTOINFO / CTA_PROTOINFO_TCP
  sctp?: SctpInfo; // CTA_PROTOINFO / CTA_PROTOINFO_SCTP
  dccp?: DccpInfo; // CTA_PROTOINFO / CTA_PROTOINFO_DCCP
  countersOrig?: Counters; // CTA_COUNTERS_ORIG
  countersReply?: Counters; // CTA_COUNTERS_REPLY
  timestamp?: Timestamps; // CTA_TIMESTAMP
  /**
   * When the kernel generated this event, in nanoseconds since the epoch
   * (CTA_TIMESTAMP_EVENT); events only, Linux 6.14, with `nf_conntrack_timestamp=1`.
   */
  eventTimestamp?: bigint;
  helper?: string; // CTA_HELP / CTA_HELP_NAME
  /** Label bitmap: bit n is byte n/8, bit n%8 when read as 32-bit host-order words (CTA_LABELS). */
  labels?: Buffer;
  /** Which label bits an update changes (CTA_LABELS_MASK); requests only. */
  labelsMask?: Buffer;
  seqAdjOrig?: SeqAdjust; // CTA_SEQ_ADJ_ORIG
  seqAdjReply?: SeqAdjust; // CTA_SEQ_ADJ_REPLY
  synproxy?: Synproxy; // CTA_SYNPROXY
  /** Requests only: source NAT to set up on create (CTA_NAT_SRC). */
  natSrc?: NatRange;
  /** Requests only: destination NAT to set up on create (CTA_NAT_DST). */
  natDst?: NatRange;
}
