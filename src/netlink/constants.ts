/**
 * Netlink constants from <linux/netlink.h>, named as the kernel names them.
 */

export const AF_NETLINK = 16;
export const NETLINK_NETFILTER = 12;

/** nlmsghdr is 16 bytes: u32 len, u16 type, u16 flags, u32 seq, u32 pid. */
export const NLMSG_HDRLEN = 16;
/** nlattr is 4 bytes: u16 len, u16 type. */
export const NLA_HDRLEN = 4;

export const enum MessageType {
  NOOP = 1, // NLMSG_NOOP
  ERROR = 2, // NLMSG_ERROR
  DONE = 3, // NLMSG_DONE
  OVERRUN = 4, // NLMSG_OVERRUN
}

export const enum MessageFlags {
  REQUEST = 0x01, // NLM_F_REQUEST
  MULTI = 0x02, // NLM_F_MULTI
  ACK = 0x04, // NLM_F_ACK
  ECHO = 0x08, // NLM_F_ECHO
  DUMP_INTR = 0x10, // NLM_F_DUMP_INTR
  DUMP_FILTERED = 0x20, // NLM_F_DUMP_FILTERED
  ROOT = 0x100, // NLM_F_ROOT
  MATCH = 0x200, // NLM_F_MATCH
  DUMP = 0x300, // NLM_F_DUMP
  REPLACE = 0x100, // NLM_F_REPLACE
  EXCL = 0x200, // NLM_F_EXCL
  CREATE = 0x400, // NLM_F_CREATE
  CAPPED = 0x100, // NLM_F_CAPPED (on NLMSG_ERROR)
  ACK_TLVS = 0x200, // NLM_F_ACK_TLVS (on NLMSG_ERROR)
}

export const NLA_F_NESTED = 0x8000;
export const NLA_F_NET_BYTEORDER = 0x4000;
export const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;

/** Extended-ack attributes after an NLMSG_ERROR (enum nlmsgerr_attrs). */
export const enum ExtAckAttr {
  MSG = 1, // NLMSGERR_ATTR_MSG
  OFFS = 2, // NLMSGERR_ATTR_OFFS
}

export const SOL_SOCKET = 1;
export const SOL_NETLINK = 270;

/** Socket options, typed so callers cannot mix levels up. */
export const enum SocketOption {
  SO_SNDBUF = 7,
  SO_RCVBUF = 8,
  SO_SNDBUFFORCE = 32,
  SO_RCVBUFFORCE = 33,
  SO_MEMINFO = 55, // u32[SK_MEMINFO_VARS], Linux 4.12
}

/** Indexes into SO_MEMINFO's array (enum SK_MEMINFO_* in linux/sock_diag.h). */
export const enum MemInfo {
  RMEM_ALLOC = 0, // SK_MEMINFO_RMEM_ALLOC: bytes queued for reading (skb truesize)
  DROPS = 8, // SK_MEMINFO_DROPS: messages the socket could not take
  VARS = 9, // SK_MEMINFO_VARS
}

export const enum NetlinkOption {
  ADD_MEMBERSHIP = 1, // NETLINK_ADD_MEMBERSHIP
  DROP_MEMBERSHIP = 2, // NETLINK_DROP_MEMBERSHIP
  BROADCAST_ERROR = 4, // NETLINK_BROADCAST_ERROR
  NO_ENOBUFS = 5, // NETLINK_NO_ENOBUFS
  CAP_ACK = 10, // NETLINK_CAP_ACK
  EXT_ACK = 11, // NETLINK_EXT_ACK
  GET_STRICT_CHK = 12, // NETLINK_GET_STRICT_CHK
}
