import { AttributeCursor } from '../netlink/attributes';
import { ProtocolError } from '../netlink/errors';
import {
  CountersAttr,
  CtAttr,
  DccpAttr,
  HelpAttr,
  IpAttr,
  ProtoAttr,
  ProtoinfoAttr,
  SctpAttr,
  SecctxAttr,
  TcpAttr,
  TimestampAttr,
  TupleAttr,
} from './constants';
import type { Flow } from './flow';
import { decodeFlow } from './flow-codec';

/** The fields of one tuple, as offsets from its slot base (Slot.ORIG, Slot.REPLY). */
export const enum TupleField {
  /** CTA_IP_V4_SRC / _V6_SRC; its length slot says which: 4 or 16. */
  SRC = 0,
  DST = 1,
  PROTO = 2, // CTA_PROTO_NUM
  SPORT = 3, // CTA_PROTO_SRC_PORT (also GRE key)
  DPORT = 4, // CTA_PROTO_DST_PORT
  ICMP_ID = 5, // CTA_PROTO_ICMP_ID / _ICMPV6_ID
  ICMP_TYPE = 6, // CTA_PROTO_ICMP_TYPE / _ICMPV6_TYPE
  ICMP_CODE = 7, // CTA_PROTO_ICMP_CODE / _ICMPV6_CODE
  ZONE = 8, // CTA_TUPLE_ZONE
  /** The whole CTA_TUPLE_* attribute, header included (for requests that name the entry). */
  ATTR = 9,
  COUNT = 10,
}

/** What WireEntry.index() locates: one slot per printed attribute. */
export const enum Slot {
  ORIG = 0,
  REPLY = TupleField.COUNT,
  STATUS = 2 * TupleField.COUNT,
  TIMEOUT,
  MARK,
  USE,
  ID,
  SECMARK,
  ZONE,
  TCP_STATE,
  SCTP_STATE,
  DCCP_STATE,
  /** The CTA_COUNTERS_* nest (present = counters print, zero if empty). */
  COUNTERS_ORIG,
  /** CTA_COUNTERS_PACKETS (length 8) or _PACKETS32 (length 4); BYTES likewise. */
  PACKETS_ORIG,
  BYTES_ORIG,
  COUNTERS_REPLY,
  PACKETS_REPLY,
  BYTES_REPLY,
  TIMESTAMP_START,
  TIMESTAMP_STOP,
  HELPER, // CTA_HELP_NAME
  SECCTX, // CTA_SECCTX_NAME
  LABELS,
  COUNT,
}

const EMPTY = Buffer.alloc(0);

/** Every top-level attribute: what `index()` locates by default. */
const ALL_ATTRS = -1;

/**
 * The `only` argument of WireEntry.index(): the top-level attributes (CTA_*)
 * whose slots a reader needs. A caller that reads two fields of a million
 * entries skips the nests it does not read (the reply tuple, the TCP
 * protoinfo), which is most of index()'s work.
 */
export function attrMask(...types: CtAttr[]): number {
  let mask = 0;
  for (const type of types) mask |= 1 << type;
  return mask;
}

/**
 * One conntrack entry as the kernel sent it: the attributes after the
 * nfgenmsg, valid only while the receive buffer holds them.
 *
 * The hot paths of big dumps (printing, building a delete) read the entry
 * where it lies instead of decoding it: `index()` walks the attributes once
 * and records where each one's value starts (`at`, -1 when absent) and how
 * long it is (`len`), allocating nothing; values are read from `buf` at those
 * offsets (pg-protocol's way). `flow()` decodes the full model when a caller
 * needs it. One WireEntry is reused for every entry of a dump.
 */
export class WireEntry {
  buf: Buffer = EMPTY;
  start = 0;
  end = 0;
  /** nfgen_family of the message. */
  family = 0;
  /** Value offset per Slot, -1 when the attribute is absent. Valid after index(). */
  readonly at = new Int32Array(Slot.COUNT);
  /** Value length per Slot. */
  readonly len = new Int32Array(Slot.COUNT);
  /** The attrMask that index() has located since set(); 0 before. */
  private indexed = 0;
  private decoded: Flow | undefined;
  private readonly top = new AttributeCursor(EMPTY, 0, 0);
  private readonly inner = new AttributeCursor(EMPTY, 0, 0);
  private readonly leaf = new AttributeCursor(EMPTY, 0, 0);

  /** Points at the entry whose attributes fill `buf[start, end)`. */
  set(buf: Buffer, start: number, end: number, family: number): this {
    this.buf = buf;
    this.start = start;
    this.end = end;
    this.family = family;
    this.indexed = 0;
    this.decoded = undefined;
    return this;
  }

