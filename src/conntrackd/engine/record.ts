/**
 * How the daemon keeps one flow: a record of the kernel's own attribute
 * bytes, not a decoded Flow. A record is its key (family, zone, original
 * tuple) followed by the attributes the cache keeps; records live in an
 * Arena (arena.ts), outside the JavaScript heap, and are decoded only when
 * shown.
 *
 * ```
 * record  | family u8 | 0 u8 | zone u16 (0 = none) | CTA_TUPLE_ORIG value ... | kept attributes (TLVs, padded) ... |
 *         <------------------ key ----------------------------------------->
 * ```
 */
import { AttributeCursor } from '../../netlink/attributes';
import { CtAttr } from '../../ctnetlink/constants';
import type { Flow } from '../../ctnetlink/flow';
import { Slot, TupleField, WireEntry, attrMask } from '../../ctnetlink/wire-entry';
import { copyBytes, forgetBuffer } from './record-bytes';

/** Where a flow is in its life, as 1.4.7's cache objects are. */
export const enum FlowState {
  /** Just added. */
  NEW = 0,
  /** Updated at least once since. */
  ALIVE = 1,
  /** Destroyed: about to leave the cache. */
  DEAD = 2,
}

/**
 * Where a key's original tuple starts: after the family, a zero byte and the
 * zone, so that the tuple and the attributes after it lie 4-byte aligned in
 * the record as in the kernel's message, and copy by words (record-bytes.ts).
 */
export const KEY_TUPLE = 4;
const NLA_F_NESTED = 0x8000;
/** What a key is made of: the original tuple (its whole attribute is at ORIG_ATTR) and the zone. */
export const KEY_ATTRIBUTES = attrMask(CtAttr.TUPLE_ORIG, CtAttr.ZONE);
const ORIG_ATTR = Slot.ORIG + TupleField.ATTR;

/**
 * Attributes a record never keeps, like 1.4.7's cache: the timeout would be
 * stale at once, and counters and the reference count are only a snapshot of
 * the moment the entry was dumped (its `-i` lines show none of them). The
 * original tuple is in the key already. The NAT ranges and the label mask
 * belong to requests, which the kernel never sends back: kept, they would
 * make a record say what no dump or event said.
 */
const UNCACHED = attrMask(
  CtAttr.TIMEOUT,
  CtAttr.USE,
  CtAttr.COUNTERS_ORIG,
  CtAttr.COUNTERS_REPLY,
  CtAttr.TUPLE_ORIG,
  CtAttr.NAT_SRC,
  CtAttr.NAT_DST,
  CtAttr.LABELS_MASK,
);

/** A bit mask rather than a Set: keep() asks for every attribute of every event and dumped entry. */
function uncached(type: number): boolean {
  return type < 32 && ((UNCACHED >>> type) & 1) !== 0;
}

/**
 * Assembles one record at a time in a reused buffer: begin() with the key,
 * then keep() the attributes (an update keeps the old record's attributes
 * that the update does not carry, then the update's).
 */
export class RecordBuilder {
  bytes = Buffer.alloc(4096);
  length = 0;
  keyLength = 0;
  private readonly cursor = new AttributeCursor(Buffer.alloc(0), 0, 0);
  /** Per attribute type (14 bits), the stamp of the last skipTypesOf() that saw it. */
  private readonly skipped = new Int32Array(1 << 14);
  private stamp = 0;

  /**
   * Starts the record of `entry` with its key: family, zone and original
   * tuple, never the conntrack id (an id compared too left entries whose
   * DESTROY event was lost in the cache for ever). The kernel writes a tuple
   * the same way in every dump and event, so its bytes are the key. False
   * for an entry without an original tuple, which the daemon drops. The
   * entry's index locates both (KEY_ATTRIBUTES): a caller that located them
   * already, with what else it reads, costs no second walk here.
   */
  begin(entry: WireEntry): boolean {
    entry.index(KEY_ATTRIBUTES);
    const tuple = entry.at[ORIG_ATTR]!;
    if (tuple < 0) return false;
    const tupleLength = entry.len[ORIG_ATTR]! - 4;
    const buf = entry.buf;
    const zone = entry.at[Slot.ZONE]!;
    this.length = 0;
    this.reserve(KEY_TUPLE + tupleLength);
    this.bytes[0] = entry.family;
    this.bytes[1] = 0;
    this.bytes[2] = zone < 0 ? 0 : buf[zone]!;
    this.bytes[3] = zone < 0 ? 0 : buf[zone + 1]!;
    copyBytes(buf, tuple + 4, tuple + 4 + tupleLength, this.bytes, KEY_TUPLE);
    this.length = this.keyLength = KEY_TUPLE + tupleLength;
    return true;
  }

