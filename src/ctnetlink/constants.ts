/**
 * ctnetlink numbers, named as the kernel names them (linux/netfilter/
 * nfnetlink_conntrack.h, nf_conntrack_tcp.h, nf_conntrack_sctp.h and the
 * kernel-internal nf_conntrack_dccp.h whose values reach userspace).
 *
 * All are const enums: they vanish at compile time, so a `switch` over them in
 * the decoders compiles to plain integer comparisons.
 */

/** Message types of NFNL_SUBSYS_CTNETLINK (enum cntl_msg_types). */
export const enum CtMsg {
  NEW = 0, // IPCTNL_MSG_CT_NEW
  GET = 1, // IPCTNL_MSG_CT_GET
  DELETE = 2, // IPCTNL_MSG_CT_DELETE
  GET_CTRZERO = 3, // IPCTNL_MSG_CT_GET_CTRZERO
  GET_STATS_CPU = 4, // IPCTNL_MSG_CT_GET_STATS_CPU
  GET_STATS = 5, // IPCTNL_MSG_CT_GET_STATS
  GET_DYING = 6, // IPCTNL_MSG_CT_GET_DYING
  GET_UNCONFIRMED = 7, // IPCTNL_MSG_CT_GET_UNCONFIRMED
}

/** Message types of NFNL_SUBSYS_CTNETLINK_EXP (enum ctnl_exp_msg_types). */
export const enum ExpMsg {
  NEW = 0, // IPCTNL_MSG_EXP_NEW
  GET = 1, // IPCTNL_MSG_EXP_GET
  DELETE = 2, // IPCTNL_MSG_EXP_DELETE
  GET_STATS_CPU = 3, // IPCTNL_MSG_EXP_GET_STATS_CPU
}

/** Top-level conntrack attributes (enum ctattr_type). */
export const enum CtAttr {
  TUPLE_ORIG = 1, // CTA_TUPLE_ORIG
  TUPLE_REPLY = 2, // CTA_TUPLE_REPLY
  STATUS = 3, // CTA_STATUS
  PROTOINFO = 4, // CTA_PROTOINFO
  HELP = 5, // CTA_HELP
  NAT_SRC = 6, // CTA_NAT_SRC (alias CTA_NAT)
  TIMEOUT = 7, // CTA_TIMEOUT
  MARK = 8, // CTA_MARK
  COUNTERS_ORIG = 9, // CTA_COUNTERS_ORIG
  COUNTERS_REPLY = 10, // CTA_COUNTERS_REPLY
  USE = 11, // CTA_USE
  ID = 12, // CTA_ID
  NAT_DST = 13, // CTA_NAT_DST
  TUPLE_MASTER = 14, // CTA_TUPLE_MASTER
  SEQ_ADJ_ORIG = 15, // CTA_SEQ_ADJ_ORIG (alias CTA_NAT_SEQ_ADJ_ORIG)
  SEQ_ADJ_REPLY = 16, // CTA_SEQ_ADJ_REPLY (alias CTA_NAT_SEQ_ADJ_REPLY)
  SECMARK = 17, // CTA_SECMARK
  ZONE = 18, // CTA_ZONE
  SECCTX = 19, // CTA_SECCTX
  TIMESTAMP = 20, // CTA_TIMESTAMP
  MARK_MASK = 21, // CTA_MARK_MASK
  LABELS = 22, // CTA_LABELS
  LABELS_MASK = 23, // CTA_LABELS_MASK
  SYNPROXY = 24, // CTA_SYNPROXY
  FILTER = 25, // CTA_FILTER (Linux 5.8)
  STATUS_MASK = 26, // CTA_STATUS_MASK (Linux 5.19)
  TIMESTAMP_EVENT = 27, // CTA_TIMESTAMP_EVENT (Linux 6.14, events only; newer than some installed UAPI headers)
}

/** Inside CTA_TUPLE_ORIG / _REPLY / _MASTER and the expectation tuples (enum ctattr_tuple). */
export const enum TupleAttr {
  IP = 1, // CTA_TUPLE_IP
  PROTO = 2, // CTA_TUPLE_PROTO
  ZONE = 3, // CTA_TUPLE_ZONE
}