  /** The entry as a Flow, decoded once. Throws ProtocolError for malformed attributes. */
  flow(): Flow {
    this.decoded ??= decodeFlow(this.buf, this.start, this.end, this.family);
    return this.decoded;
  }

  /**
   * Locates the attributes (once per entry), or only those of `only` (an
   * attrMask): the slots of the others read as absent until an index() that
   * asks for them. Throws ProtocolError for malformed attributes.
   */
  index(only = ALL_ATTRS): this {
    // Each call locates only what no earlier one did: a daemon's filter asks
    // for the tuples and its timeout note for the timeout, of every entry.
    const missing = only & ~this.indexed;
    if (missing === 0) return this;
    if (this.indexed === 0) unset(this.at, 0, Slot.COUNT);
    const c = this.top.reset(this.buf, this.start, this.end);
    while (c.next()) {
      // Types past 31 have no slot (and would alias a bit of the mask).
      if (c.type > 31 || ((missing >>> c.type) & 1) === 0) continue;
      switch (c.type) {
        case CtAttr.TUPLE_ORIG:
          this.tuple(c, Slot.ORIG);
          break;
        case CtAttr.TUPLE_REPLY:
          this.tuple(c, Slot.REPLY);
          break;
        case CtAttr.STATUS:
          this.put(c, Slot.STATUS, 4);
          break;
        case CtAttr.TIMEOUT:
          this.put(c, Slot.TIMEOUT, 4);
          break;
        case CtAttr.MARK:
          this.put(c, Slot.MARK, 4);
          break;
        case CtAttr.USE:
          this.put(c, Slot.USE, 4);
          break;
        case CtAttr.ID:
          this.put(c, Slot.ID, 4);
          break;
        case CtAttr.SECMARK:
          this.put(c, Slot.SECMARK, 4);
          break;
        case CtAttr.ZONE:
          this.put(c, Slot.ZONE, 2);
          break;
        case CtAttr.PROTOINFO:
          this.protoinfo(c);
          break;
        case CtAttr.COUNTERS_ORIG:
          this.counters(c, Slot.COUNTERS_ORIG);
          break;
        case CtAttr.COUNTERS_REPLY:
          this.counters(c, Slot.COUNTERS_REPLY);
          break;
        case CtAttr.TIMESTAMP:
          this.timestamp(c);
          break;
        case CtAttr.HELP:
          this.named(c, HelpAttr.NAME, Slot.HELPER);
          break;
        case CtAttr.SECCTX:
          this.named(c, SecctxAttr.NAME, Slot.SECCTX);
          break;
        case CtAttr.LABELS:
          this.put(c, Slot.LABELS, 0);
          break;
      }
    }
    this.indexed |= only;
    return this;
  }

  has(slot: Slot): boolean {
    return this.at[slot]! >= 0;
  }

  u8(slot: Slot): number {
    return this.buf[this.at[slot]!]!;
  }

  u16(slot: Slot): number {
    const b = this.buf;
    const o = this.at[slot]!;
    return (b[o]! << 8) | b[o + 1]!;
  }

  u32(slot: Slot): number {
    const b = this.buf;
    const o = this.at[slot]!;
    return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
  }

  /** A be64 (length 8) or be32 (length 4) value: a number while exact (below 2^53), else a bigint. */
  u64(slot: Slot): number | bigint {
    if (this.len[slot] === 4) return this.u32(slot);
    const o = this.at[slot]!;
    const high = this.buf.readUInt32BE(o);
    return high < 0x200000 ? high * 2 ** 32 + this.buf.readUInt32BE(o + 4) : this.buf.readBigUInt64BE(o);
  }

  /** A be64 value as a bigint (timestamps: nanoseconds past 2^53). */
  bigint(slot: Slot): bigint {
    return this.buf.readBigUInt64BE(this.at[slot]!);
  }

  /** Records where a value of at least `size` bytes is; the decoder rejects shorter ones too. */
  private put(c: AttributeCursor, slot: number, size: number, length = c.length): void {
    if (c.length < size) throw new ProtocolError(`attribute ${c.type} has ${c.length} bytes, needs ${size}`);
    this.at[slot] = c.offset;
    this.len[slot] = length;
  }

  /*
   * A repeated attribute replaces what the earlier one said, as in
   * decodeFlow (and libnetfilter_conntrack): the nests decodeFlow decodes
   * into a fresh object forget their earlier fields here too.
   */

