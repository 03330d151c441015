/**
 * How the daemon keeps one flow: the kernel's own attribute bytes, as one
 * latin1 string, rather than a decoded Flow. A hundred thousand cached flows
 * then cost a few hundred bytes each (one string and one small object),
 * where decoded object graphs would cost several times that; a flow is
 * decoded only when it is shown.
 */
import { AttributeCursor } from '../../netlink/attributes';
import { CtAttr } from '../../ctnetlink/constants';
import type { Flow } from '../../ctnetlink/flow';
import { WireEntry } from '../../ctnetlink/wire-entry';

/** Where a flow is in its life, as 1.4.7's cache objects are. */
export const enum FlowState {
  /** Just added. */
  NEW = 0,
  /** Updated at least once since. */
  ALIVE = 1,
  /** Destroyed: about to leave the cache. */
  DEAD = 2,
}

const ORIG_IN_KEY = CtAttr.TUPLE_ORIG;
const NLA_F_NESTED = 0x8000;

/**
 * Attributes a cached flow never keeps, like 1.4.7's cache: the timeout
 * would be stale at once, and counters and the reference count are only a
 * snapshot of the moment the entry was dumped. Its `-i` lines show none of them.
 * The original tuple is not stored twice: the key holds it (flowKey).
 */
const UNCACHED = new Set<number>([CtAttr.TIMEOUT, CtAttr.USE, CtAttr.COUNTERS_ORIG, CtAttr.COUNTERS_REPLY, ORIG_IN_KEY]);

/** Where a key's original tuple starts: after the family and the zone. */
const KEY_TUPLE = 3;

/** Where a flow's attributes lie: a dumped entry or an event (both WireEntry-shaped). */
export interface RawFlow {
  buf: Buffer;
  start: number;
  end: number;
  /** nfgen_family of the message. */
  family: number;
}

const cursor = new AttributeCursor(Buffer.alloc(0), 0, 0);

/**
 * Where keys and stored attributes are assembled: each becomes ONE flat
 * string (a string built by concatenation is a tree of pieces in V8, several
 * times the size of its characters).
 */
let scratch = Buffer.alloc(4096);
let used = 0;

function append(buf: Buffer, start: number, end: number): void {
  const length = end - start;
  if (used + length + 3 > scratch.length) {
    const bigger = Buffer.alloc(Math.max(scratch.length * 2, used + length + 3));
    scratch.copy(bigger, 0, 0, used);
    scratch = bigger;
  }
  buf.copy(scratch, used, start, end);
  used += length;
}

/** Zero padding that ends an attribute on a 4-byte boundary. */
function pad(): void {
  while (used & 3) scratch[used++] = 0;
}

function take(): string {
  const s = scratch.toString('latin1', 0, used);
  used = 0;
  return s;
}

/**
 * The cache key of a flow: its family, zone and original tuple, never the
 * conntrack id (an id compared too left entries whose DESTROY event was lost
 * in the cache for ever). The kernel writes a tuple the same way in every
 * dump and event, so its bytes are the key. Undefined for an entry without an
 * original tuple, which the daemon drops.
 */
export function flowKey(raw: RawFlow): string | undefined {
  let tuple = -1;
  let tupleLength = 0;
  let zone = -1;
  cursor.reset(raw.buf, raw.start, raw.end);
  while (cursor.next()) {
    if (cursor.type === CtAttr.TUPLE_ORIG) {
      tuple = cursor.offset;
      tupleLength = cursor.length;
    } else if (cursor.type === CtAttr.ZONE && cursor.length === 2) {
      zone = cursor.offset;
    }
  }
  if (tuple < 0) return undefined;
  scratch[0] = raw.family;
  scratch[1] = zone < 0 ? 0 : raw.buf[zone]!;
  scratch[2] = zone < 0 ? 0 : raw.buf[zone + 1]!;
  used = KEY_TUPLE;
  append(raw.buf, tuple, tuple + tupleLength);
  return take();
}

/** Appends the attributes of `buf[start, end)` the cache keeps, except those of types in `skip`. */
function appendKept(buf: Buffer, start: number, end: number, skip: Set<number> | undefined): void {
  cursor.reset(buf, start, end);
  while (cursor.next()) {
    if (UNCACHED.has(cursor.type) || skip?.has(cursor.type)) continue;
    append(buf, cursor.offset - 4, cursor.offset + cursor.length);
    pad();
  }
}

/** The attributes of a flow as the cache stores them. */
export function storedAttributes(raw: RawFlow): string {
  appendKept(raw.buf, raw.start, raw.end, undefined);
  return take();
}

/**
 * A stored flow updated by an event or a dump: every top-level attribute the
 * update carries replaces the stored one, the others stay (an UPDATE event
 * carries only what changed besides tuples, status and id), as 1.4.7 copies
 * the set attributes of an update over its cached object.
 */
export function mergedAttributes(stored: string, raw: RawFlow): string {
  const carried = new Set<number>();
  cursor.reset(raw.buf, raw.start, raw.end);
  while (cursor.next()) carried.add(cursor.type);
  const old = Buffer.from(stored, 'latin1');
  appendKept(old, 0, old.length, carried);
  appendKept(raw.buf, raw.start, raw.end, undefined);
  return take();
}

/** One cached flow. */
export class CachedFlow {
  state = FlowState.NEW;
  /** The resync round that last saw it (see FlowCache.sweep). */
  seen = 0;

  constructor(
    /** Its key in the cache (flowKey), which holds family, zone and original tuple. */
    readonly key: string,
    /** Stored attributes (storedAttributes). */
    public attributes: string,
    /** When it entered the cache, in seconds of the cache's clock. */
    readonly since: number,
  ) {}

  /** nfgen_family of the flow. */
  get family(): number {
    return this.key.charCodeAt(0);
  }

  /** The flow decoded: the original tuple from the key, the rest from the stored attributes. */
  flow(): Flow {
    const tuple = this.key.length - KEY_TUPLE;
    const buf = Buffer.alloc(4 + ((tuple + 3) & ~3) + this.attributes.length);
    buf.writeUInt16LE(4 + tuple, 0);
    buf.writeUInt16LE(ORIG_IN_KEY | NLA_F_NESTED, 2);
    buf.write(this.key.slice(KEY_TUPLE), 4, 'latin1');
    buf.write(this.attributes, 4 + ((tuple + 3) & ~3), 'latin1');
    return new WireEntry().set(buf, 0, buf.length, this.family).flow();
  }
}