/** Inside CTA_TUPLE_IP (enum ctattr_ip). Addresses in network byte order. */
export const enum IpAttr {
  V4_SRC = 1, // CTA_IP_V4_SRC
  V4_DST = 2, // CTA_IP_V4_DST
  V6_SRC = 3, // CTA_IP_V6_SRC
  V6_DST = 4, // CTA_IP_V6_DST
}

/** Inside CTA_TUPLE_PROTO (enum ctattr_l4proto). */
export const enum ProtoAttr {
  NUM = 1, // CTA_PROTO_NUM
  SRC_PORT = 2, // CTA_PROTO_SRC_PORT
  DST_PORT = 3, // CTA_PROTO_DST_PORT
  ICMP_ID = 4, // CTA_PROTO_ICMP_ID
  ICMP_TYPE = 5, // CTA_PROTO_ICMP_TYPE
  ICMP_CODE = 6, // CTA_PROTO_ICMP_CODE
  ICMPV6_ID = 7, // CTA_PROTO_ICMPV6_ID
  ICMPV6_TYPE = 8, // CTA_PROTO_ICMPV6_TYPE
  ICMPV6_CODE = 9, // CTA_PROTO_ICMPV6_CODE
}

/** Inside CTA_PROTOINFO (enum ctattr_protoinfo). */
export const enum ProtoinfoAttr {
  TCP = 1, // CTA_PROTOINFO_TCP
  DCCP = 2, // CTA_PROTOINFO_DCCP
  SCTP = 3, // CTA_PROTOINFO_SCTP
}

/** Inside CTA_PROTOINFO_TCP (enum ctattr_protoinfo_tcp). */
export const enum TcpAttr {
  STATE = 1, // CTA_PROTOINFO_TCP_STATE
  WSCALE_ORIGINAL = 2, // CTA_PROTOINFO_TCP_WSCALE_ORIGINAL
  WSCALE_REPLY = 3, // CTA_PROTOINFO_TCP_WSCALE_REPLY
  FLAGS_ORIGINAL = 4, // CTA_PROTOINFO_TCP_FLAGS_ORIGINAL
  FLAGS_REPLY = 5, // CTA_PROTOINFO_TCP_FLAGS_REPLY
}

/** Inside CTA_PROTOINFO_SCTP (enum ctattr_protoinfo_sctp). */
export const enum SctpAttr {
  STATE = 1, // CTA_PROTOINFO_SCTP_STATE
  VTAG_ORIGINAL = 2, // CTA_PROTOINFO_SCTP_VTAG_ORIGINAL
  VTAG_REPLY = 3, // CTA_PROTOINFO_SCTP_VTAG_REPLY
}

/** Inside CTA_PROTOINFO_DCCP (enum ctattr_protoinfo_dccp). */
export const enum DccpAttr {
  STATE = 1, // CTA_PROTOINFO_DCCP_STATE
  ROLE = 2, // CTA_PROTOINFO_DCCP_ROLE
  HANDSHAKE_SEQ = 3, // CTA_PROTOINFO_DCCP_HANDSHAKE_SEQ
  PAD = 4, // CTA_PROTOINFO_DCCP_PAD
}

/** Inside CTA_COUNTERS_ORIG / _REPLY (enum ctattr_counters). */
export const enum CountersAttr {
  PACKETS = 1, // CTA_COUNTERS_PACKETS (be64)
  BYTES = 2, // CTA_COUNTERS_BYTES (be64)
  PACKETS32 = 3, // CTA_COUNTERS32_PACKETS (be32, old kernels)
  BYTES32 = 4, // CTA_COUNTERS32_BYTES (be32, old kernels)
  PAD = 5, // CTA_COUNTERS_PAD
}

/** Inside CTA_TIMESTAMP (enum ctattr_tstamp). */
export const enum TimestampAttr {
  START = 1, // CTA_TIMESTAMP_START
  STOP = 2, // CTA_TIMESTAMP_STOP
  PAD = 3, // CTA_TIMESTAMP_PAD
}

/** Inside CTA_HELP (enum ctattr_help). */
export const enum HelpAttr {
  NAME = 1, // CTA_HELP_NAME
  INFO = 2, // CTA_HELP_INFO
}

/** Inside CTA_SECCTX (enum ctattr_secctx). */
export const enum SecctxAttr {
  NAME = 1, // CTA_SECCTX_NAME
}

