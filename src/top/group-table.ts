import type { Flow } from '../ctnetlink/flow';
import { groupOf, type GroupKey } from './group-key';

/** One group's totals: entries, and packets/bytes of both directions (0 without nf_conntrack_acct). */
export interface GroupRow {
  group: string;
  entries: number;
  packets: number;
  bytes: number;
}

export type SortColumn = 'entries' | 'packets' | 'bytes';

/**
 * Totals per group, built while a dump streams past: memory grows with the
 * number of groups, never with the number of entries.
 */
export class GroupTable {
  private readonly rows = new Map<string, GroupRow>();

  constructor(readonly key: GroupKey) {}

  add(flow: Flow): void {
    const group = groupOf(flow, this.key);
    let row = this.rows.get(group);
    if (row === undefined) this.rows.set(group, (row = { group, entries: 0, packets: 0, bytes: 0 }));
    row.entries++;
    row.packets += Number(flow.countersOrig?.packets ?? 0n) + Number(flow.countersReply?.packets ?? 0n);
    row.bytes += Number(flow.countersOrig?.bytes ?? 0n) + Number(flow.countersReply?.bytes ?? 0n);
  }

  get size(): number {
    return this.rows.size;
  }

  /** The `limit` largest groups by `column` (ties by group name, so output is stable). */
  top(column: SortColumn, limit: number, reverse = false): GroupRow[] {
    const sign = reverse ? -1 : 1;
    const sorted = [...this.rows.values()].sort((a, b) => sign * (b[column] - a[column]) || (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
    return sorted.slice(0, limit);
  }
}
