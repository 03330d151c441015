/**
 * The external caches: the peer's objects, built only from received sync
 * messages. A CT_NEW (EXP_NEW) replaces, a CT_UPD creates or replaces, a
 * CT_DEL deletes if present, as in 1.4.7, and each cache counts like the
 * internal one (`-s cache`).
 *
 * The flows' cache holds what arrives, the messages' attribute bytes, in a
 * RecordTable (record-table.ts) keyed by the flow's identity read from them
 * (sync/flow-key.ts); a flow is decoded only when it is shown or committed.
 * A million replicated flows are then a million small records, not a
 * million object graphs for the garbage collector to walk.
 */
import type { Flow } from '../../ctnetlink/flow';
import { AttrWriter } from '../sync/attributes';
import { SyncEncodeError } from '../sync/errors';
import { decodeFlowAttributes, encodeFlowAttributes } from '../sync/flow-attributes';
import { FLOW_KEY_MAX, flowKeyBytes } from '../sync/flow-key';
import { MessageType } from '../sync/header';
import { ReceivedFlowMessage, type DataMessage, type FlowMessage } from '../sync/message';
import { newCacheCounters } from '../stats/counters';
import { hashKey } from './record-bytes';
import { NO_SLOT, RecordTable, widen } from './record-table';

/** What every entry of a cache of the peer's objects has. */
export interface ReplicatedEntry {
  /** When it entered the cache (wall-clock seconds), for "active since". */
  since: number;
  /** When it was last replicated (ms since the epoch): a commit subtracts the age from its timeout. */
  updatedAt: number;
}

export interface ExternalFlow extends ReplicatedEntry {
  flow: Flow;
}

/** A cached flow's sync attributes, `buf[start, end)`, replicated last at `updatedAt` (ms since the epoch). */
export interface CachedAttributes {
  buf: Buffer;
  start: number;
  end: number;
  updatedAt: number;
}

/**
 * The peer's objects of one kind: what a NEW, UPD or DEL message does to
 * them, and the counting. A subclass stores them: find() looks a
 * message's object up and remembers it for the calls that follow.
 */
export abstract class PeerCache<M extends DataMessage> {
  readonly counters = newCacheCounters();

  /** `limit`: HashLimit, the most entries the cache holds. */
  constructor(readonly limit: number) {}

  abstract get size(): number;

  /** Applies one message from the peer at `now` (ms since the epoch). */
  apply(msg: M, now: number): void {
    const found = this.find(msg);
    const c = this.counters;
    // NEW, UPD, DEL come in this order for flows and for expectations alike.
    const op = (msg.type - MessageType.CT_NEW) % 3;
    if (op === 2) {
      if (!found) {
        c.delFail++;
        c.delFailNotFound++;
        return;
      }
      this.removeFound();
      return;
    }
    if (found && op === 1) {
      this.refreshFound(msg, now);
      c.updOk++;
      return;
    }
    if (found) this.removeFound();
    if (this.size >= this.limit) {
      c.addFail++;
      c.addFailNoSpace++;
      return;
    }
    this.add(msg, Math.floor(now / 1000), now);
    c.addOk++;
    c.active++;
    c.total++;
  }

  /** Removes the object `msg` is about (ALARM: the peer stopped refreshing it); false when absent. */
  remove(msg: M): boolean {
    if (!this.find(msg)) return false;
    this.removeFound();
    return true;
  }

  /** `-f external`: empties the cache; returns how many entries went. */
  flush(): number {
    const count = this.size;
    this.clear();
    this.counters.delOk += count;
    this.counters.active -= count;
    this.counters.total -= count;
    return count;
  }

  /** Looks the object of `msg` up; true when cached (then it is the one the *Found calls mean). */
  protected abstract find(msg: M): boolean;
  /** Replaces what the found entry keeps with `msg`'s, updated at `now`. */
  protected abstract refreshFound(msg: M, now: number): void;
  /** Removes the found entry (counted here). */
  protected abstract removeFound(): void;
  /** A new entry for `msg`, not cached yet (the last find() said so). */
  protected abstract add(msg: M, since: number, updatedAt: number): void;
  /** Removes every entry (counted by flush()). */
  protected abstract clear(): void;

  /** Counts a removal. */
  protected removed(): void {
    this.counters.delOk++;
    this.counters.active--;
    this.counters.total--;
  }
}

/**
 * A cache of the peer's objects kept whole, by a string key: what a kind
 * says `keyOf` a message, `entryOf` it for a new entry, and `refresh` of an
 * entry with a newer message.
 */
export abstract class ReplicatedCache<M extends DataMessage, E extends ReplicatedEntry> extends PeerCache<M> implements Iterable<E> {
  private readonly entries = new Map<string, E>();
  private foundKey = '';

  get size(): number {
    return this.entries.size;
  }

  values(): IterableIterator<E> {
    return this.entries.values();
  }

  [Symbol.iterator](): IterableIterator<E> {
    return this.entries.values();
  }

  protected find(msg: M): boolean {
    this.foundKey = this.keyOf(msg);
    return this.entries.has(this.foundKey);
  }

  protected refreshFound(msg: M, now: number): void {
    const entry = this.entries.get(this.foundKey)!;
    this.refresh(entry, msg);
    entry.updatedAt = now;
  }

  protected removeFound(): void {
    this.entries.delete(this.foundKey);
    this.removed();
  }

