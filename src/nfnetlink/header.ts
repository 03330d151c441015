import { MessageWriter } from '../netlink/attributes';
import { ProtocolError } from '../netlink/errors';

/** Netfilter subsystems (NFNL_SUBSYS_* in nfnetlink.h). */
export const enum Subsystem {
  CTNETLINK = 1, // NFNL_SUBSYS_CTNETLINK
  CTNETLINK_EXP = 2, // NFNL_SUBSYS_CTNETLINK_EXP
}

/** Multicast groups (enum nfnetlink_groups). Bit for bind(): 1 << (group - 1). */
export const enum Group {
  CONNTRACK_NEW = 1, // NFNLGRP_CONNTRACK_NEW
  CONNTRACK_UPDATE = 2, // NFNLGRP_CONNTRACK_UPDATE
  CONNTRACK_DESTROY = 3, // NFNLGRP_CONNTRACK_DESTROY
  CONNTRACK_EXP_NEW = 4, // NFNLGRP_CONNTRACK_EXP_NEW
  CONNTRACK_EXP_UPDATE = 5, // NFNLGRP_CONNTRACK_EXP_UPDATE
  CONNTRACK_EXP_DESTROY = 6, // NFNLGRP_CONNTRACK_EXP_DESTROY
}

/** struct nfgenmsg follows every nlmsghdr: u8 family, u8 version, be16 res_id. */
export const NFGENMSG_LEN = 4;
export const NFNETLINK_V0 = 0;

/** The nlmsg_type of a netfilter message: subsystem in the high byte. */
export function messageType(subsys: Subsystem, msg: number): number {
  return (subsys << 8) | msg;
}

/** Starts a netfilter message (nlmsghdr + nfgenmsg); finish with `w.endMessage(start)`. */
export function beginNfMessage(
  w: MessageWriter,
  subsys: Subsystem,
  msg: number,
  flags: number,
  seq: number,
  family: number,
  resId = 0,
): number {
  const start = w.beginMessage(messageType(subsys, msg), flags, seq);
  NFGENMSG[0] = family;
  NFGENMSG[1] = NFNETLINK_V0;
  NFGENMSG[2] = (resId >> 8) & 0xff;
  NFGENMSG[3] = resId & 0xff;
  w.raw(NFGENMSG);
  return start;
}

/** The nfgenmsg being written, reused: bulk requests build one per message. */
const NFGENMSG = new Uint8Array(4);

/** The nfgenmsg at `payload`; throws if the message is too short to hold one. */
export function readNfgenmsg(buf: Buffer, payload: number, end: number): { family: number; resId: number } {
  if (end - payload < NFGENMSG_LEN) throw new ProtocolError('netfilter message shorter than its nfgenmsg header');
  return { family: buf[payload]!, resId: buf.readUInt16BE(payload + 2) };
}
