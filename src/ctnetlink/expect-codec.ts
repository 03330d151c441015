import { AttributeCursor, type MessageWriter } from '../netlink/attributes';
import { MessageFlags } from '../netlink/constants';
import type { MessageCursor } from '../netlink/messages';
import { messageType, NFGENMSG_LEN, Subsystem } from '../nfnetlink/header';
import { ExpectAttr, ExpectNatAttr, ExpMsg, Family, Proto } from './constants';
import type { Expectation, ExpectationEvent, ExpectationNat } from './expect';
import type { Tuple } from './flow';
import { decodeTuple, encodeTuple } from './tuple-codec';

/**
 * An expectation on the wire: the attributes after the nfgenmsg of an
 * IPCTNL_MSG_EXP_NEW / _DELETE message (dump entry, event or request).
 *
 * ```
 * CTA_EXPECT_MASTER, CTA_EXPECT_TUPLE, CTA_EXPECT_MASK   nested tuples (tuple-codec.ts)
 * CTA_EXPECT_TIMEOUT, CTA_EXPECT_ID, CTA_EXPECT_FLAGS, CTA_EXPECT_CLASS   be32
 * CTA_EXPECT_ZONE                                        be16
 * CTA_EXPECT_HELP_NAME, CTA_EXPECT_FN                    NUL-terminated strings
 * CTA_EXPECT_NAT { CTA_EXPECT_NAT_DIR be32, CTA_EXPECT_NAT_TUPLE nested tuple }
 * ```
 */

/** Stands for a tuple the message did not carry; replaced by a fresh object before decodeExpectation returns. */
const NO_TUPLE: Tuple = Object.freeze({});

/**
 * Decodes the expectation whose attributes fill `buf[start, end)`. Unknown
 * attributes are skipped (newer kernels); throws ProtocolError for
 * malformed ones.
 */
export function decodeExpectation(buf: Buffer, start: number, end: number, family: number): Expectation {
  const exp: Expectation = { family, master: NO_TUPLE, tuple: NO_TUPLE, mask: NO_TUPLE };
  const c = new AttributeCursor(buf, start, end);
  while (c.next()) {
    switch (c.type) {
      case ExpectAttr.MASTER:
        exp.master = decodeTuple(c);
        break;
      case ExpectAttr.TUPLE:
        exp.tuple = decodeTuple(c);
        break;
      case ExpectAttr.MASK:
        exp.mask = decodeTuple(c);
        break;
      case ExpectAttr.TIMEOUT:
        exp.timeout = c.u32be();
        break;
      case ExpectAttr.ID:
        exp.id = c.u32be();
        break;
      case ExpectAttr.HELP_NAME:
        exp.helper = c.string();
        break;
      case ExpectAttr.ZONE:
        exp.zone = c.u16be();
        break;
      case ExpectAttr.FLAGS:
        exp.flags = c.u32be();
        break;
      case ExpectAttr.CLASS:
        exp.class = c.u32be();
        break;
      case ExpectAttr.NAT:
        exp.nat = decodeNat(c);
        break;
      case ExpectAttr.FN:
        exp.fn = c.string();
        break;
    }
  }
  if (exp.master === NO_TUPLE) exp.master = {};
  if (exp.tuple === NO_TUPLE) exp.tuple = {};
  if (exp.mask === NO_TUPLE) exp.mask = {};
  return exp;
}

const EXP_NEW = messageType(Subsystem.CTNETLINK_EXP, ExpMsg.NEW);
const EXP_DELETE = messageType(Subsystem.CTNETLINK_EXP, ExpMsg.DELETE);

/**
 * The expectation in a dump entry or event message, and what the message
 * reports: IPCTNL_MSG_EXP_NEW is a new expectation when it carries
 * NLM_F_CREATE or NLM_F_EXCL (events; dump entries carry neither, so they
 * read as 'update'), IPCTNL_MSG_EXP_DELETE a destroyed one, as
 * libnetfilter_conntrack classifies them. Undefined for any other message.
 */