  protected add(msg: M, since: number, updatedAt: number): void {
    this.entries.set(this.foundKey, this.entryOf(msg, since, updatedAt));
  }

  protected clear(): void {
    this.entries.clear();
  }

  protected abstract keyOf(msg: M): string;
  /** A new entry for `msg`, built whole in one object literal by each kind. */
  protected abstract entryOf(msg: M, since: number, updatedAt: number): E;
  /** Replaces what `entry` keeps of the peer's object with `msg`'s (its times are the caller's). */
  protected abstract refresh(entry: E, msg: M): void;
}

/** Arena bytes per flow made room for at once: a record is about 100 bytes. */
const RECORD_BYTES = 128;
/** Buckets of the hash table: one per flow HashLimit allows, up to a million (1.4.7's HashSize is the internal cache's). */
const BUCKETS_MAX = 1 << 20;

/** The peer's flows: records of `key | sync attributes`, decoded when read. */
export class ExternalCache extends PeerCache<FlowMessage> {
  private readonly table: RecordTable;
  private since: Uint32Array;
  private updatedAt: Float64Array;
  /** The key of the flow last looked up, and where that flow's attributes are (stored from there). */
  private key = Buffer.alloc(FLOW_KEY_MAX);
  private keyLength = 0;
  private attributesBuf: Buffer = this.key;
  private attributesStart = 0;
  private attributesEnd = 0;
  private hash = 0;
  private found = NO_SLOT;

  constructor(limit: number) {
    super(limit);
    this.table = new RecordTable(limit, Math.min(limit, BUCKETS_MAX), RECORD_BYTES, (capacity) => {
      this.since = widen(this.since, new Uint32Array(capacity));
      this.updatedAt = widen(this.updatedAt, new Float64Array(capacity));
    });
    this.since = new Uint32Array(this.table.capacity);
    this.updatedAt = new Float64Array(this.table.capacity);
  }

  get size(): number {
    return this.table.size;
  }

  /** Whether the peer's flow with `flow`'s key is cached. */
  has(flow: Flow): boolean {
    try {
      return this.lookUpFlow(flow);
    } catch (err) {
      if (err instanceof SyncEncodeError) return false;
      throw err;
    }
  }

  /** Whether the peer's flow with the key of the flow whose sync attributes are `attributes` is cached. */
  hasAttributes(attributes: Buffer): boolean {
    return this.lookUp(attributes, 0, attributes.length);
  }

  /** The cached flows, each decoded as it is reached. */
  *values(): IterableIterator<ExternalFlow> {
    for (const slot of this.table.slots()) yield this.entry(slot);
  }

  /** The slots of the cached flows, for attributes() and entry(): the cache may change between two. */
  slots(): IterableIterator<number> {
    return this.table.slots();
  }

  /** Where flow `slot`'s sync attributes are, in `into` (valid until the cache changes), and when they came. */
  attributes(slot: number, into: CachedAttributes): CachedAttributes {
    const t = this.table;
    const start = t.start(slot);
    into.buf = t.buf;
    into.start = start + t.keyLengthOf(slot);
    into.end = start + t.lengthOf(slot);
    into.updatedAt = this.updatedAt[slot]!;
    return into;
  }

  /** Flow `slot`, decoded. */
  entry(slot: number): ExternalFlow {
    const t = this.table;
    const start = t.start(slot);
    const flow = decodeFlowAttributes(t.buf, start + t.keyLengthOf(slot), start + t.lengthOf(slot));
    return { flow, since: this.since[slot]!, updatedAt: this.updatedAt[slot]! };
  }

  protected find(msg: FlowMessage): boolean {
    // A message made here (tests, ALARM's copies) may have a decoded flow only.
    return msg instanceof ReceivedFlowMessage ? this.lookUp(msg.buf, msg.start, msg.end) : this.lookUpFlow(msg.flow);
  }

  protected refreshFound(_msg: FlowMessage, now: number): void {
    this.table.replaceBody(this.found, this.attributesBuf, this.attributesStart, this.attributesEnd);
    this.updatedAt[this.found] = now;
  }

  protected removeFound(): void {
    this.table.remove(this.found);
    this.removed();
  }

  protected add(_msg: FlowMessage, since: number, updatedAt: number): void {
    const slot = this.table.insert(this.key, this.keyLength, this.attributesBuf, this.attributesStart, this.attributesEnd, this.hash);
    this.since[slot] = since;
    this.updatedAt[slot] = updatedAt;
  }

  protected clear(): void {
    for (const slot of this.table.slots()) this.table.remove(slot);
  }

  /** lookUp() of `flow`'s sync attributes. @throws SyncEncodeError when the wire cannot carry it. */
  private lookUpFlow(flow: Flow): boolean {
    const w = new AttrWriter(0);
    encodeFlowAttributes(w, flow);
    const attributes = w.finish();
    return this.lookUp(attributes, 0, attributes.length);
  }

  /** Finds the slot of the key of the flow whose attributes are `buf[start, end)`, and notes where they are. */
  private lookUp(buf: Buffer, start: number, end: number): boolean {
    const keyLength = flowKeyBytes(buf, start, end, this.key);
    this.keyLength = keyLength;
    this.attributesBuf = buf;
    this.attributesStart = start;
    this.attributesEnd = end;
    this.hash = hashKey(this.key, keyLength);
    this.found = this.table.find(this.key, keyLength, this.hash);
    return this.found !== NO_SLOT;
  }
}
