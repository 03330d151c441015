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
import type { DataMessage, FlowMessage } from '../sync/message';
import { newCacheCounters } from '../stats/counters';

/** What every entry of a cache of the peer's objects has. */
export interface ReplicatedEntry {
  /** When it entered the cache (wall-clock seconds), for "active since". */
  since: number;
  /** When it was last replicated (ms since the epoch): a commit subtracts the age from its timeout. */
  updatedAt: number;
}

export interface ExternalFlow extends ReplicatedEntry {
  flow: Flow;
}

/**
 * The peer's objects of one kind (flows, or expectations): what a NEW, UPD
 * or DEL message does to them, and the counting. A subclass says how a
 * message is keyed and what of it an entry keeps.
 */
export abstract class ReplicatedCache<M extends DataMessage, E extends ReplicatedEntry> implements Iterable<E> {
  readonly counters = newCacheCounters();
  private readonly entries = new Map<string, E>();

  /** `limit`: HashLimit, the most entries the cache holds. */
  constructor(readonly limit: number) {}

  get size(): number {
    return this.entries.size;
  }

  values(): IterableIterator<E> {
    return this.entries.values();
  }

  /** The entries, afresh for every loop (a commit walks them twice). */
  [Symbol.iterator](): IterableIterator<E> {
    return this.entries.values();
  }

  /** Applies one message from the peer at `now` (ms since the epoch). */
  apply(msg: M, now: number): void {
    const key = this.keyOf(msg);
    const cached = this.entries.get(key);
    const c = this.counters;
    // NEW, UPD, DEL come in this order for flows and for expectations alike.
    const op = (msg.type - MessageType.CT_NEW) % 3;
    if (op === 2) {
      if (cached === undefined) {
        c.delFail++;
        c.delFailNotFound++;
        return;
      }
      this.delete(key);
      return;
    }
    if (cached !== undefined && op === 1) {
      this.refresh(cached, msg);
      cached.updatedAt = now;
      c.updOk++;
      return;
    }
    if (cached !== undefined) this.delete(key);
    if (this.entries.size >= this.limit) {
      c.addFail++;
      c.addFailNoSpace++;
      return;
    }
    this.entries.set(key, this.entryOf(msg, Math.floor(now / 1000), now));
    c.addOk++;
    c.active++;
    c.total++;
  }

  /** Removes the entry of `key` (ALARM: the peer stopped refreshing it); false when absent. */
  delete(key: string): boolean {
    if (!this.entries.delete(key)) return false;
    this.counters.delOk++;
    this.counters.active--;
    this.counters.total--;
    return true;
  }

  /** `-f external`: empties the cache; returns how many entries went. */
  flush(): number {
    const count = this.entries.size;
    for (const key of [...this.entries.keys()]) this.delete(key);
    return count;
  }

  protected hasKey(key: string): boolean {
    return this.entries.has(key);
  }

  protected abstract keyOf(msg: M): string;
  /**
   * A new entry for `msg`. Built whole, in one object literal, by each kind
   * (not spread from a common part): a burst applies hundreds of thousands.
   */
  protected abstract entryOf(msg: M, since: number, updatedAt: number): E;
  /** Replaces what `entry` keeps of the peer's object with `msg`'s (its times are the caller's). */
  protected abstract refresh(entry: E, msg: M): void;
}

export class ExternalCache extends ReplicatedCache<FlowMessage, ExternalFlow> {
  /** Whether the peer's flow with `flow`'s key is cached. */
  has(flow: Flow): boolean {
    return this.hasKey(flowKey(flow));
  }

  protected keyOf(msg: FlowMessage): string {
    return flowKey(msg.flow);
  }

  protected entryOf(msg: FlowMessage, since: number, updatedAt: number): ExternalFlow {
    return { flow: msg.flow, since, updatedAt };
  }

  protected refresh(entry: ExternalFlow, msg: FlowMessage): void {
    entry.flow = msg.flow;
  }
}
