import { endianness } from 'node:os';
import type { MessageWriter } from '../netlink/attributes';
import { NetlinkError } from '../netlink/errors';
import { MessageFlags } from '../netlink/constants';
import { beginNfMessage, Subsystem } from '../nfnetlink/header';
import { parseIPv4 } from './address';
import { CtAttr, CtMsg, Family, FilterAttr, FilterFlag, Proto } from './constants';
import type { FlowFilter } from './filter';
import type { Tuple } from './flow';
import { encodeTuple } from './tuple-codec';

/**
 * The kernel half of the filter model: the part of a FlowFilter that
 * ctnetlink can evaluate during a dump, as request attributes.
 *
 * The kernel may only ever narrow the dump to a SUPERSET of what the
 * userspace predicate (filter-match.ts) accepts, because callers always run
 * the predicate afterwards and the result must not depend on which path ran.
 * So a field goes to the kernel only when the kernel tests it with exactly
 * the predicate's meaning; when in doubt it stays out.
 *
 * ```
 * nfgenmsg.nfgen_family = filter.family ?? 0      (set by the caller)
 * CTA_MARK be32, CTA_MARK_MASK be32               filter.mark
 * CTA_STATUS be32, CTA_STATUS_MASK be32           filter.status (mask != 0)
 * CTA_FILTER { CTA_FILTER_ORIG_FLAGS  u32 HOST order,
 *              CTA_FILTER_REPLY_FLAGS u32 HOST order }   Linux 5.8, tupleFilter only
 * CTA_TUPLE_ORIG / CTA_TUPLE_REPLY                the fields the flags name
 * ```
 *
 * Kernel behaviour this relies on, verified with raw requests on Linux 6.18
 * (test/kernel/filter-kernel.test.ts keeps checking the result end to end):
 *
 * - The flag words are NLA_U32 in host byte order; big-endian flags read as
 *   unknown bits, and unknown bits make the dump fail with EINVAL.
 * - A non-zero flag word needs the matching CTA_TUPLE_* and, inside it, every
 *   flagged field, else EINVAL. Port and ICMP flags need CTA_FILTER_FLAG_PROTO_NUM
 *   and CTA_PROTO_NUM in the same tuple, else EINVAL.
 * - Any non-zero flag with nfgen_family other than AF_INET/AF_INET6 (so also
 *   AF_UNSPEC, "all families") fails with EOPNOTSUPP: tuple filters exist only
 *   for single-family dumps. Flag words of 0 are accepted with any family.
 * - IPv4 addresses compare exactly. IPv6 address filters are INVERTED: a
 *   CTA_IP_V6_SRC filter of 2001:db8::1 returns every entry EXCEPT those from
 *   2001:db8::1 (the kernel tests `!ipv6_addr_cmp()` where it means a
 *   difference). IPv6 addresses are therefore never sent.
 * - Port flags are honoured for TCP and UDP only; for UDP-Lite and SCTP the
 *   kernel parses and then ignores them (its match switch names TCP and UDP
 *   only, so DCCP and GRE keys fare no better). Only TCP/UDP ports are sent.
 * - An ICMP type filter must be a type conntrack can invert (ICMP 0, 8, 13-18;
 *   ICMPv6 128, 129, 139, 140), else EINVAL, so other types are left out
 *   (an entry can never have them, the predicate then simply matches none).
 * - Zones: the CTA_TUPLE_ZONE flag has no effect on dumps, and a top-level
 *   CTA_ZONE (with or without CTA_FILTER) matches an entry whose zone has that
 *   id in ANY direction, unlike 1.4.7's non-strict per-attribute comparison
 *   (`-w 5` does not list an entry that only has `--reply-zone 5`). Never sent.
 * - Mark: `(mark & mask) == value`, with CTA_MARK sent for every dumped entry
 *   (also mark 0), so it equals the predicate's test. Mask 0 is accepted:
 *   value 0 keeps everything, any other value nothing.
 * - Status: `(status & mask) == value`; mask 0 fails with EINVAL whatever the
 *   value (`conntrack -L -u UNSET`), and a lone CTA_STATUS_MASK is
 *   ignored. See encodeDumpFilter for how mask 0 is handled.
 */

/** What the running kernel can evaluate in a dump request. */
export interface KernelFilterSupport {
  /**
   * CTA_FILTER may be sent (tuple fields compared in the kernel). Learn it once
   * per socket with the probe (writeFilterProbe + kernelSupportFromProbeError).
   */
  tupleFilter: boolean;
}

