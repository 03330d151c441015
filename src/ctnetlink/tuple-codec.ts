import type { AttributeCursor, MessageWriter } from '../netlink/attributes';
import { ProtocolError } from '../netlink/errors';
import { encodeAddress, formatIPv4, formatIPv6, parseIPv4Into } from './address';
import { IpAttr, Proto, ProtoAttr, TupleAttr } from './constants';
import type { Tuple } from './flow';

/**
 * A tuple on the wire (CTA_TUPLE_ORIG / _REPLY / _MASTER, and the expectation tuples):
 *
 * ```
 * CTA_TUPLE_*
 * ├─ CTA_TUPLE_IP     { CTA_IP_V4_SRC, CTA_IP_V4_DST (4 bytes) | CTA_IP_V6_SRC, CTA_IP_V6_DST (16 bytes) }
 * ├─ CTA_TUPLE_PROTO  { CTA_PROTO_NUM u8,
 * │                     CTA_PROTO_SRC_PORT, CTA_PROTO_DST_PORT be16         (tcp udp udplite sctp dccp; GRE keys)
 * │                   | CTA_PROTO_ICMP{,V6}_ID be16, _TYPE u8, _CODE u8 }   (icmp, icmpv6) }
 * └─ CTA_TUPLE_ZONE   be16 (`--orig-zone` / `--reply-zone`)
 * ```
 */

/** Decodes the tuple nested in the attribute the cursor stands on. Unknown attributes are skipped. */
export function decodeTuple(c: AttributeCursor): Tuple {
  const t: Tuple = {};
  const a = c.nested();
  while (a.next()) {
    switch (a.type) {
      case TupleAttr.IP:
        decodeIp(a, t);
        break;
      case TupleAttr.PROTO:
        decodeProto(a, t);
        break;
      case TupleAttr.ZONE:
        t.zone = a.u16be();
        break;
    }
  }
  return t;
}

function decodeIp(c: AttributeCursor, t: Tuple): void {
  const a = c.nested();
  while (a.next()) {
    switch (a.type) {
      case IpAttr.V4_SRC:
        t.l3 = 2;
        t.src = decodeIPv4(a);
        break;
      case IpAttr.V4_DST:
        t.l3 = 2;
        t.dst = decodeIPv4(a);
        break;
      case IpAttr.V6_SRC:
        t.l3 = 10;
        t.src = decodeIPv6(a);
        break;
      case IpAttr.V6_DST:
        t.l3 = 10;
        t.dst = decodeIPv6(a);
        break;
    }
  }
}

function decodeProto(c: AttributeCursor, t: Tuple): void {
  const a = c.nested();
  while (a.next()) {
    switch (a.type) {
      case ProtoAttr.NUM:
        t.proto = a.u8();
        break;
      case ProtoAttr.SRC_PORT:
        t.sport = a.u16be();
        break;
      case ProtoAttr.DST_PORT:
        t.dport = a.u16be();
        break;
      case ProtoAttr.ICMP_ID:
      case ProtoAttr.ICMPV6_ID:
        t.icmpId = a.u16be();
        break;
      case ProtoAttr.ICMP_TYPE:
      case ProtoAttr.ICMPV6_TYPE:
        t.icmpType = a.u8();
        break;
      case ProtoAttr.ICMP_CODE:
      case ProtoAttr.ICMPV6_CODE:
        t.icmpCode = a.u8();
        break;
    }
  }
}

/** The IPv4 address in the current attribute (CTA_IP_V4_*, CTA_NAT_V4_*). */
export function decodeIPv4(a: AttributeCursor): string {
  if (a.length < 4) throw new ProtocolError(`IPv4 address attribute ${a.type} has ${a.length} bytes, needs 4`);
  return formatIPv4(a.buf, a.offset);
}

/** The IPv6 address in the current attribute (CTA_IP_V6_*, CTA_NAT_V6_*). */
export function decodeIPv6(a: AttributeCursor): string {
  if (a.length < 16) throw new ProtocolError(`IPv6 address attribute ${a.type} has ${a.length} bytes, needs 16`);
  return formatIPv6(a.buf, a.offset);
}

