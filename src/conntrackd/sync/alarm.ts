/**
 * ALARM, no reliability at all: every internal object is sent when it
 * changes and then again, as an update, at a random moment between 1 and
 * `RefreshTime` seconds later (plus 0.2–1 s), over and over; the receiver
 * forgets an external object it has not heard of for `CacheTimeout`
 * seconds. No control messages: a received message with any flag set is
 * ignored, `-n` and `-B` do nothing. Sequence numbers only feed `-s`.
 */
import type { MessageOut } from './batch';
import { ReceivedFlowMessage, type DataMessage } from './message';
import { MessageType, type Header } from './header';
import { syncKey } from './key';
import { TimerHeap } from './timer-heap';
import { Replication, Verdict, type ReplicationConfig, type ReplicationHost, type SyncObject } from './replication';

/** A source of uniform numbers in [0, 1): Math.random in the daemon, a seeded generator in tests. */
export type Random = () => number;

export class AlarmReplication extends Replication {
  /** When each live internal object is sent again. */
  private readonly refreshAt = new TimerHeap<SyncObject>();
  /** Objects to send in the next round, and whether it is a refresh (always an update). */
  private readonly txObjects = new Map<SyncObject, boolean>();
  /** When each external object expires, by cache key … */
  private readonly expiry = new TimerHeap<string>();
  /** … and the message that last refreshed it. */
  private readonly lastHeard = new Map<string, DataMessage>();

  constructor(host: ReplicationHost, config: ReplicationConfig, private readonly random: Random = Math.random) {
    super(host, config);
  }

  forget(obj: SyncObject): void {
    this.txObjects.delete(obj);
    this.refreshAt.delete(obj);
  }

  changed(obj: SyncObject, now: number): void {
    this.txObjects.set(obj, false);
    if (obj.state === 'dead') this.refreshAt.delete(obj);
    else this.refreshAt.set(obj, now + this.refreshDelay());
  }

  requestResync(): void {}

  sendBulk(): void {}

  fireTimers(now: number): void {
    for (const obj of this.refreshAt.takeDue(now)) {
      if (!this.txObjects.has(obj)) this.txObjects.set(obj, true);
      this.refreshAt.set(obj, now + this.refreshDelay());
    }
    for (const key of this.expiry.takeDue(now)) {
      const msg = this.lastHeard.get(key)!;
      this.lastHeard.delete(key);
      this.host.expireExternal(msg);
    }
  }

  nextTimer(): number | undefined {
    const refresh = this.refreshAt.next();
    const expiry = this.expiry.next();
    if (refresh === undefined) return expiry;
    return expiry === undefined ? refresh : Math.min(refresh, expiry);
  }

  transmit(now: number, out: MessageOut): void {
    for (const [obj, refresh] of this.txObjects) {
      this.encodeObject(obj, this.seq.next(now), 0, out, refresh);
      if (obj.state === 'dead') this.host.release(obj);
    }
    this.txObjects.clear();
  }

  protected judge(h: Header): Verdict {
    // 1.4.7 never sends control messages in this mode; one from a
    // misconfigured peer is not an error, just nothing to do.
    if (h.flags !== 0) return Verdict.DROP;
    this.tracker.check(h.seq);
    this.tracker.update(h.seq);
    // Any type goes on to receiveBody, which counts one above 5 as a bad type.
    return Verdict.DATA;
  }

  protected applied(msg: DataMessage, now: number): void {
    const key = syncKey(msg);
    const deleted = msg.type === MessageType.CT_DEL || msg.type === MessageType.EXP_DEL;
    if (deleted) {
      this.expiry.delete(key);
      this.lastHeard.delete(key);
    } else {
      this.expiry.set(key, now + this.config.cacheTimeout * 1000);
      this.lastHeard.set(key, msg instanceof ReceivedFlowMessage ? msg.detached() : msg);
    }
  }

  /** 1.4.7's refresh delay: 1 to RefreshTime whole seconds, plus 200, 400, … or 1000 ms. */
  private refreshDelay(): number {
    const seconds = 1 + Math.floor(this.random() * this.config.refreshTime);
    const extra = (1 + Math.floor(this.random() * 5)) * 200;
    return seconds * 1000 + extra;
  }
}
