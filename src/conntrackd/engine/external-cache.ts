/**
 * The external cache: the peer's flows, built only from received sync
 * messages and keyed like the internal cache (original tuple + zone, see
 * sync/key.ts). It holds decoded flows, not kernel records: what arrives is
 * a sync message, and its flow has no reply tuple until a commit computes
 * one. A CT_NEW replaces, a CT_UPD creates or replaces, a CT_DEL deletes if
 * present, as in 1.4.7. Counted like the internal cache (`-s cache`).
 */
import type { Flow } from '../../ctnetlink/flow';
import { MessageType } from '../sync/header';
import { flowKey } from '../sync/key';
import type { FlowMessage } from '../sync/message';
import { newCacheCounters } from '../stats/counters';

export interface ExternalFlow {
  flow: Flow;
  /** When it entered the cache (wall-clock seconds), for "active since". */
  since: number;
  /** When it was last replicated (ms since the epoch): a commit subtracts the age from its timeout. */
  updatedAt: number;
}

export class ExternalCache implements Iterable<ExternalFlow> {
  readonly counters = newCacheCounters();
  private readonly flows = new Map<string, ExternalFlow>();

  constructor(private readonly limit: number) {}

  get size(): number {
    return this.flows.size;
  }

  values(): IterableIterator<ExternalFlow> {
    return this.flows.values();
  }

  /** The flows, afresh for every loop (a commit walks them twice). */
  [Symbol.iterator](): IterableIterator<ExternalFlow> {
    return this.flows.values();
  }

  /** Whether the peer's flow with `flow`'s key is cached. */
  has(flow: Flow): boolean {
    return this.flows.has(flowKey(flow));
  }

  /** Applies one flow message from the peer at `now` (ms since the epoch). */
  apply(msg: FlowMessage, now: number): void {
    const key = flowKey(msg.flow);
    const cached = this.flows.get(key);
    const c = this.counters;
    if (msg.type === MessageType.CT_DEL) {
      if (cached === undefined) {
        c.delFail++;
        c.delFailNotFound++;
        return;
      }
      this.delete(key);
      return;
    }
    if (cached !== undefined && msg.type === MessageType.CT_UPD) {
      cached.flow = msg.flow;
      cached.updatedAt = now;
      c.updOk++;
      return;
    }
    if (cached !== undefined) this.delete(key);
    if (this.flows.size >= this.limit) {
      c.addFail++;
      c.addFailNoSpace++;
      return;
    }
    this.flows.set(key, { flow: msg.flow, since: Math.floor(now / 1000), updatedAt: now });
    c.addOk++;
    c.active++;
    c.total++;
  }

  /** Removes the flow of `key` (ALARM: the peer stopped refreshing it); false when absent. */
  delete(key: string): boolean {
    if (!this.flows.delete(key)) return false;
    this.counters.delOk++;
    this.counters.active--;
    this.counters.total--;
    return true;
  }

  /** `-f external`: empties the cache; returns how many flows went. */
  flush(): number {
    const count = this.flows.size;
    for (const key of [...this.flows.keys()]) this.delete(key);
    return count;
  }
}
