/**
 * The internal cache: this node's flows, a filtered mirror of the kernel
 * table, keyed by original tuple + zone (record.ts). It counts what 1.4.7's
 * cache counts (`-s`, `-s cache`: CacheCounters) and refuses new flows past
 * HashLimit.
 */
import { newCacheCounters } from '../stats/counters';
import { CachedFlow, flowKey, FlowState, mergedAttributes, storedAttributes, type RawFlow } from './record';

/** What happened to a cached flow; a sync mode replicates these. */
export type CacheChange = 'new' | 'update' | 'destroy';

export type CacheListener = (change: CacheChange, flow: CachedFlow) => void;

export class FlowCache {
  readonly counters = newCacheCounters();
  private readonly flows = new Map<string, CachedFlow>();
  /** The current resync round (sweep). */
  private round = 0;

  constructor(
    /** HashLimit: the most flows the cache holds. */
    readonly limit: number,
    /** Whole seconds of a monotonic clock, for "active since". */
    private readonly now: () => number,
    private readonly listener: CacheListener = () => {},
  ) {}

  get size(): number {
    return this.flows.size;
  }

  values(): IterableIterator<CachedFlow> {
    return this.flows.values();
  }

  /** A NEW event: adds the flow unless its key is cached already (then nothing changes). */
  add(raw: RawFlow): void {
    const key = flowKey(raw);
    if (key === undefined || this.flows.has(key)) return;
    this.insert(key, raw);
  }

  /** An UPDATE event or a dumped entry: updates the cached flow, or adds it when missing. */
  update(raw: RawFlow): void {
    const key = flowKey(raw);
    if (key === undefined) return;
    const flow = this.flows.get(key);
    if (flow === undefined) {
      this.insert(key, raw);
      return;
    }
    flow.attributes = mergedAttributes(flow.attributes, raw);
    flow.state = FlowState.ALIVE;
    flow.seen = this.round;
    this.counters.updOk++;
    this.listener('update', flow);
  }

  /** A DESTROY event: removes the flow; false when it was not cached. */
  remove(raw: RawFlow): boolean {
    const key = flowKey(raw);
    const flow = key === undefined ? undefined : this.flows.get(key);
    if (flow === undefined) {
      this.counters.delFail++;
      this.counters.delFailNotFound++;
      return false;
    }
    this.drop(key!, flow);
    return true;
  }

  /** Empties the cache (`-f internal`); the flows count as destroyed. Returns how many went. */
  flush(): number {
    const count = this.flows.size;
    for (const [key, flow] of this.flows) this.drop(key, flow);
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
    for (const [key, flow] of this.flows) {
      if (flow.seen === this.round) continue;
      this.drop(key, flow);
      count++;
    }
    return count;
  }

  private insert(key: string, raw: RawFlow): void {
    if (this.flows.size >= this.limit) {
      this.counters.addFail++;
      this.counters.addFailNoSpace++;
      return;
    }
    const flow = new CachedFlow(key, storedAttributes(raw), this.now());
    flow.seen = this.round;
    this.flows.set(key, flow);
    this.counters.addOk++;
    this.counters.active++;
    this.counters.total++;
    this.listener('new', flow);
  }

  private drop(key: string, flow: CachedFlow): void {
    this.flows.delete(key);
    flow.state = FlowState.DEAD;
    this.counters.delOk++;
    this.counters.active--;
    this.counters.total--;
    this.listener('destroy', flow);
  }
}