export function decodeExpectationMessage(m: MessageCursor): ExpectationEvent | undefined {
  let type: ExpectationEvent['type'];
  if (m.type === EXP_NEW) type = m.flags & (MessageFlags.CREATE | MessageFlags.EXCL) ? 'new' : 'update';
  else if (m.type === EXP_DELETE) type = 'destroy';
  else return undefined;
  if (m.end - m.payload < NFGENMSG_LEN) return undefined;
  return { type, expectation: decodeExpectation(m.buf, m.payload + NFGENMSG_LEN, m.end, m.buf[m.payload]!), portid: m.pid };
}

function decodeNat(c: AttributeCursor): ExpectationNat {
  const nat: ExpectationNat = {};
  const a = c.nested();
  while (a.next()) {
    switch (a.type) {
      case ExpectNatAttr.DIR:
        nat.dir = a.u32be();
        break;
      case ExpectNatAttr.TUPLE:
        nat.tuple = decodeTuple(a);
        break;
    }
  }
  return nat;
}

/**
 * Writes the attributes of `exp` present, in libnetfilter_conntrack's order
 * (so requests compare byte for byte with the reference tool's). Every tuple
 * goes out complete, with the family's zero address and protocol 0 for what
 * is unset, because the kernel refuses an expectation tuple that lacks an
 * address or the protocol (EINVAL) and a zero field of a mask is a wildcard.
 * Throws RangeError for address text that is not an address of the family.
 */
export function encodeExpectation(w: MessageWriter, exp: Partial<Expectation> & { family: number }): void {
  const { family } = exp;
  if (exp.tuple) encodeTuple(w, ExpectAttr.TUPLE, completeTuple(exp.tuple, family));
  if (exp.master) encodeTuple(w, ExpectAttr.MASTER, completeTuple(exp.master, family));
  if (exp.mask) encodeTuple(w, ExpectAttr.MASK, completeTuple(exp.mask, family));
  if (exp.timeout !== undefined) w.u32be(ExpectAttr.TIMEOUT, exp.timeout);
  if (exp.flags !== undefined) w.u32be(ExpectAttr.FLAGS, exp.flags);
  if (exp.zone !== undefined) w.u16be(ExpectAttr.ZONE, exp.zone);
  if (exp.class !== undefined) w.u32be(ExpectAttr.CLASS, exp.class);
  if (exp.helper !== undefined) w.string(ExpectAttr.HELP_NAME, exp.helper);
  if (exp.id !== undefined) w.u32be(ExpectAttr.ID, exp.id);
  if (exp.nat) {
    const nest = w.beginNested(ExpectAttr.NAT);
    if (exp.nat.dir !== undefined) w.u32be(ExpectNatAttr.DIR, exp.nat.dir);
    if (exp.nat.tuple) encodeTuple(w, ExpectNatAttr.TUPLE, completeTuple(exp.nat.tuple, family));
    w.endNested(nest);
  }
  if (exp.fn !== undefined) w.string(ExpectAttr.FN, exp.fn);
}

/**
 * A tuple with every field the kernel's tuple parser insists on: both
 * addresses and the protocol, and for ICMP its type, code and id (what
 * libnetfilter_conntrack sends for unset fields: zeros).
 */
export function completeTuple(t: Tuple, family: number): Tuple {
  const l3 = t.l3 ?? family;
  const zero = l3 === Family.INET6 ? '::' : '0.0.0.0';
  const full: Tuple = { ...t, l3, src: t.src ?? zero, dst: t.dst ?? zero, proto: t.proto ?? 0 };
  if (full.proto === Proto.ICMP || full.proto === Proto.ICMPV6) {
    full.icmpType ??= 0;
    full.icmpCode ??= 0;
    full.icmpId ??= 0;
  }
  return full;
}
