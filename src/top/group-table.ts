import { Slot, type WireEntry } from '../ctnetlink/wire-entry';
import { KEY_READERS, type GroupKey, type KeyReader } from './group-key';

/** One group's totals: entries, and packets/bytes of both directions (0 without nf_conntrack_acct). */
export interface GroupRow {
  group: string;
  /** The group's key as KEY_READERS[key].raw reads it from an entry (to find its entries again). */
  raw: number | string;
  entries: number;
  packets: number;
  bytes: number;
}

export type SortColumn = 'entries' | 'packets' | 'bytes';

const counter = (e: WireEntry, slot: Slot): number => (e.at[slot]! < 0 ? 0 : Number(e.u64(slot)));

/** Raw keys in address order: IPv4 (numbers) before IPv6 (byte strings), each ascending. */
function rawOrder(a: number | string, b: number | string): number {
  if (typeof a !== typeof b) return typeof a === 'number' ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Totals per group, built while a dump streams past: memory grows with the
 * number of groups, never with the number of entries. Totals live in typed
 * columns indexed by group number (a million groups cost a Map entry and 24
 * bytes each, not an object each).
 */
export class GroupTable {
  private readonly index = new Map<number | string, number>();
  private readonly raws: (number | string)[] = [];
  private columns: Record<SortColumn, Float64Array> = { entries: new Float64Array(1024), packets: new Float64Array(1024), bytes: new Float64Array(1024) };
  private readonly reader: KeyReader;
  /** Some entry carried counters (nf_conntrack_acct was on when it was made). */
  counted = false;

  constructor(readonly key: GroupKey) {
    this.reader = KEY_READERS[key];
  }

  add(e: WireEntry): void {
    e.index();
    const raw = this.reader.raw(e);
    let g = this.index.get(raw);
    if (g === undefined) {
      g = this.raws.length;
      this.index.set(raw, g);
      this.raws.push(raw);
      if (g === this.columns.entries.length) this.grow();
    }
    const { entries, packets, bytes } = this.columns;
    entries[g]!++;
    if (e.at[Slot.COUNTERS_ORIG]! >= 0) {
      this.counted = true;
      packets[g]! += counter(e, Slot.PACKETS_ORIG) + counter(e, Slot.PACKETS_REPLY);
      bytes[g]! += counter(e, Slot.BYTES_ORIG) + counter(e, Slot.BYTES_REPLY);
    }
  }

  private grow(): void {
    const bigger = (column: Float64Array): Float64Array => {
      const next = new Float64Array(column.length * 2);
      next.set(column);
      return next;
    };
    const { entries, packets, bytes } = this.columns;
    this.columns = { entries: bigger(entries), packets: bigger(packets), bytes: bigger(bytes) };
  }

  get size(): number {
    return this.raws.length;
  }

  /**
   * The `limit` largest groups by `column` (smallest with `reverse`), ties in
   * address/number order. One pass keeping a sorted array of at most `limit`
   * group numbers: no sort of every group, and text only for the rows shown.
   */
  top(column: SortColumn, limit: number, reverse = false): GroupRow[] {
    const values = this.columns[column];
    const sign = reverse ? -1 : 1;
    const before = (a: number, b: number): boolean => {
      const d = sign * (values[b]! - values[a]!);
      return d < 0 || (d === 0 && rawOrder(this.raws[a]!, this.raws[b]!) < 0);
    };
    const best: number[] = [];
    for (let g = 0; g < this.raws.length; g++) {
      if (best.length === limit && !before(g, best[limit - 1]!)) continue;
      if (best.length === limit) best.pop();
      let i = best.length;
      while (i > 0 && before(g, best[i - 1]!)) i--;
      best.splice(i, 0, g);
    }
    const { entries, packets, bytes } = this.columns;
    return best.map((g) => ({ group: this.reader.text(this.raws[g]!), raw: this.raws[g]!, entries: entries[g]!, packets: packets[g]!, bytes: bytes[g]! }));
  }
}
