/**
 * The internal cache: this node's flows, a filtered mirror of the kernel
 * table, keyed by original tuple + zone (record.ts). It counts what 1.4.7's
 * cache counts (`-s`, `-s cache`: CacheCounters) and refuses new flows past
 * HashLimit.
 *
 * Built for a million flows: a flow is a slot of a RecordTable
 * (record-table.ts, HashSize buckets as in 1.4.7) that holds its record,
 * and its other fields are typed arrays indexed by slot. Filling the cache
 * allocates no JavaScript object per flow.
 */
import type { Flow } from '../../ctnetlink/flow';
import { newCacheCounters } from '../stats/counters';
import { AttrWriter } from '../sync/attributes';
import { SyncEncodeError } from '../sync/errors';
import type { FlowEncodeOptions } from '../sync/flow-attributes';
import type { WireEntry } from '../../ctnetlink/wire-entry';
import { decodeRecord, FlowState, RecordBuilder } from './record';
import { writeRecordAttributes } from './record-sync';
import { hashKey } from './record-bytes';
import { NO_SLOT, RecordTable, widen } from './record-table';

/** What happened to a cached flow; a sync mode replicates these. */
export type CacheChange = 'new' | 'update' | 'destroy';

/** Told each change with the flow's slot (no object per change: a burst makes a million). */
export type CacheListener = (change: CacheChange, slot: number) => void;

/** A cached flow as its users see it; valid until the cache changes. */
export class CachedFlow {
  constructor(
    private readonly cache: FlowCache,
    readonly slot: number,
  ) {}

  get state(): FlowState {
    return this.cache.stateOf(this.slot);
  }

  /** When it entered the cache, in seconds of the cache's clock. */
  get since(): number {
    return this.cache.sinceOf(this.slot);
  }

  flow(): Flow {
    return this.cache.flowOf(this.slot);
  }
}

/** Arena bytes per flow made room for at once: a record is 100 to 250 bytes. */
const RECORD_BYTES = 256;

export class FlowCache {
  readonly counters = newCacheCounters();
  private readonly table: RecordTable;
  private readonly builder = new RecordBuilder();
  private since: Float64Array;
  private seen: Uint32Array;
  private states: Uint8Array;
  /** The timeout the last event or dump of each flow carried (0: none yet); records keep no timeout. */
  private timeouts: Uint32Array;
  /** The current resync round (sweep). */
  private round = 0;

  constructor(
    /** HashLimit: the most flows the cache holds. */
    readonly limit: number,
    /** HashSize: buckets of the hash table. */
    buckets: number,
    /** Whole seconds of the wall clock, for "active since". */
    private readonly now: () => number,
    private readonly listener?: CacheListener,
  ) {
    this.table = new RecordTable(limit, buckets, RECORD_BYTES, (capacity) => {
      this.since = widen(this.since, new Float64Array(capacity));
      this.seen = widen(this.seen, new Uint32Array(capacity));
      this.states = widen(this.states, new Uint8Array(capacity));
      this.timeouts = widen(this.timeouts, new Uint32Array(capacity));
    });
    const capacity = this.table.capacity;
    this.since = new Float64Array(capacity);
    this.seen = new Uint32Array(capacity);
    this.states = new Uint8Array(capacity);
    this.timeouts = new Uint32Array(capacity);
  }

  get size(): number {
    return this.counters.active;
  }

  /** The cached flows, in slot order. */
  *values(): IterableIterator<CachedFlow> {
    for (const slot of this.table.slots()) yield new CachedFlow(this, slot);
  }

  /** Calls `visit` with the slot of every cached flow, in slot order (a bulk send's walk, with no object per flow). */
  forEachSlot(visit: (slot: number) => void): void {
    this.table.forEachSlot(visit);
  }

  stateOf(slot: number): FlowState {
    return this.states[slot]!;
  }

  sinceOf(slot: number): number {
    return this.since[slot]!;
  }

  flowOf(slot: number): Flow {
    const t = this.table;
    return decodeRecord(t.buf, t.start(slot), t.keyLengthOf(slot), t.lengthOf(slot));
  }

  /**
   * The timeout last noted for the flow of `slot` (undefined when none
   * was): what a sync daemon replicates with it, as 1.4.7's cache objects
   * keep the timeout of the event that last set them.
   */
  timeoutOf(slot: number): number | undefined {
    const t = this.timeouts[slot]!;
    return t === 0 ? undefined : t;
  }

  /** Appends the sync attributes of the flow of `slot`, with its last noted timeout (record-sync.ts). */
  writeSyncAttributes(slot: number, w: AttrWriter, opts: FlowEncodeOptions): void {
    const t = this.table;
    writeRecordAttributes(w, t.buf, t.start(slot), t.keyLengthOf(slot), t.lengthOf(slot), this.timeoutOf(slot), opts);
  }