/** Whether encodeTuple would write anything for `t` (the layer-3 family alone is not a tuple field). */
export function hasTupleFields(t: Tuple): boolean {
  return (
    t.src !== undefined ||
    t.dst !== undefined ||
    t.proto !== undefined ||
    t.zone !== undefined
  );
}

/**
 * Writes `t` as the nested attribute `attrType`. Addresses go in the family
 * of `t.l3`, or of the address text when l3 is unset; like the ports of port
 * protocols (both, 0 when unset) and ICMP's code, type and id (all three, 0
 * when unset, in libnetfilter_conntrack's order) they go complete, because
 * the kernel's parsers need every field, so requests compare byte for byte
 * with the reference tool's.
 * Throws RangeError for address text that is not an address of the family.
 */
export function encodeTuple(w: MessageWriter, attrType: number, t: Tuple): void {
  const nest = w.beginNested(attrType);
  if (t.src !== undefined || t.dst !== undefined) {
    // Both addresses, the family's zero address for an unset one: the kernel's
    // address parser refuses a tuple with one (EINVAL), and libnetfilter_conntrack
    // always sends both (`-I ... -g ADDR -q ADDR`, a saved DNAT entry, has no -r).
    const ip = w.beginNested(TupleAttr.IP);
    const family = t.l3 ?? encodeAddress((t.src ?? t.dst)!).family;
    writeAddress(w, IpAttr.V4_SRC, IpAttr.V6_SRC, t.src ?? zeroAddress(family), family);
    writeAddress(w, IpAttr.V4_DST, IpAttr.V6_DST, t.dst ?? zeroAddress(family), family);
    w.endNested(ip);
  }
  if (t.proto !== undefined) {
    const proto = w.beginNested(TupleAttr.PROTO);
    w.u8(ProtoAttr.NUM, t.proto);
    switch (t.proto) {
      case Proto.TCP:
      case Proto.UDP:
      case Proto.UDPLITE:
      case Proto.SCTP:
      case Proto.DCCP:
      case Proto.GRE:
        w.u16be(ProtoAttr.SRC_PORT, t.sport ?? 0);
        w.u16be(ProtoAttr.DST_PORT, t.dport ?? 0);
        break;
      case Proto.ICMP:
        writeIcmp(w, ProtoAttr.ICMP_ID, ProtoAttr.ICMP_TYPE, ProtoAttr.ICMP_CODE, t);
        break;
      case Proto.ICMPV6:
        writeIcmp(w, ProtoAttr.ICMPV6_ID, ProtoAttr.ICMPV6_TYPE, ProtoAttr.ICMPV6_CODE, t);
        break;
    }
    w.endNested(proto);
  }
  if (t.zone !== undefined) w.u16be(TupleAttr.ZONE, t.zone);
  w.endNested(nest);
}

const IPV4 = Buffer.alloc(4);

const zeroAddress = (family: number): string => (family === 10 ? '::' : '0.0.0.0');

/** Writes one address as the v4 or v6 attribute; returns the family it used. */
export function writeAddress(w: MessageWriter, v4Type: number, v6Type: number, text: string, family?: number): 2 | 10 {
  // An IPv4 address (the common case) is parsed into a reused buffer, not a new one.
  if (family !== 10 && parseIPv4Into(text, 0, text.length, IPV4, 0)) {
    w.bytes(v4Type, IPV4);
    return 2;
  }
  const address = encodeAddress(text, family);
  w.bytes(address.family === 2 ? v4Type : v6Type, address.bytes);
  return address.family;
}

/**
 * All three ICMP fields, 0 for an unset one: the kernel's ICMP tuple parser
 * refuses a tuple that lacks any of them (EINVAL), and libnetfilter_conntrack
 * always sends all three, so `conntrack -I -p icmp` without `--icmp-id` works.
 */
function writeIcmp(w: MessageWriter, idType: number, typeType: number, codeType: number, t: Tuple): void {
  w.u8(codeType, t.icmpCode ?? 0);
  w.u8(typeType, t.icmpType ?? 0);
  w.u16be(idType, t.icmpId ?? 0);
}
