/**
 * The internal cache: this node's flows, a filtered mirror of the kernel
 * table, keyed by original tuple + zone (record.ts). It counts what 1.4.7's
 * cache counts (`-s`, `-s cache`: CacheCounters) and refuses new flows past
 * HashLimit.
 *
 * Built for a hundred thousand flows and more: a flow is a slot number. Its
 * record lives in an Arena, its other fields in typed arrays indexed by
 * slot, and the hash table (HashSize buckets, as in 1.4.7) holds the first
 * slot of each bucket's chain. Filling the cache allocates no JavaScript object per
 * flow, so the garbage collector has nothing to copy or scan.
 */
import type { Flow } from '../../ctnetlink/flow';
import { newCacheCounters } from '../stats/counters';
import { Arena } from './arena';
import { copyBytes, decodeRecord, FlowState, RecordBuilder, type RawFlow } from './record';

/** What happened to a cached flow; a sync mode replicates these. */
export type CacheChange = 'new' | 'update' | 'destroy';

export type CacheListener = (change: CacheChange, flow: CachedFlow) => void;

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

/** Flows the cache makes room for at once (more grow it). */
const PRESIZED_FLOWS = 1 << 20;
/** Arena bytes per flow made room for at once: a record is 100 to 250 bytes. */
const RECORD_BYTES = 256;

/** State of a slot that holds no flow. */
const FREE = 255;
const NONE = -1;