  private tuple(c: AttributeCursor, base: Slot.ORIG | Slot.REPLY): void {
    unset(this.at, base, base + TupleField.ATTR);
    this.at[base + TupleField.ATTR] = c.offset - 4;
    this.len[base + TupleField.ATTR] = c.length + 4;
    const t = c.enter(this.inner);
    while (t.next()) {
      switch (t.type) {
        case TupleAttr.IP: {
          const a = t.enter(this.leaf);
          while (a.next()) {
            switch (a.type) {
              case IpAttr.V4_SRC:
                this.put(a, base + TupleField.SRC, 4, 4);
                break;
              case IpAttr.V4_DST:
                this.put(a, base + TupleField.DST, 4, 4);
                break;
              case IpAttr.V6_SRC:
                this.put(a, base + TupleField.SRC, 16, 16);
                break;
              case IpAttr.V6_DST:
                this.put(a, base + TupleField.DST, 16, 16);
                break;
            }
          }
          break;
        }
        case TupleAttr.PROTO: {
          const a = t.enter(this.leaf);
          while (a.next()) {
            switch (a.type) {
              case ProtoAttr.NUM:
                this.put(a, base + TupleField.PROTO, 1);
                break;
              case ProtoAttr.SRC_PORT:
                this.put(a, base + TupleField.SPORT, 2);
                break;
              case ProtoAttr.DST_PORT:
                this.put(a, base + TupleField.DPORT, 2);
                break;
              case ProtoAttr.ICMP_ID:
              case ProtoAttr.ICMPV6_ID:
                this.put(a, base + TupleField.ICMP_ID, 2);
                break;
              case ProtoAttr.ICMP_TYPE:
              case ProtoAttr.ICMPV6_TYPE:
                this.put(a, base + TupleField.ICMP_TYPE, 1);
                break;
              case ProtoAttr.ICMP_CODE:
              case ProtoAttr.ICMPV6_CODE:
                this.put(a, base + TupleField.ICMP_CODE, 1);
                break;
            }
          }
          break;
        }
        case TupleAttr.ZONE:
          this.put(t, base + TupleField.ZONE, 2);
          break;
      }
    }
  }

  private protoinfo(c: AttributeCursor): void {
    const p = c.enter(this.inner);
    while (p.next()) {
      switch (p.type) {
        case ProtoinfoAttr.TCP:
          this.at[Slot.TCP_STATE] = -1;
          this.named(p, TcpAttr.STATE, Slot.TCP_STATE, 1);
          break;
        case ProtoinfoAttr.SCTP:
          this.at[Slot.SCTP_STATE] = -1;
          this.named(p, SctpAttr.STATE, Slot.SCTP_STATE, 1);
          break;
        case ProtoinfoAttr.DCCP:
          this.at[Slot.DCCP_STATE] = -1;
          this.named(p, DccpAttr.STATE, Slot.DCCP_STATE, 1);
          break;
      }
    }
  }

  private counters(c: AttributeCursor, nest: Slot.COUNTERS_ORIG | Slot.COUNTERS_REPLY): void {
    this.at[nest] = c.offset;
    unset(this.at, nest + 1, nest + 3);
    const a = c.enter(this.inner);
    while (a.next()) {
      switch (a.type) {
        case CountersAttr.PACKETS:
          this.put(a, nest + 1, 8, 8);
          break;
        case CountersAttr.BYTES:
          this.put(a, nest + 2, 8, 8);
          break;
        case CountersAttr.PACKETS32:
          this.put(a, nest + 1, 4, 4);
          break;
        case CountersAttr.BYTES32:
          this.put(a, nest + 2, 4, 4);
          break;
      }
    }
  }

  private timestamp(c: AttributeCursor): void {
    unset(this.at, Slot.TIMESTAMP_START, Slot.TIMESTAMP_STOP + 1);
    const a = c.enter(this.inner);
    while (a.next()) {
      if (a.type === TimestampAttr.START) this.put(a, Slot.TIMESTAMP_START, 8);
      else if (a.type === TimestampAttr.STOP) this.put(a, Slot.TIMESTAMP_STOP, 8);
    }
  }

  /** The one attribute of `type` nested in the current one (a name, a state). */
  private named(c: AttributeCursor, type: number, slot: Slot, size = 0): void {
    const a = c.enter(c === this.top ? this.inner : this.leaf);
    while (a.next()) if (a.type === type) this.put(a, slot, size);
  }
}

/** Marks slots [from, to) absent: a loop, as Int32Array#fill's builtin call costs more for a few slots, several times per entry. */
function unset(at: Int32Array, from: number, to: number): void {
  for (let i = from; i < to; i++) at[i] = -1;
}
