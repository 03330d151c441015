/**
 * Counts of a conntrack table by keys, kept per entry so that events can
 * move an entry between groups and dumps can correct what lost events left
 * wrong. Pure: entries in, counts out (TableSummary feeds it from a live
 * namespace; tests feed it by hand).
 */
import { Slot, TupleField, type WireEntry } from '../ctnetlink/wire-entry';
import type { EventType } from '../ctnetlink/event';
import type { FlowKey } from './flow-keys';

/** What one reconciling pass corrected. */
export interface PassResult {
  /** Dumped entries the counts lacked (their NEW events were lost). */
  added: number;
  /** Entries the counts had that the dump did not find (their DESTROY events were lost). */
  removed: number;
  /** Entries the dump found in another group than the counts had them (an UPDATE was lost). */
  changed: number;
}

/** One group of a key: its raw key (as the FlowKey read it) and its entries. */
export interface GroupCount {
  key: number | string;
  entries: number;
}

/** The original tuple's slots an entry's identity hashes, with its zone. */
const TUPLE_SLOTS: readonly Slot[] = [
  Slot.ORIG + TupleField.SRC, Slot.ORIG + TupleField.DST, Slot.ORIG + TupleField.PROTO, Slot.ORIG + TupleField.SPORT,
  Slot.ORIG + TupleField.DPORT, Slot.ORIG + TupleField.ICMP_ID, Slot.ORIG + TupleField.ICMP_TYPE,
  Slot.ORIG + TupleField.ICMP_CODE, Slot.ZONE,
];
const HASH_BITS = 2 ** 21;

/**
 * A Map key for one entry. CTA_ID alone is a 32-bit hash, so a million
 * entries share ~100 ids; 21 bits of an FNV-1a hash of the original tuple
 * beside it (53 bits, still an exact double) leave ~0.0001 collisions.
 */
function identity(e: WireEntry): number {
  let h = 0x811c9dc5;
  for (const slot of TUPLE_SLOTS) {
    const at = e.at[slot]!;
    if (at < 0) continue;
    for (let i = at, end = at + e.len[slot]!; i < end; i++) h = Math.imul(h ^ e.buf[i]!, 0x01000193);
  }
  const id = e.at[Slot.ID]! < 0 ? 0 : e.u32(Slot.ID);
  return id * HASH_BITS + ((h >>> 0) % HASH_BITS);
}

/** The groups of one key: raw key <-> group number, entries per group number. */
class KeyGroups {
  readonly index = new Map<number | string, number>();
  raws: (number | string)[] = [];
  counts = new Float64Array(64);

  constructor(readonly read: FlowKey) {}

  intern(raw: number | string): number {
    let g = this.index.get(raw);
    if (g === undefined) {
      g = this.raws.length;
      this.index.set(raw, g);
      this.raws.push(raw);
      if (g === this.counts.length) this.counts = grown(this.counts, g * 2);
    }
    return g;
  }

  /** Forgets empty groups (a source seen once would stay forever); returns old group number -> new. */
  compact(): Int32Array {
    const map = new Int32Array(this.raws.length).fill(-1);
    const raws: (number | string)[] = [];
    const counts = new Float64Array(Math.max(64, this.counts.length));
    this.index.clear();
    this.raws.forEach((raw, g) => {
      if (this.counts[g] === 0) return;
      map[g] = raws.length;
      counts[raws.length] = this.counts[g]!;
      this.index.set(raw, raws.length);
      raws.push(raw);
    });
    this.raws = raws;
    this.counts = counts;
    return map;
  }
}

function grown<T extends Float64Array | Uint32Array>(a: T, length: number): T {
  const next = new (a.constructor as new (n: number) => T)(length);
  next.set(a);
  return next;
}

/**
 * Entries counted by caller-chosen keys. Memory: a Map entry and 12 bytes +
 * 4 per key per tracked entry, and a Map entry per group.
 *
 * Events move entries (`apply`). A reconciling pass (`beginPass`, `see` for
 * each dumped entry, `endPass`) makes the counts those of the dump, except
 * for entries that had events during the pass: an event is never older than
 * the dump's copy of its entry when it arrives after the dump began, so for
 * those the event wins. Entries neither dumped nor evented during the pass
 * are gone and are removed.
 */
export class TableTally<K extends string> {
  private readonly keys: readonly K[];
  private readonly groups: KeyGroups[];
  private readonly slots = new Map<number, number>();
  /** Per slot: its entry's identity, -1 when free. */
  private ids = new Float64Array(1024).fill(-1);
  /** Per slot: the pass that last saw the entry (dumped, or evented). */
  private seen = new Uint32Array(1024);
  /** Per key, per slot: the entry's group number. */
  private member: Uint32Array[];
  private readonly free: number[] = [];
  private used = 0;
  private pass = 0;
  private passing = false;
  /** Identities evented during the current pass: their dumped copy is older. */
  private readonly evented = new Set<number>();
  private result: PassResult = { added: 0, removed: 0, changed: 0 };
  private readonly raw: (number | string | undefined)[];

  constructor(keys: Readonly<Record<K, FlowKey>>) {
    this.keys = Object.keys(keys) as K[];
    this.groups = this.keys.map((k) => new KeyGroups(keys[k]));
    this.member = this.keys.map(() => new Uint32Array(1024));
    this.raw = this.keys.map(() => undefined);
  }

  /** Entries counted. */
  get entries(): number {
    return this.slots.size;
  }