export class FlowCache {
  readonly counters = newCacheCounters();
  private readonly arena: Arena;
  private readonly builder = new RecordBuilder();
  /** Bucket -> first slot of its chain, NONE when empty. */
  private readonly heads: Int32Array;
  private capacity: number;
  private at: Uint32Array;
  private length: Uint32Array;
  private keyLength: Uint16Array;
  private hashes: Int32Array;
  private next: Int32Array;
  private since: Float64Array;
  private seen: Uint32Array;
  private states: Uint8Array;
  /** The timeout the last event or dump of each flow carried (0: none yet); records keep no timeout. */
  private timeouts: Uint32Array;
  /** 1 for a flow its user has marked (a sync daemon: the flow has its sync object), until the slot is reused. */
  private marks: Uint8Array;
  private readonly freeSlots: number[] = [];
  /** Slots ever used: [0, used). */
  private used = 0;
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
    this.heads = new Int32Array(Math.max(1, buckets)).fill(NONE);
    // Sized for HashLimit up front: large typed arrays and the arena are
    // mapped lazily, so untouched room costs no memory, and filling the
    // cache never stops to copy them.
    const capacity = Math.max(16, Math.min(limit, PRESIZED_FLOWS));
    this.capacity = capacity;
    this.at = new Uint32Array(capacity);
    this.length = new Uint32Array(capacity);
    this.keyLength = new Uint16Array(capacity);
    this.hashes = new Int32Array(capacity);
    this.next = new Int32Array(capacity);
    this.since = new Float64Array(capacity);
    this.seen = new Uint32Array(capacity);
    this.states = new Uint8Array(capacity).fill(FREE);
    this.timeouts = new Uint32Array(capacity);
    this.marks = new Uint8Array(capacity);
    this.arena = new Arena(capacity * RECORD_BYTES);
  }

  get size(): number {
    return this.counters.active;
  }

  /** The cached flows, in slot order. */
  *values(): IterableIterator<CachedFlow> {
    for (let slot = 0; slot < this.used; slot++) if (this.states[slot] !== FREE) yield new CachedFlow(this, slot);
  }

  stateOf(slot: number): FlowState {
    return this.states[slot]!;
  }

  sinceOf(slot: number): number {
    return this.since[slot]!;
  }

  flowOf(slot: number): Flow {
    return decodeRecord(this.arena.buf, this.at[slot]!, this.keyLength[slot]!, this.length[slot]!);
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

  /** Marks the flow of `slot` for the cache's user; a new flow in the slot starts unmarked. */
  mark(slot: number): void {
    this.marks[slot] = 1;
  }

  isMarked(slot: number): boolean {
    return this.marks[slot] === 1;
  }

  /** Notes the timeout an event or a dump gave the flow of `slot` (0 is taken as none). */
  noteTimeout(slot: number, seconds: number): void {
    this.timeouts[slot] = seconds;
  }

  /** A NEW event: adds the flow unless its key is cached already (then nothing changes). */
  add(raw: RawFlow): void {
    if (!this.builder.begin(raw)) return;
    const hash = this.builder.hash();
    if (this.find(hash) !== NONE) return;
    this.insert(hash, raw);
  }

  /** An UPDATE event or a dumped entry: updates the cached flow, or adds it when missing. */
  update(raw: RawFlow): void {
    const b = this.builder;
    if (!b.begin(raw)) return;
    const hash = b.hash();
    const slot = this.find(hash);
    if (slot === NONE) {
      this.insert(hash, raw);
      return;
    }
    // The update's attributes replace the stored ones of the same types, the
    // others stay (an UPDATE event carries only what changed besides tuples,
    // status and id), as 1.4.7 copies the set attributes over its object.
    const old = this.at[slot]!;
    b.keep(this.arena.buf, old + b.keyLength, old + this.length[slot]!, b.typesOf(raw.buf, raw.start, raw.end));
    b.keep(raw.buf, raw.start, raw.end);
    this.arena.release(old, this.length[slot]!);
    this.store(slot);
    this.states[slot] = FlowState.ALIVE;
    this.seen[slot] = this.round;
    this.counters.updOk++;
    this.tell('update', slot);
  }

  /** A DESTROY event: removes the flow; false when it was not cached. */
  remove(raw: RawFlow): boolean {
    const slot = this.builder.begin(raw) ? this.find(this.builder.hash()) : NONE;
    if (slot === NONE) {
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
    for (let slot = 0; slot < this.used; slot++) if (this.states[slot] !== FREE) this.drop(slot);
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
    for (let slot = 0; slot < this.used; slot++) {
      if (this.states[slot] === FREE || this.seen[slot] === this.round) continue;
      this.drop(slot);
      count++;
    }
    return count;
  }

  /** The slot whose key is the builder's, or NONE. */
  private find(hash: number): number {
    const b = this.builder;
    const buf = this.arena.buf;
    for (let slot = this.heads[this.bucket(hash)]!; slot !== NONE; slot = this.next[slot]!) {
      if (this.keyLength[slot] !== b.keyLength) continue;
      const at = this.at[slot]!;
      const key = b.bytes;
      let i = 0;
      while (i < b.keyLength && buf[at + i] === key[i]) i++;
      if (i === b.keyLength) return slot;
    }
    return NONE;
  }

  private insert(hash: number, raw: RawFlow): void {
    if (this.size >= this.limit) {
      this.counters.addFail++;
      this.counters.addFailNoSpace++;
      return;
    }
    this.builder.keep(raw.buf, raw.start, raw.end);
    const slot = this.freeSlots.pop() ?? this.newSlot();
    this.store(slot);
    this.hashes[slot] = hash;
    const bucket = this.bucket(hash);
    this.next[slot] = this.heads[bucket]!;
    this.heads[bucket] = slot;
    this.since[slot] = this.now();
    this.seen[slot] = this.round;
    this.states[slot] = FlowState.NEW;
    this.timeouts[slot] = 0;
    this.marks[slot] = 0;
    this.counters.addOk++;
    this.counters.active++;
    this.counters.total++;
    this.tell('new', slot);
  }

  /** Copies the builder's record into the arena for `slot`. */
  private store(slot: number): void {
    const b = this.builder;
    const at = this.arena.alloc(b.length);
    copyBytes(b.bytes, 0, b.length, this.arena.buf, at);
    this.at[slot] = at;
    this.length[slot] = b.length;
    this.keyLength[slot] = b.keyLength;
  }

  private drop(slot: number): void {
    // Unlink from its chain.
    const bucket = this.bucket(this.hashes[slot]!);
    const head = this.heads[bucket]!;
    if (head === slot) {
      this.heads[bucket] = this.next[slot]!;
    } else {
      let prev = head;
      while (this.next[prev] !== slot) prev = this.next[prev]!;
      this.next[prev] = this.next[slot]!;
    }
    this.states[slot] = FlowState.DEAD;
    this.counters.delOk++;
    this.counters.active--;
    this.counters.total--;
    this.tell('destroy', slot);
    this.arena.release(this.at[slot]!, this.length[slot]!);
    this.states[slot] = FREE;
    this.freeSlots.push(slot);
  }

  private bucket(hash: number): number {
    return (hash >>> 0) % this.heads.length;
  }

  private tell(change: CacheChange, slot: number): void {
    this.listener?.(change, new CachedFlow(this, slot));
  }

  private newSlot(): number {
    if (this.used === this.capacity) this.grow();
    return this.used++;
  }

  private grow(): void {
    const capacity = this.capacity * 2;
    const widen = <T extends Uint32Array | Uint16Array | Int32Array | Float64Array | Uint8Array>(old: T, make: (n: number) => T): T => {
      const wider = make(capacity);
      wider.set(old);
      return wider;
    };
    this.at = widen(this.at, (n) => new Uint32Array(n));
    this.length = widen(this.length, (n) => new Uint32Array(n));
    this.keyLength = widen(this.keyLength, (n) => new Uint16Array(n));
    this.hashes = widen(this.hashes, (n) => new Int32Array(n));
    this.next = widen(this.next, (n) => new Int32Array(n));
    this.since = widen(this.since, (n) => new Float64Array(n));
    this.seen = widen(this.seen, (n) => new Uint32Array(n));
    this.states = widen(this.states, (n) => new Uint8Array(n).fill(FREE));
    this.timeouts = widen(this.timeouts, (n) => new Uint32Array(n));
    this.marks = widen(this.marks, (n) => new Uint8Array(n));
    this.capacity = capacity;
  }
}