/**
 * Whether encodeDumpFilter sends tuple fields (CTA_FILTER) for `filter` on a
 * kernel that supports them: only then is the probe worth asking.
 */
export function usesTupleFilter(filter: FlowFilter): boolean {
  const family = filter.family;
  if (family !== Family.INET && family !== Family.INET6) return false;
  return (
    kernelTuple(filter.orig, filter.reply, family, filter.srcMask !== undefined, filter.dstMask !== undefined).flags !== 0 ||
    kernelTuple(filter.reply, filter.orig, family, false, false).flags !== 0
  );
}

/**
 * Whether the kernel evaluates ALL of `filter`, with the predicate's exact
 * meaning: family, mark, and tuple fields encodeDumpFilter sends. Then every
 * entry of the dump matches and the userspace predicate can be skipped.
 * A timeout counts as a field, since 1.4.7 compares it next to other fields.
 */
export function kernelCovers(filter: FlowFilter, kernel: KernelFilterSupport): boolean {
  for (const key in filter) {
    const value = filter[key as keyof FlowFilter];
    if (value === undefined) continue;
    switch (key as keyof FlowFilter) {
      case 'family':
      case 'mark':
        break;
      // Not status: kernels before 5.19 ignore it in dumps, and the probe cannot tell.
      case 'orig':
      case 'reply':
        break; // below
      default:
        return false;
    }
  }
  if (filter.orig === undefined && filter.reply === undefined) return true;
  const family = filter.family;
  if (!kernel.tupleFilter || (family !== Family.INET && family !== Family.INET6)) return false;
  return (
    sendsAll(filter.orig, kernelTuple(filter.orig, filter.reply, family, filter.srcMask !== undefined, filter.dstMask !== undefined)) &&
    sendsAll(filter.reply, kernelTuple(filter.reply, filter.orig, family, false, false))
  );
}

/** Every field of `t` went into the kernel's tuple (the family is the dump's own). */
function sendsAll(t: Tuple | undefined, sent: KernelTuple): boolean {
  if (t === undefined) return true;
  for (const key in t) {
    const k = key as keyof Tuple;
    if (t[k] !== undefined && sent.tuple[k] !== t[k]) return false;
  }
  return true;
}

/**
 * Writes the kernel-side part of `filter` into the dump request being built
 * in `w` (after its nfgenmsg). The caller must put `filter.family ?? 0` in
 * nfgen_family: that byte is the kernel's family filter, and CTA_FILTER is
 * written only when it names one family (2 or 10).
 *
 * - mark: always (the kernel has filtered marks since long before CTA_FILTER;
 *   `conntrack -L/-D -m`).
 * - status: when its mask is non-zero. The kernel refuses mask 0 with EINVAL,
 *   where the predicate accepts every entry (value 0) or none, so it is left
 *   to userspace. NOTE for the CLI: 1.4.7 shows the kernel's EINVAL for
 *   `-L -u UNSET` ("Operation failed: invalid parameters", exit 1); the CLI
 *   must reproduce that itself. (Kernels before 5.19 ignore CTA_STATUS in
 *   dumps, which is harmless.)
 * - CTA_FILTER: only with `kernel.tupleFilter`, for l4 protocol, exact
 *   (unmasked) IPv4 addresses, TCP/UDP ports and ICMP/ICMPv6 type, code and
 *   id. Never zones, GRE keys, IPv6 addresses, ids, labels, state, timeout or
 *   NAT (see the facts above).
 */
export function encodeDumpFilter(w: MessageWriter, filter: FlowFilter, kernel: KernelFilterSupport): void {
  if (filter.mark) {
    w.u32be(CtAttr.MARK, filter.mark.value);
    w.u32be(CtAttr.MARK_MASK, filter.mark.mask);
  }
  if (filter.status && filter.status.mask >>> 0 !== 0) {
    w.u32be(CtAttr.STATUS, filter.status.value);
    w.u32be(CtAttr.STATUS_MASK, filter.status.mask);
  }
  if (!kernel.tupleFilter) return;
  const family = filter.family;
  if (family !== Family.INET && family !== Family.INET6) return;
  const orig = kernelTuple(filter.orig, filter.reply, family, filter.srcMask !== undefined, filter.dstMask !== undefined);
  const reply = kernelTuple(filter.reply, filter.orig, family, false, false);
  if (orig.flags === 0 && reply.flags === 0) return;
  const nest = w.beginNested(CtAttr.FILTER);
  if (orig.flags !== 0) u32host(w, FilterAttr.ORIG_FLAGS, orig.flags);
  if (reply.flags !== 0) u32host(w, FilterAttr.REPLY_FLAGS, reply.flags);
  w.endNested(nest);
  if (orig.flags !== 0) encodeTuple(w, CtAttr.TUPLE_ORIG, orig.tuple);
  if (reply.flags !== 0) encodeTuple(w, CtAttr.TUPLE_REPLY, reply.tuple);
}

