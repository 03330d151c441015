/**
 * The two expectation caches of `ExpectationSync`, keyed as 1.4.7 compares
 * expectations (master and expected tuple, sync/key.ts) and counted like the
 * flow caches (`-s expect`).
 *
 * The internal one holds this node's expectations as the sync mode keeps
 * objects: one per key, updated in place; a destroyed one stays DEAD until
 * the mode releases it (FTFW: the peer acknowledged the deletion), and comes
 * back to life when its key does. The external one holds the peer's: an
 * EXP_NEW replaces, an EXP_UPD creates or replaces, an EXP_DEL deletes if
 * present.
 */
import type { Expectation } from '../../ctnetlink/expect';
import { MessageType } from '../sync/header';
import { syncKey } from '../sync/key';
import type { ExpectMessage } from '../sync/message';
import type { SyncObject } from '../sync/replication';
import { newCacheCounters } from '../stats/counters';
import { ReplicatedCache, type ReplicatedEntry } from './external-cache';

/** The key of an expectation: the one its sync messages have. */
export function expectationKey(expectation: Expectation): string {
  return syncKey({ type: MessageType.EXP_NEW, flags: 0, seq: 0, expectation });
}

/** One of this node's expectations, as the sync mode sees it. */
export class InternalExpectation implements SyncObject {
  txAt = -1;
  rsAt = -1;
  due: number | undefined = undefined;

  constructor(
    public state: 'new' | 'alive' | 'dead',
    public expectation: Expectation,
    /** When it entered the cache (wall-clock seconds), for "active since". */
    public since: number,
  ) {}
}

export type ExpectationChange = 'new' | 'update' | 'destroy';

export class InternalExpectations {
  readonly counters = newCacheCounters();
  private readonly objects = new Map<string, InternalExpectation>();

  constructor(private readonly limit: number) {}

  /** The live expectations (not the DEAD ones awaiting release). */
  *values(): IterableIterator<InternalExpectation> {
    for (const obj of this.objects.values()) if (obj.state !== 'dead') yield obj;
  }

  /**
   * Applies a kernel event or a dumped entry at `nowSeconds`; returns the
   * object changed, undefined when nothing did (a destroy of an unknown
   * one, a full cache).
   */
  apply(change: ExpectationChange, expectation: Expectation, nowSeconds: number): InternalExpectation | undefined {
    const key = expectationKey(expectation);
    const obj = this.objects.get(key);
    const c = this.counters;
    if (change === 'destroy') {
      if (obj === undefined || obj.state === 'dead') {
        c.delFail++;
        c.delFailNotFound++;
        return undefined;
      }
      obj.state = 'dead';
      c.delOk++;
      c.active--;
      c.total--;
      return obj;
    }
    if (obj !== undefined && obj.state !== 'dead') {
      obj.expectation = expectation;
      if (change === 'update') {
        obj.state = 'alive';
        c.updOk++;
        return obj;
      }
      // A NEW for a cached key: 1.4.7 deletes the old object and adds the new one.
      obj.state = 'new';
      obj.since = nowSeconds;
      c.delOk++;
      c.addOk++;
      return obj;
    }
    if (this.objects.size >= this.limit && obj === undefined) {
      c.addFail++;
      c.addFailNoSpace++;
      return undefined;
    }
    const added = obj ?? new InternalExpectation('new', expectation, nowSeconds);
    added.state = 'new';
    added.expectation = expectation;
    added.since = nowSeconds;
    this.objects.set(key, added);
    c.addOk++;
    c.active++;
    c.total++;
    return added;
  }

  /** Forgets a DEAD object (the mode is done with it); false when it is not the cached one or alive again. */
  release(obj: SyncObject): boolean {
    const key = expectationKey(obj.expectation!);
    if (this.objects.get(key) !== obj || obj.state !== 'dead') return false;
    this.objects.delete(key);
    return true;
  }

  /** Empties the cache; returns the objects that went, all DEAD now, for the mode to forget. */
  flush(): InternalExpectation[] {
    const gone = [...this.objects.values()];
    for (const obj of gone) {
      if (obj.state === 'dead') continue;
      obj.state = 'dead';
      this.counters.delOk++;
      this.counters.active--;
      this.counters.total--;
    }
    this.objects.clear();
    return gone;
  }
}

/** One of the peer's expectations. */
export interface ExternalExpectation extends ReplicatedEntry {
  expectation: Expectation;
}

export class ExternalExpectations extends ReplicatedCache<ExpectMessage, ExternalExpectation> {
  protected keyOf(msg: ExpectMessage): string {
    return expectationKey(msg.expectation);
  }

  protected entryOf(msg: ExpectMessage, since: number, updatedAt: number): ExternalExpectation {
    return { expectation: msg.expectation, since, updatedAt };
  }

  protected refresh(entry: ExternalExpectation, msg: ExpectMessage): void {
    entry.expectation = msg.expectation;
  }
}