  /** The sync attributes of the flow of `slot`, in a buffer of their own; undefined when the wire cannot carry them. */
  syncAttributes(slot: number, opts: FlowEncodeOptions): Buffer | undefined {
    const w = new AttrWriter(0);
    try {
      this.writeSyncAttributes(slot, w, opts);
    } catch (err) {
      if (err instanceof SyncEncodeError) return undefined;
      throw err;
    }
    return w.finish();
  }

  /** The key of the flow of `slot` as a string (one char per byte), for maps that outlive the slot. */
  keyText(slot: number): string {
    const at = this.table.start(slot);
    return this.table.buf.toString('latin1', at, at + this.table.keyLengthOf(slot));
  }

  /** Notes the timeout an event or a dump gave the flow of `slot` (0 is taken as none). */
  noteTimeout(slot: number, seconds: number): void {
    this.timeouts[slot] = seconds;
  }

  /** A NEW event: adds the flow unless its key is cached already (then nothing changes). */
  add(raw: WireEntry): void {
    const b = this.builder;
    if (!b.begin(raw)) return;
    const hash = hashKey(b.bytes, b.keyLength);
    if (this.table.find(b.bytes, b.keyLength, hash) !== NO_SLOT) return;
    this.insert(hash, raw);
  }

  /** An UPDATE event or a dumped entry: updates the cached flow, or adds it when missing. */
  update(raw: WireEntry): void {
    const b = this.builder;
    if (!b.begin(raw)) return;
    const hash = hashKey(b.bytes, b.keyLength);
    const t = this.table;
    const slot = t.find(b.bytes, b.keyLength, hash);
    if (slot === NO_SLOT) {
      this.insert(hash, raw);
      return;
    }
    // The update's attributes replace the stored ones of the same types, the
    // others stay (an UPDATE event carries only what changed besides tuples,
    // status and id), as 1.4.7 copies the set attributes over its object.
    const old = t.start(slot);
    b.skipTypesOf(raw.buf, raw.start, raw.end);
    b.keep(t.buf, old + b.keyLength, old + t.lengthOf(slot), true);
    b.keep(raw.buf, raw.start, raw.end);
    t.replaceBody(slot, b.bytes, b.keyLength, b.length);
    this.states[slot] = FlowState.ALIVE;
    this.seen[slot] = this.round;
    this.counters.updOk++;
    this.tell('update', slot);
  }

  /** A DESTROY event: removes the flow; false when it was not cached. */
  remove(raw: WireEntry): boolean {
    const b = this.builder;
    const slot = b.begin(raw) ? this.table.find(b.bytes, b.keyLength, hashKey(b.bytes, b.keyLength)) : NO_SLOT;
    if (slot === NO_SLOT) {
      this.counters.delFail++;
      this.counters.delFailNotFound++;
      return false;
    }
    this.drop(slot);
    return true;
  }

  /** Empties the cache (`-f internal`); the flows count as destroyed. Returns how many went. */
  flush(): number {
    const count = this.size;
    for (const slot of this.table.slots()) this.drop(slot);
    return count;
  }

  /**
   * Starts a resync round: every flow a dump then adds or updates is marked
   * as seen in it, and sweep() removes the others — the flows that vanished
   * from the kernel while events were lost (or, polling, not listened to).
   */
  beginRound(): void {
    this.round++;
  }

  /** Removes the flows the current round has not seen; returns how many. */
  sweep(): number {
    let count = 0;
    for (const slot of this.table.slots()) {
      if (this.seen[slot] === this.round) continue;
      this.drop(slot);
      count++;
    }
    return count;
  }

  private insert(hash: number, raw: WireEntry): void {
    if (this.size >= this.limit) {
      this.counters.addFail++;
      this.counters.addFailNoSpace++;
      return;
    }
    const b = this.builder;
    b.keep(raw.buf, raw.start, raw.end);
    const slot = this.table.insert(b.bytes, b.keyLength, b.bytes, b.keyLength, b.length, hash);
    this.since[slot] = this.now();
    this.seen[slot] = this.round;
    this.states[slot] = FlowState.NEW;
    this.timeouts[slot] = 0;
    this.counters.addOk++;
    this.counters.active++;
    this.counters.total++;
    this.tell('new', slot);
  }

  private drop(slot: number): void {
    this.states[slot] = FlowState.DEAD;
    this.counters.delOk++;
    this.counters.active--;
    this.counters.total--;
    this.tell('destroy', slot);
    this.table.remove(slot);
  }

  private tell(change: CacheChange, slot: number): void {
    this.listener?.(change, slot);
  }
}