/** Inside CTA_SEQ_ADJ_ORIG / _REPLY (enum ctattr_seqadj, same numbers as ctattr_natseq). */
export const enum SeqAdjAttr {
  CORRECTION_POS = 1, // CTA_SEQADJ_CORRECTION_POS
  OFFSET_BEFORE = 2, // CTA_SEQADJ_OFFSET_BEFORE
  OFFSET_AFTER = 3, // CTA_SEQADJ_OFFSET_AFTER
}

/** Inside CTA_SYNPROXY (enum ctattr_synproxy). */
export const enum SynproxyAttr {
  ISN = 1, // CTA_SYNPROXY_ISN
  ITS = 2, // CTA_SYNPROXY_ITS
  TSOFF = 3, // CTA_SYNPROXY_TSOFF
}

/** Inside CTA_NAT_SRC / CTA_NAT_DST and CTA_EXPECT_NAT's tuple (enum ctattr_nat). */
export const enum NatAttr {
  V4_MINIP = 1, // CTA_NAT_V4_MINIP (alias CTA_NAT_MINIP)
  V4_MAXIP = 2, // CTA_NAT_V4_MAXIP (alias CTA_NAT_MAXIP)
  PROTO = 3, // CTA_NAT_PROTO
  V6_MINIP = 4, // CTA_NAT_V6_MINIP
  V6_MAXIP = 5, // CTA_NAT_V6_MAXIP
}

/** Inside CTA_NAT_PROTO (enum ctattr_protonat). */
export const enum ProtoNatAttr {
  PORT_MIN = 1, // CTA_PROTONAT_PORT_MIN
  PORT_MAX = 2, // CTA_PROTONAT_PORT_MAX
}

/** Per-CPU statistics of IPCTNL_MSG_CT_GET_STATS_CPU, all be32 (enum ctattr_stats_cpu). */
export const enum StatsCpuAttr {
  SEARCHED = 1, // CTA_STATS_SEARCHED (no longer sent)
  FOUND = 2, // CTA_STATS_FOUND
  NEW = 3, // CTA_STATS_NEW (no longer sent)
  INVALID = 4, // CTA_STATS_INVALID
  IGNORE = 5, // CTA_STATS_IGNORE (no longer sent)
  DELETE = 6, // CTA_STATS_DELETE (no longer sent)
  DELETE_LIST = 7, // CTA_STATS_DELETE_LIST (no longer sent)
  INSERT = 8, // CTA_STATS_INSERT
  INSERT_FAILED = 9, // CTA_STATS_INSERT_FAILED
  DROP = 10, // CTA_STATS_DROP
  EARLY_DROP = 11, // CTA_STATS_EARLY_DROP
  ERROR = 12, // CTA_STATS_ERROR
  SEARCH_RESTART = 13, // CTA_STATS_SEARCH_RESTART
  CLASH_RESOLVE = 14, // CTA_STATS_CLASH_RESOLVE
  CHAIN_TOOLONG = 15, // CTA_STATS_CHAIN_TOOLONG
}

/** Table-wide counts of IPCTNL_MSG_CT_GET_STATS, be32 (enum ctattr_stats_global). */
export const enum StatsGlobalAttr {
  ENTRIES = 1, // CTA_STATS_GLOBAL_ENTRIES
  MAX_ENTRIES = 2, // CTA_STATS_GLOBAL_MAX_ENTRIES
}

/** Per-CPU expectation statistics of IPCTNL_MSG_EXP_GET_STATS_CPU, be32 (enum ctattr_expect_stats). */
export const enum StatsExpAttr {
  NEW = 1, // CTA_STATS_EXP_NEW
  CREATE = 2, // CTA_STATS_EXP_CREATE
  DELETE = 3, // CTA_STATS_EXP_DELETE
}

/** Inside CTA_FILTER: which tuple fields a dump or flush compares (enum ctattr_filter, Linux 5.8). */
export const enum FilterAttr {
  ORIG_FLAGS = 1, // CTA_FILTER_ORIG_FLAGS (be32 FilterFlag bits)
  REPLY_FLAGS = 2, // CTA_FILTER_REPLY_FLAGS (be32 FilterFlag bits)
}

/**
 * Bits of CTA_FILTER_ORIG_FLAGS / _REPLY_FLAGS. The UAPI header does not
 * carry them: libnetfilter_conntrack names them CTA_FILTER_FLAG_*, the kernel
 * CTA_FILTER_F_* (net/netfilter/nf_internals.h) and rejects unknown bits.
 */
