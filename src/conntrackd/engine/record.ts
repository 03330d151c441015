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

/**
 * Attributes a cached flow never keeps, like 1.4.7's cache: the timeout
 * would be stale at once, and counters and the reference count are only a
 * snapshot of the moment the entry was dumped. Its `-i` lines show none of them.
 */
const UNCACHED = new Set<number>([CtAttr.TIMEOUT, CtAttr.USE, CtAttr.COUNTERS_ORIG, CtAttr.COUNTERS_REPLY]);

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
 * The cache key of a flow: its family, zone and original tuple, never the
 * conntrack id (an id compared too left entries whose DESTROY event was lost
 * in the cache for ever). The kernel writes a tuple the same way in every
 * dump and event, so its bytes are the key. Undefined for an entry without an
 * original tuple, which the daemon drops.
 */
export function flowKey(raw: RawFlow): string | undefined {
  let tuple: string | undefined;
  let zone = '';
  cursor.reset(raw.buf, raw.start, raw.end);
  while (cursor.next()) {
    if (cursor.type === CtAttr.TUPLE_ORIG) tuple = raw.buf.toString('latin1', cursor.offset, cursor.offset + cursor.length);
    else if (cursor.type === CtAttr.ZONE) zone = raw.buf.toString('latin1', cursor.offset, cursor.offset + cursor.length);
  }
  return tuple === undefined ? undefined : String.fromCharCode(raw.family, zone.length) + zone + tuple;
}

/** Padding that ends an attribute on a 4-byte boundary. */
const PAD = ['', '\0\0\0', '\0\0', '\0'];

/** Each attribute (header, value, padding) of `buf[start, end)` that the cache keeps, by type. */
function keptAttributes(buf: Buffer, start: number, end: number, into: Map<number, string>): Map<number, string> {
  cursor.reset(buf, start, end);
  while (cursor.next()) {
    if (UNCACHED.has(cursor.type)) continue;
    const attr = buf.toString('latin1', cursor.offset - 4, cursor.offset + cursor.length);
    into.set(cursor.type, attr + PAD[attr.length & 3]);
  }
  return into;
}

function join(attrs: Map<number, string>): string {
  let s = '';
  for (const attr of attrs.values()) s += attr;
  return s;
}

/** The attributes of a flow as the cache stores them. */
export function storedAttributes(raw: RawFlow): string {
  return join(keptAttributes(raw.buf, raw.start, raw.end, new Map()));
}

/**
 * A stored flow updated by an event or a dump: every top-level attribute the
 * update carries replaces the stored one, the others stay (an UPDATE event
 * carries only what changed besides tuples, status and id), as 1.4.7 copies
 * the set attributes of an update over its cached object.
 */
export function mergedAttributes(stored: string, raw: RawFlow): string {
  const old = Buffer.from(stored, 'latin1');
  return join(keptAttributes(raw.buf, raw.start, raw.end, keptAttributes(old, 0, old.length, new Map())));
}

/** One cached flow. */
export class CachedFlow {
  state = FlowState.NEW;
  /** The resync round that last saw it (see FlowCache.sweep). */
  seen = 0;

  constructor(
    readonly family: number,
    /** Stored attributes (storedAttributes). */
    public attributes: string,
    /** When it entered the cache, in seconds of the cache's clock. */
    readonly since: number,
  ) {}

  /** The flow decoded. */
  flow(): Flow {
    const buf = Buffer.from(this.attributes, 'latin1');
    return new WireEntry().set(buf, 0, buf.length, this.family).flow();
  }
}
