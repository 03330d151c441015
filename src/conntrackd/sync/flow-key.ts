/**
 * The identity of the flow of a CT_NEW / CT_UPD / CT_DEL message, read from
 * its attributes without decoding them: what the external cache keys its
 * byte records by. Two messages have equal key bytes exactly when their
 * decoded flows have equal `flowKey` strings (key.ts): the original tuple's
 * family, addresses, protocol, ports and ICMP type, code and id (each one
 * there or not), and the zone (none counts as 0).
 *
 * ```
 * | present u8 | l3 u8 | proto u8 | type u8 | code u8 | 0 u8 | sport u16 | dport u16 | id u16 | zone u16 | 0 u16 | src, dst (4+4 or 16+16) |
 * ```
 */
import { Family } from '../../ctnetlink/constants';
import { FLOW_ATTR_SIZES, FlowAttr, walkAttributes } from './attributes';

/** The longest key: the fixed part and two IPv6 addresses. */
export const FLOW_KEY_MAX = 16 + 32;
const ADDRESSES = 16;

const enum Present {
  ADDRESSES = 1,
  PROTO = 2,
  PORTS = 4,
  ICMP_TYPE = 8,
  ICMP_CODE = 16,
  ICMP_ID = 32,
}

/** What the visitor reads and where it writes: one key at a time. */
let source: Buffer = Buffer.alloc(0);
let into: Buffer = source;
let keyLength = 0;

/**
 * Where each key attribute's payload goes, indexed by FlowAttr: the bit that
 * says it is there (none for the zone, whose absence counts as 0), its
 * offset in the key and its length (0: not part of the key). Flat typed
 * arrays: the visitor runs for every attribute of every received message.
 */
const PRESENT = new Uint8Array(FLOW_ATTR_SIZES.length);
const OFFSET = new Uint8Array(FLOW_ATTR_SIZES.length);
const LENGTH = new Uint8Array(FLOW_ATTR_SIZES.length);
function field(type: FlowAttr, present: number, offset: number, length: number): void {
  PRESENT[type] = present;
  OFFSET[type] = offset;
  LENGTH[type] = length;
}
field(FlowAttr.L4PROTO, Present.PROTO, 2, 1);
field(FlowAttr.ICMP_TYPE, Present.ICMP_TYPE, 3, 1);
field(FlowAttr.ICMP_CODE, Present.ICMP_CODE, 4, 1);
field(FlowAttr.PORT, Present.PORTS, 6, 4);
field(FlowAttr.ICMP_ID, Present.ICMP_ID, 10, 2);
field(FlowAttr.ZONE, 0, 12, 2);

function visit(type: number, at: number, n: number): void {
  const buf = source;
  if (type === FlowAttr.IPV4 || type === FlowAttr.IPV6) {
    into[0]! |= Present.ADDRESSES;
    into[1] = type === FlowAttr.IPV4 ? Family.INET : Family.INET6;
    for (let i = 0; i < n; i++) into[ADDRESSES + i] = buf[at + i]!;
    keyLength = ADDRESSES + n;
    return;
  }
  const length = LENGTH[type]!;
  if (length === 0) return;
  const offset = OFFSET[type]!;
  into[0]! |= PRESENT[type]!;
  for (let i = 0; i < length; i++) into[offset + i] = buf[at + i]!;
}

/**
 * Writes the key of the flow whose attributes are `buf[start, end)` at the
 * start of `out` (FLOW_KEY_MAX bytes at least) and returns its length.
 * @throws SyncDecodeError('bad-payload') for attributes 1.4.7 would refuse.
 */
export function flowKeyBytes(buf: Buffer, start: number, end: number, out: Buffer): number {
  source = buf;
  into = out;
  for (let i = 0; i < ADDRESSES; i++) out[i] = 0;
  keyLength = ADDRESSES;
  walkAttributes(buf, start, end, FLOW_ATTR_SIZES, visit);
  return keyLength;
}