export const enum FilterFlag {
  IP_SRC = 1 << 0, // CTA_FILTER_FLAG_CTA_IP_SRC
  IP_DST = 1 << 1, // CTA_FILTER_FLAG_CTA_IP_DST
  TUPLE_ZONE = 1 << 2, // CTA_FILTER_FLAG_CTA_TUPLE_ZONE
  PROTO_NUM = 1 << 3, // CTA_FILTER_FLAG_CTA_PROTO_NUM
  PROTO_SRC_PORT = 1 << 4, // CTA_FILTER_FLAG_CTA_PROTO_SRC_PORT
  PROTO_DST_PORT = 1 << 5, // CTA_FILTER_FLAG_CTA_PROTO_DST_PORT
  PROTO_ICMP_TYPE = 1 << 6, // CTA_FILTER_FLAG_CTA_PROTO_ICMP_TYPE
  PROTO_ICMP_CODE = 1 << 7, // CTA_FILTER_FLAG_CTA_PROTO_ICMP_CODE
  PROTO_ICMP_ID = 1 << 8, // CTA_FILTER_FLAG_CTA_PROTO_ICMP_ID
  PROTO_ICMPV6_TYPE = 1 << 9, // CTA_FILTER_FLAG_CTA_PROTO_ICMPV6_TYPE
  PROTO_ICMPV6_CODE = 1 << 10, // CTA_FILTER_FLAG_CTA_PROTO_ICMPV6_CODE
  PROTO_ICMPV6_ID = 1 << 11, // CTA_FILTER_FLAG_CTA_PROTO_ICMPV6_ID
  ALL = (1 << 12) - 1, // CTA_FILTER_F_ALL (kernel)
}

/** Expectation attributes (enum ctattr_expect). */
export const enum ExpectAttr {
  MASTER = 1, // CTA_EXPECT_MASTER
  TUPLE = 2, // CTA_EXPECT_TUPLE
  MASK = 3, // CTA_EXPECT_MASK
  TIMEOUT = 4, // CTA_EXPECT_TIMEOUT
  ID = 5, // CTA_EXPECT_ID
  HELP_NAME = 6, // CTA_EXPECT_HELP_NAME
  ZONE = 7, // CTA_EXPECT_ZONE
  FLAGS = 8, // CTA_EXPECT_FLAGS
  CLASS = 9, // CTA_EXPECT_CLASS
  NAT = 10, // CTA_EXPECT_NAT
  FN = 11, // CTA_EXPECT_FN
}

/** Inside CTA_EXPECT_NAT (enum ctattr_expect_nat). */
export const enum ExpectNatAttr {
  DIR = 1, // CTA_EXPECT_NAT_DIR
  TUPLE = 2, // CTA_EXPECT_NAT_TUPLE
}

/** CTA_EXPECT_FLAGS bits (NF_CT_EXPECT_* in nf_conntrack_common.h). */
export const enum ExpectFlag {
  PERMANENT = 0x1, // NF_CT_EXPECT_PERMANENT
  INACTIVE = 0x2, // NF_CT_EXPECT_INACTIVE
  USERSPACE = 0x4, // NF_CT_EXPECT_USERSPACE
}

/** Layer-4 protocol numbers (IPPROTO_* in netinet/in.h) that the codec treats specially. */
export const enum Proto {
  ICMP = 1, // IPPROTO_ICMP
  TCP = 6, // IPPROTO_TCP
  UDP = 17, // IPPROTO_UDP
  DCCP = 33, // IPPROTO_DCCP
  GRE = 47, // IPPROTO_GRE
  ICMPV6 = 58, // IPPROTO_ICMPV6
  SCTP = 132, // IPPROTO_SCTP
  UDPLITE = 136, // IPPROTO_UDPLITE
}

/** Layer-3 families as nfgen_family carries them (AF_* / NFPROTO_*). */
export const enum Family {
  UNSPEC = 0, // AF_UNSPEC: every family (dumps, flushes)
  INET = 2, // AF_INET
  INET6 = 10, // AF_INET6
}

