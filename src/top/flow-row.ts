import type { Flow } from '../ctnetlink/flow';
import { l4Name } from '../format/names';
import { stateOf } from './group-key';

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

  add(flow: Flow): void {
    const rows = this.rows;
    const c = this.column;
    const full = rows.length >= this.limit;
    const sign = this.reverse ? -1 : 1;
    if (full && sign * this.value(flow) <= sign * rows[rows.length - 1]![c]) return;
    const row = flowRow(flow);
    let i = full ? rows.length - 1 : rows.length;
    if (full) rows.pop();
    while (i > 0 && sign * rows[i - 1]![c] < sign * row[c]) i--;
    rows.splice(i, 0, row);
  }

  private value(flow: Flow): number {
    if (this.column === 'timeout') return flow.timeout ?? 0;
    const both = this.column === 'packets' ? [flow.countersOrig?.packets, flow.countersReply?.packets] : [flow.countersOrig?.bytes, flow.countersReply?.bytes];
    return Number(both[0] ?? 0n) + Number(both[1] ?? 0n);
  }
}
