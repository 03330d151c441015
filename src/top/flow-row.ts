import type { Flow } from '../ctnetlink/flow';
import { l4Name } from '../format/names';
import { CtAttr } from '../ctnetlink/constants';
import { attrMask, Slot, type WireEntry } from '../ctnetlink/wire-entry';
import { stateOf } from './group-key';
import { COUNTERS, counter } from './group-table';

const VALUE_ATTRS = COUNTERS | attrMask(CtAttr.TIMEOUT);

/** One flow as conntrack-top shows it. */
export interface FlowRow {
  proto: string;
  src: string;
  dst: string;
  /** The translated reply side when the entry is NATed, else undefined. */
  nat: string | undefined;
  state: string;
  timeout: number;
  mark: number;
  zone: number;
  packets: number;
  bytes: number;
  /** Kept to delete this flow from the live view. */
  flow: Flow;
}

const endpoint = (address: string | undefined, port: number | undefined): string =>
  port === undefined ? (address ?? '?') : address?.includes(':') ? `[${address}]:${port}` : `${address ?? '?'}:${port}`;

export function flowRow(flow: Flow): FlowRow {
  const { orig, reply } = flow;
  // Untranslated, the reply tuple mirrors the original; anything else is NAT.
  const translated = reply.src !== orig.dst || reply.dst !== orig.src || reply.sport !== orig.dport || reply.dport !== orig.sport;
  return {
    proto: l4Name(orig.proto ?? 0),
    src: endpoint(orig.src, orig.sport),
    dst: endpoint(orig.dst, orig.dport),
    nat: translated ? `${endpoint(reply.dst, reply.dport)} <- ${endpoint(reply.src, reply.sport)}` : undefined,
    state: stateOf(flow),
    timeout: flow.timeout ?? 0,
    mark: flow.mark ?? 0,
    zone: flow.zone ?? 0,
    packets: Number(flow.countersOrig?.packets ?? 0n) + Number(flow.countersReply?.packets ?? 0n),
    bytes: Number(flow.countersOrig?.bytes ?? 0n) + Number(flow.countersReply?.bytes ?? 0n),
    flow,
  };
}

/**
 * The `limit` flows with the most (or with `reverse` the least) of `column` seen so far, kept sorted in a
 * bounded array: a dump of any size holds `limit` rows, not the table.
 */
export class TopFlows {
  readonly rows: FlowRow[] = [];

  constructor(
    private readonly column: 'packets' | 'bytes' | 'timeout',
    private readonly limit: number,
    /** Keep the smallest instead. */
    private readonly reverse = false,
  ) {}

  /** Decodes the entry only when it makes the list: the value is read where it lies. */
  add(e: WireEntry): void {
    const rows = this.rows;
    const c = this.column;
    const full = rows.length >= this.limit;
    const sign = this.reverse ? -1 : 1;
    if (full && sign * this.value(e.index(VALUE_ATTRS)) <= sign * rows[rows.length - 1]![c]) return;
    const row = flowRow(e.flow());
    let i = full ? rows.length - 1 : rows.length;
    if (full) rows.pop();
    while (i > 0 && sign * rows[i - 1]![c] < sign * row[c]) i--;
    rows.splice(i, 0, row);
  }

  private value(e: WireEntry): number {
    if (this.column === 'timeout') return e.has(Slot.TIMEOUT) ? e.u32(Slot.TIMEOUT) : 0;
    return this.column === 'packets' ? counter(e, Slot.PACKETS_ORIG) + counter(e, Slot.PACKETS_REPLY) : counter(e, Slot.BYTES_ORIG) + counter(e, Slot.BYTES_REPLY);
  }
}
