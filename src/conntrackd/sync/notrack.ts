/**
 * NOTRACK, best effort: the same messages as FTFW without acknowledgements.
 * Sequence numbers are still tracked, but only to count lost and late
 * messages for `-s`; everything valid is applied. A keep-alive goes out one
 * second after the last transmit round; RESYNC works as in FTFW.
 */
import type { MessageOut } from './batch';
import { MessageFlag, MessageType, isControl, isData, type Header } from './header';
import {
  ALIVE_INTERVAL_MS,
  Replication,
  Verdict,
  type ReplicationConfig,
  type ReplicationHost,
  type SyncObject,
} from './replication';

export class NotrackReplication extends Replication {
  /** Objects waiting to be sent, each once however often it changed. */
  private readonly txObjects = new Set<SyncObject>();
  /** Control flags waiting to be sent (RESYNC, ALIVE), in order. */
  private txControls: number[] = [];
  private aliveAt: number;

  constructor(host: ReplicationHost, config: ReplicationConfig, now: number) {
    super(host, config);
    this.aliveAt = now + ALIVE_INTERVAL_MS;
  }

  forget(obj: SyncObject): void {
    this.txObjects.delete(obj);
  }

  changed(obj: SyncObject): void {
    this.txObjects.add(obj);
  }

  requestResync(): void {
    this.txControls.push(MessageFlag.RESYNC);
  }

  sendBulk(): void {
    this.host.forEachInternal((obj) => {
      if (obj.state !== 'dead') this.txObjects.add(obj);
    });
  }

  fireTimers(now: number): void {
    if (now < this.aliveAt) return;
    this.txControls.push(MessageFlag.ALIVE);
    this.aliveAt = now + ALIVE_INTERVAL_MS;
  }

  nextTimer(): number {
    return this.aliveAt;
  }

  transmit(now: number, out: MessageOut): void {
    if (this.txControls.length === 0 && this.txObjects.size === 0) return;
    for (const flags of this.txControls) {
      const bytes = this.encode({ type: MessageType.CTL, flags, seq: this.seq.next(now), from: 0, to: 0 });
      if (bytes) out.encoded(bytes);
    }
    for (const obj of this.txObjects) {
      this.encodeObject(obj, this.seq.next(now), 0, out);
      // Nothing will ask for a dead object again: the cache may forget it once it is sent.
      if (obj.state === 'dead') this.host.release(obj);
    }
    this.txControls = [];
    this.txObjects.clear();
    this.aliveAt = now + ALIVE_INTERVAL_MS;
  }

  protected judge(h: Header): Verdict {
    this.tracker.check(h.seq);
    let verdict: Verdict;
    if (isData(h)) verdict = Verdict.DATA;
    else if (isControl(h, MessageFlag.RESYNC)) {
      this.host.resyncRequested?.();
      this.sendBulk();
      verdict = Verdict.CONTROL;
    } else if (isControl(h, MessageFlag.ALIVE)) verdict = Verdict.CONTROL;
    else verdict = Verdict.BAD;
    if (verdict !== Verdict.BAD) this.tracker.update(h.seq);
    return verdict;
  }
}
