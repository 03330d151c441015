import { readFileSync } from 'node:fs';
import type { Conntrack } from '../api/conntrack';

/** The per-CPU counters the header shows as rates (of `conntrack -S`). */
const RATE_NAMES = ['found', 'insert', 'insert_failed', 'drop', 'early_drop', 'invalid', 'search_restart'] as const;

/** Host-wide sysctls, readable from any namespace; undefined where the kernel lacks them. */
function sysctl(name: string): number | undefined {
  try {
    return Number(readFileSync(`/proc/sys/net/netfilter/${name}`, 'utf8'));
  } catch {
    return undefined;
  }
}

export interface HeaderState {
  entries: number;
  max: number | undefined;
  buckets: number | undefined;
  expectations: number;
  /** Per second since the previous sample; undefined on the first one. */
  rates: Record<string, number> | undefined;
}

/** Samples the table's size and counters; rates are differences between two samples. */
export class HeaderSampler {
  private previous: { at: number; sums: Record<string, number> } | undefined;

  constructor(private readonly conntrack: Conntrack) {}

  async sample(): Promise<HeaderState> {
    const [entries, stats] = await Promise.all([this.conntrack.count(), this.conntrack.stats()]);
    let expectations = 0;
    for await (const _ of this.conntrack.dumpExpectations()) expectations++;
    const sums: Record<string, number> = {};
    for (const name of RATE_NAMES) sums[name] = stats.reduce((sum, cpu) => sum + (cpu.named[name] ?? 0), 0);
    const at = performance.now();
    const prev = this.previous;
    this.previous = { at, sums };
    const rates = prev && Object.fromEntries(RATE_NAMES.map((n) => [n, ((sums[n]! - prev.sums[n]!) * 1000) / (at - prev.at)]));
    return { entries, max: sysctl('nf_conntrack_max'), buckets: sysctl('nf_conntrack_buckets'), expectations, rates };
  }
}