/** TCP tracker states (enum tcp_conntrack); CTA_PROTOINFO_TCP_STATE. */
export const enum TcpState {
  NONE = 0, // TCP_CONNTRACK_NONE
  SYN_SENT = 1, // TCP_CONNTRACK_SYN_SENT
  SYN_RECV = 2, // TCP_CONNTRACK_SYN_RECV
  ESTABLISHED = 3, // TCP_CONNTRACK_ESTABLISHED
  FIN_WAIT = 4, // TCP_CONNTRACK_FIN_WAIT
  CLOSE_WAIT = 5, // TCP_CONNTRACK_CLOSE_WAIT
  LAST_ACK = 6, // TCP_CONNTRACK_LAST_ACK
  TIME_WAIT = 7, // TCP_CONNTRACK_TIME_WAIT
  CLOSE = 8, // TCP_CONNTRACK_CLOSE
  SYN_SENT2 = 9, // TCP_CONNTRACK_SYN_SENT2 (= TCP_CONNTRACK_LISTEN, obsolete name)
  MAX = 10, // TCP_CONNTRACK_MAX: first value that is not a state
}

/** Bits of struct nf_ct_tcp_flags (IP_CT_TCP_FLAG_* in nf_conntrack_tcp.h). */
export const enum TcpFlag {
  WINDOW_SCALE = 0x01, // IP_CT_TCP_FLAG_WINDOW_SCALE
  SACK_PERM = 0x02, // IP_CT_TCP_FLAG_SACK_PERM
  CLOSE_INIT = 0x04, // IP_CT_TCP_FLAG_CLOSE_INIT
  BE_LIBERAL = 0x08, // IP_CT_TCP_FLAG_BE_LIBERAL
  DATA_UNACKNOWLEDGED = 0x10, // IP_CT_TCP_FLAG_DATA_UNACKNOWLEDGED
  MAXACK_SET = 0x20, // IP_CT_TCP_FLAG_MAXACK_SET
  CHALLENGE_ACK = 0x40, // IP_CT_EXP_CHALLENGE_ACK
  SIMULTANEOUS_OPEN = 0x80, // IP_CT_TCP_SIMULTANEOUS_OPEN
}

/** SCTP tracker states (enum sctp_conntrack); CTA_PROTOINFO_SCTP_STATE. */
export const enum SctpState {
  NONE = 0, // SCTP_CONNTRACK_NONE
  CLOSED = 1, // SCTP_CONNTRACK_CLOSED
  COOKIE_WAIT = 2, // SCTP_CONNTRACK_COOKIE_WAIT
  COOKIE_ECHOED = 3, // SCTP_CONNTRACK_COOKIE_ECHOED
  ESTABLISHED = 4, // SCTP_CONNTRACK_ESTABLISHED
  SHUTDOWN_SENT = 5, // SCTP_CONNTRACK_SHUTDOWN_SENT
  SHUTDOWN_RECD = 6, // SCTP_CONNTRACK_SHUTDOWN_RECD
  SHUTDOWN_ACK_SENT = 7, // SCTP_CONNTRACK_SHUTDOWN_ACK_SENT
  HEARTBEAT_SENT = 8, // SCTP_CONNTRACK_HEARTBEAT_SENT
  HEARTBEAT_ACKED = 9, // SCTP_CONNTRACK_HEARTBEAT_ACKED (no longer used)
  MAX = 10, // SCTP_CONNTRACK_MAX
}

/**
 * DCCP tracker states (enum ct_dccp_states); CTA_PROTOINFO_DCCP_STATE. Kernels
 * built without the DCCP tracker (such as the 6.18 reference machine) keep
 * protocol 33 entries generic and never send them.
 */
export const enum DccpState {
  NONE = 0, // CT_DCCP_NONE
  REQUEST = 1, // CT_DCCP_REQUEST
  RESPOND = 2, // CT_DCCP_RESPOND
  PARTOPEN = 3, // CT_DCCP_PARTOPEN
  OPEN = 4, // CT_DCCP_OPEN
  CLOSEREQ = 5, // CT_DCCP_CLOSEREQ
  CLOSING = 6, // CT_DCCP_CLOSING
  TIMEWAIT = 7, // CT_DCCP_TIMEWAIT
  IGNORE = 8, // CT_DCCP_IGNORE
  INVALID = 9, // CT_DCCP_INVALID
  MAX = 10, // __CT_DCCP_MAX
}

/** DCCP roles (enum ct_dccp_roles); CTA_PROTOINFO_DCCP_ROLE. */
export const enum DccpRole {
  CLIENT = 0, // CT_DCCP_ROLE_CLIENT
  SERVER = 1, // CT_DCCP_ROLE_SERVER
}