interface KernelTuple {
  flags: number;
  tuple: Tuple;
}

/** ICMP types the kernel accepts in a filter (those in its invmap). */
const ICMP_FILTER_TYPES: ReadonlySet<number> = new Set([0, 8, 13, 14, 15, 16, 17, 18]);
const ICMPV6_FILTER_TYPES: ReadonlySet<number> = new Set([128, 129, 139, 140]);

/**
 * The fields of one direction the kernel may test, and their flags. `other`
 * lends its protocol when this direction has none (as in the predicate): an
 * entry's two tuples always carry the same protocol, so the loan never makes
 * the kernel stricter than the predicate, which tests it in `other`.
 */
function kernelTuple(
  t: Tuple | undefined,
  other: Tuple | undefined,
  family: number,
  srcMasked: boolean,
  dstMasked: boolean,
): KernelTuple {
  const tuple: Tuple = { l3: family };
  let flags = 0;
  if (!t) return { flags, tuple };
  if (family === Family.INET) {
    // A masked address is a network, compared in userspace only.
    if (t.src !== undefined && !srcMasked && parseIPv4(t.src)) {
      tuple.src = t.src;
      flags |= FilterFlag.IP_SRC;
    }
    if (t.dst !== undefined && !dstMasked && parseIPv4(t.dst)) {
      tuple.dst = t.dst;
      flags |= FilterFlag.IP_DST;
    }
  }
  const proto = t.proto ?? other?.proto;
  let l4 = 0;
  switch (proto) {
    case Proto.TCP:
    case Proto.UDP:
      if (t.sport !== undefined) {
        tuple.sport = t.sport;
        l4 |= FilterFlag.PROTO_SRC_PORT;
      }
      if (t.dport !== undefined) {
        tuple.dport = t.dport;
        l4 |= FilterFlag.PROTO_DST_PORT;
      }
      break;
    case Proto.ICMP:
      l4 = icmpFields(t, tuple, ICMP_FILTER_TYPES, FilterFlag.PROTO_ICMP_TYPE, FilterFlag.PROTO_ICMP_CODE, FilterFlag.PROTO_ICMP_ID);
      break;
    case Proto.ICMPV6:
      l4 = icmpFields(t, tuple, ICMPV6_FILTER_TYPES, FilterFlag.PROTO_ICMPV6_TYPE, FilterFlag.PROTO_ICMPV6_CODE, FilterFlag.PROTO_ICMPV6_ID);
      break;
  }
  if (proto !== undefined && (t.proto !== undefined || l4 !== 0)) {
    tuple.proto = proto;
    flags |= FilterFlag.PROTO_NUM | l4;
  }
  return { flags, tuple };
}

function icmpFields(t: Tuple, out: Tuple, types: ReadonlySet<number>, typeFlag: number, codeFlag: number, idFlag: number): number {
  let flags = 0;
  if (t.icmpType !== undefined && types.has(t.icmpType)) {
    out.icmpType = t.icmpType;
    flags |= typeFlag;
  }
  if (t.icmpCode !== undefined) {
    out.icmpCode = t.icmpCode;
    flags |= codeFlag;
  }
  if (t.icmpId !== undefined) {
    out.icmpId = t.icmpId;
    flags |= idFlag;
  }
  return flags;
}

/** CTA_FILTER_*_FLAGS are NLA_U32: host byte order, unlike every other ctnetlink number. */
function u32host(w: MessageWriter, type: number, value: number): void {
  const b = Buffer.alloc(4);
  if (endianness() === 'LE') b.writeUInt32LE(value >>> 0);
  else b.writeUInt32BE(value >>> 0);
  w.bytes(type, b);
}

// ---------------------------------------------------------------------------
// Probe

