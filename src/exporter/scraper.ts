/**
 * One scrape: every namespace and every daemon read in parallel, each
 * failure confined to its own `up` gauge and counted, never the whole
 * answer. What is read per scrape is O(1) in the table's size: the counts
 * by key come from the live summaries.
 */
import { readFile } from 'node:fs/promises';
import type { MetricFamily } from './exposition';
import { readConntrackdStats } from './conntrackd-stats';
import { scrapeFamilies, type Failed } from './metrics';
import { NamespaceWatch } from './namespace-watch';
import type { ExporterOptions } from './options';

const SYSCTL = '/proc/sys/net/netfilter';

/** A host-wide sysctl (the same in every namespace); undefined when unreadable (module not loaded). */
async function sysctl(name: string): Promise<number | undefined> {
  try {
    return Number.parseInt(await readFile(`${SYSCTL}/${name}`, 'utf8'), 10);
  } catch {
    return undefined;
  }
}

export class Scraper {
  private readonly watches: NamespaceWatch[];
  private readonly errors = new Map<string, number>();
  /** The last error of each collector, so that a lasting failure is logged once, not every scrape. */
  private readonly lastError = new Map<string, string>();

  constructor(
    private readonly options: ExporterOptions,
    private readonly log: (line: string) => void,
  ) {
    const settings = { reconcileIntervalMs: options.reconcileInterval * 1000, topSources: options.topSources, eventBufferSize: options.eventBufferSize };
    const names = options.netns.length ? options.netns : [undefined];
    this.watches = names.map((netns) => new NamespaceWatch(netns, settings));
  }

  /** Starts counting every namespace now rather than at the first scrape; one that cannot be entered yet is retried then. */
  start(): void {
    for (const w of this.watches) this.attempt(`netns:${w.label}`, () => w.start());
  }

  async scrape(): Promise<MetricFamily[]> {
    const [limit, buckets, namespaces, daemons] = await Promise.all([
      sysctl('nf_conntrack_max'),
      sysctl('nf_conntrack_buckets'),
      Promise.all(this.watches.map(async (w) => ({ netns: w.label, result: await this.collect(`netns:${w.label}`, () => w.snapshot()) }))),
      Promise.all(this.options.conntrackdSockets.map(async (socket) => ({ socket, result: await this.collect(`conntrackd:${socket}`, () => readConntrackdStats(socket)) }))),
    ]);
    return scrapeFamilies({ limit, buckets, namespaces, daemons, statPerCpu: this.options.statPerCpu, scrapeErrors: this.errors });
  }

  close(): void {
    for (const w of this.watches) w.close();
  }

  private async collect<T>(collector: string, read: () => Promise<T>): Promise<T | Failed> {
    try {
      const value = await read();
      this.lastError.delete(collector);
      return value;
    } catch (err) {
      return this.failed(collector, err);
    }
  }

  private attempt(collector: string, run: () => void): void {
    try {
      run();
    } catch (err) {
      this.failed(collector, err);
    }
  }

  private failed(collector: string, err: unknown): Failed {
    const error = err instanceof Error ? err.message : String(err);
    this.errors.set(collector, (this.errors.get(collector) ?? 0) + 1);
    if (this.lastError.get(collector) !== error) this.log(`${collector}: ${error}`);
    this.lastError.set(collector, error);
    return { error };
  }
}
