/**
 * A hash table of byte records, the storage of both flow caches: a record
 * is its key followed by what the cache keeps of the flow (the internal
 * cache: kernel attributes, record.ts; the external cache: sync attributes).
 *
 * Built for a million flows: a record is a slot number. Its bytes live in an
 * Arena, its place in the table in typed arrays indexed by slot, and each
 * of the hash table's buckets holds the first slot of its chain. Filling a
 * table allocates no JavaScript object per record, so the garbage
 * collector has nothing to copy or scan. A cache keeps its own per-slot
 * fields in typed arrays too, sized by `capacity` (`grown` tells it when).
 */
import { Arena } from './arena';
import { copyBytes } from './record-bytes';

/** Records made room for at once (more grow the table). */
const PRESIZED_RECORDS = 1 << 20;

export const NO_SLOT = -1;

export class RecordTable {
  private readonly arena: Arena;
  /** Bucket -> first slot of its chain, NO_SLOT when empty. */
  private readonly heads: Int32Array;
  private at: Uint32Array;
  /** Record length in bytes; 0 for a free slot. */
  private length: Uint32Array;
  private keyLength: Uint16Array;
  private hashes: Int32Array;
  private next: Int32Array;
  private readonly freeSlots: number[] = [];
  /** Slots ever used: [0, used). */
  used = 0;
  capacity: number;
  /** Records held. */
  size = 0;

  constructor(
    /** The most records a cache will hold (the arrays are sized for it, up to a million). */
    limit: number,
    buckets: number,
    /** Arena bytes per record made room for at once. */
    recordBytes: number,
    /** Called after the per-slot arrays grew to `capacity` slots: the cache grows its own. */
    private readonly grown: (capacity: number) => void,
  ) {
    this.heads = new Int32Array(Math.max(1, buckets)).fill(NO_SLOT);
    // Sized up front: large typed arrays and the arena are mapped lazily,
    // so untouched room costs no memory, and filling never stops to copy them.
    const capacity = Math.max(16, Math.min(limit, PRESIZED_RECORDS));
    this.capacity = capacity;
    this.at = new Uint32Array(capacity);
    this.length = new Uint32Array(capacity);
    this.keyLength = new Uint16Array(capacity);
    this.hashes = new Int32Array(capacity);
    this.next = new Int32Array(capacity);
    this.arena = new Arena(capacity * recordBytes);
  }

  /** The buffer that holds every record; valid until the next insert or replace. */
  get buf(): Buffer {
    return this.arena.buf;
  }

  /** Where the record of `slot` starts in `buf`. */
  start(slot: number): number {
    return this.at[slot]!;
  }

  /** Its length, key included. */
  lengthOf(slot: number): number {
    return this.length[slot]!;
  }

  keyLengthOf(slot: number): number {
    return this.keyLength[slot]!;
  }

  isUsed(slot: number): boolean {
    return this.length[slot] !== 0;
  }

  /** The slot whose key is `key[0, keyLength)` (of hash `hash`, see hashKey), or NO_SLOT. */
  find(key: Buffer, keyLength: number, hash: number): number {
    const buf = this.arena.buf;
    for (let slot = this.heads[this.bucket(hash)]!; slot !== NO_SLOT; slot = this.next[slot]!) {
      if (this.keyLength[slot] !== keyLength || this.hashes[slot] !== hash) continue;
      const at = this.at[slot]!;
      let i = 0;
      while (i < keyLength && buf[at + i] === key[i]) i++;
      if (i === keyLength) return slot;
    }
    return NO_SLOT;
  }

  /**
   * Adds the record of key `key[0, keyLength)` and body `body[start, end)`
   * (not in the table yet); returns its slot. Key and body come apart so
   * that a cache can store a received message's bytes without first
   * assembling the record elsewhere.
   */
  insert(key: Buffer, keyLength: number, body: Buffer, start: number, end: number, hash: number): number {
    const slot = this.freeSlots.pop() ?? this.newSlot();
    const at = this.arena.alloc(keyLength + end - start);
    const buf = this.arena.buf;
    copyBytes(key, 0, keyLength, buf, at);
    copyBytes(body, start, end, buf, at + keyLength);
    this.place(slot, at, keyLength + end - start, keyLength);
    this.hashes[slot] = hash;
    const bucket = this.bucket(hash);
    this.next[slot] = this.heads[bucket]!;
    this.heads[bucket] = slot;
    this.size++;
    return slot;
  }

  /** Replaces the body of the record of `slot` with `body[start, end)`; its key stays. */
  replaceBody(slot: number, body: Buffer, start: number, end: number): void {
    const keyLength = this.keyLength[slot]!;
    const old = this.at[slot]!;
    const oldLength = this.length[slot]!;
    const at = this.arena.alloc(keyLength + end - start);
    const buf = this.arena.buf;
    copyBytes(buf, old, old + keyLength, buf, at);
    copyBytes(body, start, end, buf, at + keyLength);
    this.arena.release(old, oldLength);
    this.place(slot, at, keyLength + end - start, keyLength);
  }

  /** Removes the record of `slot`; the slot goes to the next insert. */
  remove(slot: number): void {
    const bucket = this.bucket(this.hashes[slot]!);
    const head = this.heads[bucket]!;
    if (head === slot) {
      this.heads[bucket] = this.next[slot]!;
    } else {
      let prev = head;
      while (this.next[prev] !== slot) prev = this.next[prev]!;
      this.next[prev] = this.next[slot]!;
    }
    this.arena.release(this.at[slot]!, this.length[slot]!);
    this.length[slot] = 0;
    this.freeSlots.push(slot);
    this.size--;
  }

  /** The slots that hold a record, in slot order. */
  *slots(): IterableIterator<number> {
    for (let slot = 0; slot < this.used; slot++) if (this.length[slot] !== 0) yield slot;
  }

  /** Calls `visit` with the slots that hold a record, in slot order: slots() without a generator's cost per step, for walks of every flow. */
  forEachSlot(visit: (slot: number) => void): void {
    for (let slot = 0; slot < this.used; slot++) if (this.length[slot] !== 0) visit(slot);
  }

  private place(slot: number, at: number, length: number, keyLength: number): void {
    this.at[slot] = at;
    this.length[slot] = length;
    this.keyLength[slot] = keyLength;
  }

  private bucket(hash: number): number {
    return (hash >>> 0) % this.heads.length;
  }

  private newSlot(): number {
    if (this.used === this.capacity) this.grow();
    return this.used++;
  }

  private grow(): void {
    const capacity = this.capacity * 2;
    this.at = widen(this.at, new Uint32Array(capacity));
    this.length = widen(this.length, new Uint32Array(capacity));
    this.keyLength = widen(this.keyLength, new Uint16Array(capacity));
    this.hashes = widen(this.hashes, new Int32Array(capacity));
    this.next = widen(this.next, new Int32Array(capacity));
    this.capacity = capacity;
    this.grown(capacity);
  }
}

/** `wider` with `old`'s values at its start: a per-slot array grown. */
export function widen<T extends Uint32Array | Uint16Array | Int32Array | Float64Array | Uint8Array>(old: T, wider: T): T {
  wider.set(old);
  return wider;
}