  /**
   * Appends the attributes of `buf[start, end)` a record keeps; `skipping`:
   * not those of the types the last skipTypesOf() noted. Kept attributes
   * that follow one another go in one copy, padding included (the kernel
   * zeroes it): a dumped entry's dozen attributes are three or four runs
   * (the start-up dump of a million entries took 3-6% less time than with a
   * copy per attribute).
   */
  keep(buf: Buffer, start: number, end: number, skipping = false): void {
    const c = this.cursor.reset(buf, start, end);
    const skipped = this.skipped;
    const stamp = skipping ? this.stamp : -1;
    let run = -1;
    let runEnd = 0;
    while (c.next()) {
      const attr = c.offset - 4;
      if (uncached(c.type) || skipped[c.type] === stamp) {
        if (run >= 0) this.append(buf, run, runEnd, end);
        run = -1;
        continue;
      }
      if (run < 0) run = attr;
      runEnd = attr + ((c.length + 4 + 3) & ~3);
    }
    if (run >= 0) this.append(buf, run, runEnd, end);
  }

  /** Appends `buf[from, to)`, padded with zeros where `to` lies past `end` (a last attribute without its padding). */
  private append(buf: Buffer, from: number, to: number, end: number): void {
    this.reserve(to - from);
    const bytes = this.bytes;
    const copied = Math.min(to, end);
    copyBytes(buf, from, copied, bytes, this.length);
    for (let i = this.length + copied - from; i < this.length + to - from; i++) bytes[i] = 0;
    this.length += to - from;
  }

  /**
   * Notes the top-level attribute types of `buf[start, end)`, what an
   * update replaces, for the next keep(…, true). A stamp per type rather
   * than a Set: no allocation per update, and no clearing (the next note
   * takes the next stamp).
   */
  skipTypesOf(buf: Buffer, start: number, end: number): void {
    const stamp = ++this.stamp;
    const c = this.cursor.reset(buf, start, end);
    while (c.next()) this.skipped[c.type] = stamp;
  }

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.bytes.length) return;
    const bigger = Buffer.alloc(Math.max(this.bytes.length * 2, this.length + bytes));
    this.bytes.copy(bigger, 0, 0, this.length);
    forgetBuffer(this.bytes);
    this.bytes = bigger;
  }
}

/**
 * Where decodeRecord() rebuilds a record's attributes, and the entry that
 * reads them: one of each, reused, because `-i` decodes every cached flow in
 * a row and an allocation per flow cost more than the decoding. The Flow a
 * decode returns copies what it keeps, so it outlives the next decode.
 */
let scratch = Buffer.allocUnsafe(1024);
const scratchEntry = new WireEntry();

/** The flow of the record at `buf[at, at + length)` whose key is `keyLength` bytes. */
export function decodeRecord(buf: Buffer, at: number, keyLength: number, length: number): Flow {
  const tuple = keyLength - KEY_TUPLE;
  const paddedTuple = (tuple + 3) & ~3;
  const attrs = length - keyLength;
  const size = 4 + paddedTuple + attrs;
  if (size > scratch.length) scratch = Buffer.allocUnsafe(Math.max(size, scratch.length * 2));
  scratch.writeUInt16LE(4 + tuple, 0);
  scratch.writeUInt16LE(CtAttr.TUPLE_ORIG | NLA_F_NESTED, 2);
  buf.copy(scratch, 4, at + KEY_TUPLE, at + keyLength);
  // The tuple's padding, which the record does not keep.
  scratch.fill(0, 4 + tuple, 4 + paddedTuple);
  buf.copy(scratch, 4 + paddedTuple, at + keyLength, at + length);
  return scratchEntry.set(scratch, 0, size, buf[at]!).flow();
}