/**
 * The flags of the probe: every one encodeDumpFilter may send (all but
 * CTA_TUPLE_ZONE), and in the original direction also one no kernel knows.
 */
const PROBE_UNKNOWN_FLAG = 1 << 31;
const PROBE_ORIG_FLAGS =
  FilterFlag.IP_SRC | FilterFlag.IP_DST | FilterFlag.PROTO_NUM | FilterFlag.PROTO_SRC_PORT | FilterFlag.PROTO_DST_PORT |
  FilterFlag.PROTO_ICMPV6_TYPE | FilterFlag.PROTO_ICMPV6_CODE | FilterFlag.PROTO_ICMPV6_ID | PROBE_UNKNOWN_FLAG;
const PROBE_REPLY_FLAGS =
  FilterFlag.PROTO_NUM | FilterFlag.PROTO_ICMP_TYPE | FilterFlag.PROTO_ICMP_CODE | FilterFlag.PROTO_ICMP_ID;

/**
 * Writes the probe for CTA_FILTER support: one complete IPCTNL_MSG_CT_GET dump
 * request (REQUEST|DUMP, AF_INET) that a kernel with CTA_FILTER refuses
 * before it walks the table, so on such a kernel it costs one round trip.
 *
 * Procedure (once per socket, or per network namespace): send it, read until
 * NLMSG_DONE or NLMSG_ERROR, and pass the error (0 for DONE) to
 * kernelSupportFromProbeError.
 *
 * Its CTA_FILTER names every flag encodeDumpFilter may send (an IPv4 TCP
 * original tuple with addresses and ports, an ICMP echo-reply reply tuple
 * with type, code and id) plus an unknown bit. Kernels that know CTA_FILTER
 * (5.8: all these flags came together) check the flag words first and
 * refuse the unknown bit at once: EOPNOTSUPP in 5.8, EINVAL since the check
 * became a netlink policy mask (6.18 answers EINVAL). Kernels before 5.8 do not
 * know attribute 25 and skip it (nfnetlink parses leniently): they walk the
 * table and answer DONE. For them the probe also carries CTA_MARK 1 with
 * CTA_MARK_MASK 0 (`(mark & 0) == 1` never holds), so that walk sends nothing.
 * A full walk would cost ~0.4 s per million entries, which is why the probe
 * is built to be refused rather than accepted.
 */
export function writeFilterProbe(w: MessageWriter, seq: number): void {
  const start = beginNfMessage(w, Subsystem.CTNETLINK, CtMsg.GET, MessageFlags.REQUEST | MessageFlags.DUMP, seq, Family.INET);
  w.u32be(CtAttr.MARK, 1);
  w.u32be(CtAttr.MARK_MASK, 0);
  const nest = w.beginNested(CtAttr.FILTER);
  u32host(w, FilterAttr.ORIG_FLAGS, PROBE_ORIG_FLAGS);
  u32host(w, FilterAttr.REPLY_FLAGS, PROBE_REPLY_FLAGS);
  w.endNested(nest);
  encodeTuple(w, CtAttr.TUPLE_ORIG, { l3: Family.INET, src: '0.0.0.0', dst: '0.0.0.0', proto: Proto.TCP, sport: 0, dport: 0 });
  encodeTuple(w, CtAttr.TUPLE_REPLY, { l3: Family.INET, proto: Proto.ICMP, icmpType: 0, icmpCode: 0, icmpId: 0 });
  w.endMessage(start);
}

const EINVAL = 22;
const EOPNOTSUPP = 95;
const ENOTSUPP = 524; // the kernel-internal code that leaks through some netlink paths

/**
 * Interprets the probe's answer: `errno` is 0 when the dump ended with
 * NLMSG_DONE, else the NLMSG_ERROR code (either sign). EINVAL and EOPNOTSUPP
 * (ENOTSUPP) are the refusal of the unknown flag: CTA_FILTER is understood.
 * DONE means it was skipped: no tuple filtering. Any other error says nothing
 * about the feature (EPERM, ENOMEM, ...) and would fail the real dump too, so
 * it is thrown as a NetlinkError.
 */
export function kernelSupportFromProbeError(errno: number): KernelFilterSupport {
  const e = Math.abs(errno);
  if (e === EINVAL || e === EOPNOTSUPP || e === ENOTSUPP) return { tupleFilter: true };
  if (e === 0) return { tupleFilter: false };
  throw new NetlinkError(e, 'filter probe');
}