  /** A conntrack event of `entry`. */
  apply(type: EventType, entry: WireEntry): void {
    entry.index();
    const id = identity(entry);
    if (this.passing) this.evented.add(id);
    const slot = this.slots.get(id);
    if (type === 'destroy') {
      if (slot !== undefined) this.remove(slot);
    } else if (slot !== undefined) {
      this.move(slot, entry);
    } else if (this.read(entry)) {
      this.insert(id);
    } else {
      // An UPDATE of an entry whose NEW was lost, short of a key: the pass that follows a loss counts it.
      this.evented.delete(id);
    }
  }

  /** Starts a reconciling pass: a dump of the whole table follows. */
  beginPass(): void {
    this.pass = (this.pass + 1) >>> 0;
    this.passing = true;
    this.evented.clear();
    this.result = { added: 0, removed: 0, changed: 0 };
  }

  /** A dumped entry, during a pass. */
  see(entry: WireEntry): void {
    entry.index();
    const id = identity(entry);
    if (this.evented.has(id)) return;
    const slot = this.slots.get(id);
    if (slot !== undefined) {
      if (this.move(slot, entry)) this.result.changed++;
      return;
    }
    // A dump carries every key; '' stands for one an odd entry lacks rather than leaving it uncounted.
    this.read(entry);
    for (let k = 0; k < this.raw.length; k++) this.raw[k] ??= '';
    this.insert(id);
    this.result.added++;
  }

  /** Ends a pass whose dump saw the whole table: entries it did not see are gone. */
  endPass(): PassResult {
    this.passing = false;
    this.evented.clear();
    for (let slot = 0; slot < this.used; slot++) {
      if (this.ids[slot]! >= 0 && this.seen[slot] !== this.pass) {
        this.remove(slot);
        this.result.removed++;
      }
    }
    this.compact();
    return this.result;
  }

  /** Ends a pass whose dump failed part-way: nothing is removed, the next pass must do it. */
  abandonPass(): void {
    this.passing = false;
    this.evented.clear();
  }

  /** Entries per group of `key`, for groups with entries. */
  counts(key: K): GroupCount[] {
    const g = this.groups[this.keys.indexOf(key)]!;
    const out: GroupCount[] = [];
    g.raws.forEach((raw, i) => {
      if (g.counts[i]! > 0) out.push({ key: raw, entries: g.counts[i]! });
    });
    return out;
  }

  /**
   * The `limit` groups of `key` with the most entries, most first (ties in
   * key order). One pass keeping at most `limit` candidates: no sort of every group.
   */
  top(key: K, limit: number): GroupCount[] {
    const best: GroupCount[] = [];
    const before = (a: GroupCount, b: GroupCount): boolean => a.entries > b.entries || (a.entries === b.entries && a.key < b.key);
    const g = this.groups[this.keys.indexOf(key)]!;
    for (let i = 0; i < g.raws.length && limit > 0; i++) {
      const entries = g.counts[i]!;
      const raw = g.raws[i]!;
      if (entries === 0) continue;
      // Compared before an object is made for it: most groups lose to the last candidate.
      const last = best[limit - 1];
      if (last && !(entries > last.entries || (entries === last.entries && raw < last.key))) continue;
      const c = { key: raw, entries };
      if (best.length === limit) best.pop();
      let at = best.length;
      while (at > 0 && before(c, best[at - 1]!)) at--;
      best.splice(at, 0, c);
    }
    return best;
  }

  /** Reads every key into `raw`; false when one is missing. */
  private read(entry: WireEntry): boolean {
    let complete = true;
    for (let k = 0; k < this.groups.length; k++) {
      this.raw[k] = this.groups[k]!.read(entry);
      if (this.raw[k] === undefined) complete = false;
    }
    return complete;
  }

  private insert(id: number): void {
    const slot = this.free.pop() ?? this.used++;
    if (slot === this.ids.length) this.grow();
    this.ids[slot] = id;
    this.seen[slot] = this.pass;
    this.slots.set(id, slot);
    for (let k = 0; k < this.groups.length; k++) {
      const g = this.groups[k]!.intern(this.raw[k]!);
      this.member[k]![slot] = g;
      this.groups[k]!.counts[g]!++;
    }
  }

  /** Puts an entry in the groups its keys read now (a key it lacks keeps its group); true when one changed. */
  private move(slot: number, entry: WireEntry): boolean {
    this.seen[slot] = this.pass;
    let moved = false;
    for (let k = 0; k < this.groups.length; k++) {
      const groups = this.groups[k]!;
      const raw = groups.read(entry);
      if (raw === undefined) continue;
      const g = groups.intern(raw);
      const old = this.member[k]![slot]!;
      if (g === old) continue;
      groups.counts[old]!--;
      groups.counts[g]!++;
      this.member[k]![slot] = g;
      moved = true;
    }
    return moved;
  }

  private remove(slot: number): void {
    this.slots.delete(this.ids[slot]!);
    this.ids[slot] = -1;
    this.free.push(slot);
    for (let k = 0; k < this.groups.length; k++) this.groups[k]!.counts[this.member[k]![slot]!]!--;
  }

  private grow(): void {
    const length = this.ids.length * 2;
    this.ids = grown(this.ids, length);
    this.ids.fill(-1, length / 2);
    this.seen = grown(this.seen, length);
    this.member = this.member.map((m) => grown(m, length));
  }

  /** Drops empty groups once they are most of a key's groups. */
  private compact(): void {
    this.groups.forEach((groups, k) => {
      if (groups.index.size < 64 || groups.counts.filter((c, i) => i < groups.raws.length && c === 0).length * 2 < groups.raws.length) return;
      const map = groups.compact();
      const member = this.member[k]!;
      for (let slot = 0; slot < this.used; slot++) if (this.ids[slot]! >= 0) member[slot] = map[member[slot]!]!;
    });
  }
}
