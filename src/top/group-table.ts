import { CtAttr } from '../ctnetlink/constants';
import { attrMask, Slot, type WireEntry } from '../ctnetlink/wire-entry';
import { KEY_READERS, KEY_WORDS, type GroupKey, type KeyReader } from './group-key';

/** One group's totals: entries, and packets/bytes of both directions (0 without nf_conntrack_acct). */
export interface GroupRow {
  group: string;
  /** The group's key as KEY_READERS[key].read writes it (to find its entries again). */
  key: Uint32Array;
  entries: number;
  packets: number;
  bytes: number;
}

export type SortColumn = 'entries' | 'packets' | 'bytes';

/** The attributes `counter` reads (WireEntry.index). */
export const COUNTERS = attrMask(CtAttr.COUNTERS_ORIG, CtAttr.COUNTERS_REPLY);
/** A packet or byte counter of an entry; 0 without nf_conntrack_acct. */
export const counter = (e: WireEntry, slot: Slot): number => (e.at[slot]! < 0 ? 0 : Number(e.u64(slot)));
const MIN_GROUPS = 1024;

/** A well-mixed 32-bit hash of a key (consecutive addresses must not land in consecutive slots). */
function hashKey(k: Uint32Array, o: number): number {
  let h = k[o]!;
  for (let i = 1; i < KEY_WORDS; i++) h = Math.imul(h ^ k[o + i]!, 0x9e3779b1) ^ (h >>> 15);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * Totals per group, built while a dump streams past: memory grows with the
 * number of groups, never with the number of entries. Keys are binary
 * (group-key.ts) in one Uint32Array, found through an open-addressing hash
 * of group numbers, and totals live in typed columns indexed by group number:
 * a million groups (every source distinct) cost about 60 bytes each and no
 * object at all, where a Map of strings or boxed numbers cost three times
 * that and most of a dump's time.
 */
export class GroupTable {
  /** Row g holds group g's key. */
  private keys: Uint32Array;
  /** Open addressing, linear probing: group number + 1, 0 when free; at most half full. */
  private slots: Int32Array;
  private count = 0;
  private columns: { entries: Uint32Array; packets: Float64Array; bytes: Float64Array };
  private readonly reader: KeyReader;
  private readonly attrs: number;
  private readonly key = new Uint32Array(KEY_WORDS);
  /** Some entry carried counters (nf_conntrack_acct was on when it was made). */
  counted = false;

  /**
   * `expected`: how many groups there may be at most (the table's entry
   * count). The arrays are sized for it up front, so a big table needs no
   * growing and rehashing on the way; that costs only address space, since
   * the kernel maps the pages of a fresh array when first written and a
   * table of few groups writes few of them.
   */
  constructor(
    readonly groupKey: GroupKey,
    expected = MIN_GROUPS,
  ) {
    this.reader = KEY_READERS[groupKey];
    this.attrs = this.reader.attrs | COUNTERS;
    const groups = Math.max(MIN_GROUPS, expected);
    this.keys = new Uint32Array(groups * KEY_WORDS);
    this.slots = new Int32Array(2 ** Math.ceil(Math.log2(2 * groups)));
    this.columns = { entries: new Uint32Array(groups), packets: new Float64Array(groups), bytes: new Float64Array(groups) };
  }

  add(e: WireEntry): void {
    e.index(this.attrs);
    this.reader.read(e, this.key);
    const g = this.group(this.key);
    const { entries, packets, bytes } = this.columns;
    entries[g]!++;
    if (e.at[Slot.COUNTERS_ORIG]! >= 0) {
      this.counted = true;
      packets[g]! += counter(e, Slot.PACKETS_ORIG) + counter(e, Slot.PACKETS_REPLY);
      bytes[g]! += counter(e, Slot.BYTES_ORIG) + counter(e, Slot.BYTES_REPLY);
    }
  }

  /** The number of the group of key `k`, made if new. */
  private group(k: Uint32Array): number {
    const { keys, slots } = this;
    const mask = slots.length - 1;
    for (let s = hashKey(k, 0) & mask; ; s = (s + 1) & mask) {
      const found = slots[s]!;
      if (found === 0) break;
      const o = (found - 1) * KEY_WORDS;
      if (keys[o] === k[0] && keys[o + 1] === k[1] && keys[o + 2] === k[2] && keys[o + 3] === k[3] && keys[o + 4] === k[4]) return found - 1;
    }
    const g = this.count++;
    if (g === this.columns.entries.length) this.grow();
    this.keys.set(k, g * KEY_WORDS);
    if (2 * this.count > this.slots.length) this.rehash();
    else this.place(g);
    return g;
  }

  private place(g: number): void {
    const mask = this.slots.length - 1;
    let s = hashKey(this.keys, g * KEY_WORDS) & mask;
    while (this.slots[s] !== 0) s = (s + 1) & mask;
    this.slots[s] = g + 1;
  }

  private rehash(): void {
    this.slots = new Int32Array(2 * this.slots.length);
    for (let g = 0; g < this.count; g++) this.place(g);
  }

  private grow(): void {
    const bigger = <T extends Float64Array | Uint32Array>(column: T, make: (n: number) => T): T => {
      const next = make(column.length * 2);
      next.set(column);
      return next;
    };
    const float = (n: number): Float64Array => new Float64Array(n);
    const { entries, packets, bytes } = this.columns;
    this.columns = { entries: bigger(entries, (n) => new Uint32Array(n)), packets: bigger(packets, float), bytes: bigger(bytes, float) };
    this.keys = bigger(this.keys, (n) => new Uint32Array(n));
  }

  get size(): number {
    return this.count;
  }

  /** Key order (Kind, then word by word): IPv4 before IPv6, each in address order. */
  private keyBefore(a: number, b: number): boolean {
    const { keys } = this;
    for (let i = 0; i < KEY_WORDS; i++) {
      const x = keys[a * KEY_WORDS + i]!;
      const y = keys[b * KEY_WORDS + i]!;
      if (x !== y) return x < y;
    }
    return false;
  }

  /**
   * The `limit` largest groups by `column` (smallest with `reverse`), ties in
   * key order. One pass keeping a sorted array of at most `limit` group
   * numbers: no sort of every group, and text only for the rows shown.
   */
  top(column: SortColumn, limit: number, reverse = false): GroupRow[] {
    const values = this.columns[column];
    const sign = reverse ? -1 : 1;
    const before = (a: number, b: number): boolean => {
      const d = sign * (values[b]! - values[a]!);
      return d < 0 || (d === 0 && this.keyBefore(a, b));
    };
    const best: number[] = [];
    for (let g = 0; g < this.count; g++) {
      if (best.length === limit && !before(g, best[limit - 1]!)) continue;
      if (best.length === limit) best.pop();
      let i = best.length;
      while (i > 0 && before(g, best[i - 1]!)) i--;
      best.splice(i, 0, g);
    }
    const { entries, packets, bytes } = this.columns;
    return best.map((g) => {
      const key = this.keys.slice(g * KEY_WORDS, (g + 1) * KEY_WORDS);
      return { group: this.reader.text(key), key, entries: entries[g]!, packets: packets[g]!, bytes: bytes[g]! };
    });
  }
}
