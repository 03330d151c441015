/**
 * FTFW, the reliable mode: every message has a sequence number, the
 * receiver acknowledges windows of them and asks again for gaps, the sender
 * keeps what it sent until it is acknowledged.
 *
 * Sender: objects and control messages wait in the transmit queue; a
 * transmit round sends them (each with a new sequence number) and moves
 * every data message and every ACK, NACK and RESYNC to the resend queue
 * (`ResendQueueSize` elements, the oldest dropped when full). An ACK
 * [from, to] from the peer drops what was sent in that range, a NACK moves
 * it back to the transmit queue.
 *
 * Receiver: there is no reorder buffer. The next expected message, or the
 * first ever, is applied and counts towards the ACK window (`ACKWindowSize`
 * messages, then ACK [first, this]). A message after a gap is applied too;
 * the pending ACK goes out up to the gap, a NACK asks for the gap, and a new
 * window starts. A message before the expected one is dropped.
 *
 * Keep-alive: one second after the last transmit round, an ACK of what is
 * pending, else an ALIVE; the peer's next message then exposes any gap.
 *
 * HELLO: a fresh node sets HELLO on everything it sends until a message with
 * HELLO_BACK arrives. A node that receives HELLO answers HELLO_BACK on its
 * next message, accepts the HELLO message whatever its sequence number, and
 * empties its resend queue (the restarted peer knows nothing of it).
 * Beyond 1.4.7, the first HELLO of a restart also queues a bulk send of the
 * internal cache: what the peer lost in its restart, and what went out
 * while it was down, reach it without an operator's `-n` or `-B` (1.4.7
 * loses them for good unless the restarted node asks for a resync).
 *
 * A forged or corrupted sequence number far ahead (hostile traffic from the
 * peer's address) would make every genuine message look late, and 1.4.7
 * then drops the peer's stream until its numbers catch up, 2^31 messages
 * later. Here, `BEHIND_RUN` consecutive numbers in a row, all before the
 * expected one, are the peer's real stream: the receiver follows it from
 * there and asks again (NACK) for the run it dropped. Late duplicates never
 * come as such a run.
 */
import type { Header } from './header';
import { MessageFlag, MessageType, isControl, isData } from './header';
import type { ResendQueueEntry } from '../stats/counters';
import {
  ALIVE_INTERVAL_MS,
  Replication,
  SeqCheck,
  Verdict,
  objectMessage,
  type ReplicationConfig,
  type ReplicationHost,
  type SyncObject,
} from './replication';
import { seqBefore, seqBetween } from './seq';

/** A control message waiting to be (re)sent: ACK / NACK [from, to], RESYNC or ALIVE. */
interface Control {
  flags: number;
  from: number;
  to: number;
}

/** What the resend queue remembers of a sent element: its last sequence number and, for a control message, the flags it went with. */
interface Sent {
  seq: number;
  flags: number;
}

type HelloState = 'init' | 'say' | 'done';

/** Consecutive "late" sequence numbers that mean our expectation, not the peer, went astray. */
export const BEHIND_RUN = 4;

export class FtfwReplication extends Replication {
  /** Objects (keyed by themselves) and control messages (keyed by their own record), in queue order. */
  private readonly txQueue = new Map<SyncObject | Control, SyncObject | Control>();
  /** Sent and not yet acknowledged, oldest first. */
  private readonly rsQueue = new Map<SyncObject | Control, Sent>();
  private window: number;
  private ackFrom = 0;
  private ackPending = false;
  private hello: HelloState = 'init';
  private sayHelloBack = false;
  /** The peer's last message carried HELLO: its restart was answered with a bulk send already. */
  private peerGreeting = false;
  /** The run of consecutive late sequence numbers seen last: where it started and how long it is. */
  private behindFrom = 0;
  private behindLength = 0;
  private aliveAt: number;

  /** `now`: when the daemon starts; the first keep-alive is due a second later. */
  constructor(host: ReplicationHost, config: ReplicationConfig, now: number) {
    super(host, config);
    this.window = config.ackWindowSize;
    this.aliveAt = now + ALIVE_INTERVAL_MS;
  }

  forget(obj: SyncObject): void {
    this.txQueue.delete(obj);
    this.rsQueue.delete(obj);
  }

  changed(obj: SyncObject): void {
    this.rsQueue.delete(obj);
    if (!this.txQueue.has(obj)) this.txQueue.set(obj, obj);
  }

  requestResync(): void {
    this.queueControl(MessageFlag.RESYNC, 0, 0);
  }

  sendBulk(): void {
    for (const obj of this.host.internalObjects()) if (obj.state !== 'dead') this.changed(obj);
  }

  fireTimers(now: number): void {
    if (now < this.aliveAt) return;
    if (this.ackPending && this.tracker.isSet) {
      this.queueControl(MessageFlag.ACK, this.ackFrom, this.tracker.last);
      this.ackPending = false;
    } else {
      this.queueControl(MessageFlag.ALIVE, 0, 0);
    }
    this.aliveAt = now + ALIVE_INTERVAL_MS;
  }

  nextTimer(): number {
    return this.aliveAt;
  }

  transmit(now: number): Buffer[] {
    const out: Buffer[] = [];
    if (this.txQueue.size === 0) return out;
    for (const item of this.txQueue.values()) {
      const seq = this.seq.next(now);
      const flags = this.helloFlags();
      if (isObject(item)) {
        const bytes = this.encode(objectMessage(item, seq, flags));
        if (!bytes) continue;
        out.push(bytes);
        this.remember(item, seq, flags);
      } else {
        const bytes = this.encode({ type: MessageType.CTL, flags: item.flags | flags, seq, from: item.from, to: item.to });
        if (!bytes) continue;
        out.push(bytes);
        if (item.flags !== MessageFlag.ALIVE) this.remember(item, seq, item.flags | flags);
      }
    }
    this.txQueue.clear();
    this.aliveAt = now + ALIVE_INTERVAL_MS;
    return out;
  }

  /** The resend queue, oldest first, as `-s rsqueue` lists it. */
  resendQueue(): ResendQueueEntry[] {
    return [...this.rsQueue].map(([item, sent]) =>
      isObject(item) ? { kind: 'object', seq: sent.seq } : { kind: 'control', seq: sent.seq, flags: sent.flags },
    );
  }

  /** Elements waiting in the transmit and resend queues (`-s queue`). */
  queueLengths(): { tx: number; rs: number } {
    return { tx: this.txQueue.size, rs: this.rsQueue.size };
  }

  protected judge(h: Header): Verdict {
    let verdict: Verdict;
    if (this.digestHello(h)) {
      // The peer restarted: a window it will never acknowledge restarts at
      // the hello, and what we kept for it is of no use any more.
      if (this.ackPending && seqBefore(h.seq, this.ackFrom)) {
        this.window = this.config.ackWindowSize - 1;
        this.ackFrom = h.seq;
      }
      this.flushResendQueue();
      // A fresh peer says HELLO on everything until our HELLO_BACK arrives: one bulk per restart.
      if (!this.peerGreeting) this.sendBulk();
      this.peerGreeting = true;
      verdict = this.inSync(h);
    } else {
      switch (this.tracker.check(h.seq)) {
        case SeqCheck.AFTER: {
          verdict = this.digest(h);
          if (verdict === Verdict.BAD) return verdict;
          const expected = this.tracker.expected;
          if (this.ackPending) this.queueControl(MessageFlag.ACK, this.ackFrom, (expected - 1) >>> 0);
          this.queueControl(MessageFlag.NACK, expected, (h.seq - 1) >>> 0);
          this.window = this.config.ackWindowSize - 1;
          this.ackFrom = h.seq;
          this.ackPending = true;
          break;
        }
        case SeqCheck.BEFORE: {
          if (!this.followsBehindRun(h.seq)) return Verdict.DROP;
          verdict = this.digest(h);
          if (verdict === Verdict.BAD) return verdict;
          this.queueControl(MessageFlag.NACK, this.behindFrom, (h.seq - 1) >>> 0);
          this.behindLength = 0;
          this.window = this.config.ackWindowSize - 1;
          this.ackFrom = h.seq;
          this.ackPending = true;
          break;
        }
        default:
          verdict = this.inSync(h);
      }
    }
    if (verdict !== Verdict.BAD) this.tracker.update(h.seq);
    return verdict;
  }

  /**
   * A late `seq`: extends the run of consecutive late numbers, or starts a
   * new one. True when the run is long enough to be the peer's stream.
   */
  private followsBehindRun(seq: number): boolean {
    if (this.behindLength > 0 && seq === ((this.behindFrom + this.behindLength) >>> 0)) this.behindLength++;
    else {
      this.behindFrom = seq;
      this.behindLength = 1;
    }
    return this.behindLength >= BEHIND_RUN;
  }

  /** The expected message (or the first, or a hello): digest it and count it in the ACK window. */
  private inSync(h: Header): Verdict {
    const verdict = this.digest(h);
    if (verdict === Verdict.BAD) return verdict;
    if (!this.ackPending) {
      this.ackPending = true;
      this.ackFrom = h.seq;
    }
    if (--this.window <= 0) {
      this.queueControl(MessageFlag.ACK, this.ackFrom, h.seq);
      this.window = this.config.ackWindowSize;
      this.ackPending = false;
    }
    return verdict;
  }

  private digest(h: Header): Verdict {
    if (isData(h)) return Verdict.DATA;
    if (isControl(h, MessageFlag.ACK)) {
      if (seqBefore(h.to!, h.from!)) return Verdict.BAD;
      for (const [item, sent] of this.rsQueue) {
        if (!seqBetween(sent.seq, h.from!, h.to!)) continue;
        this.rsQueue.delete(item);
        if (isObject(item) && item.state === 'dead') this.host.release(item);
      }
      return Verdict.CONTROL;
    }
    if (isControl(h, MessageFlag.NACK)) {
      if (seqBefore(h.to!, h.from!)) return Verdict.BAD;
      for (const [item, sent] of this.rsQueue) {
        if (!seqBetween(sent.seq, h.from!, h.to!)) continue;
        this.rsQueue.delete(item);
        this.counters.sendResent++;
        if (!this.txQueue.has(item)) this.txQueue.set(item, item);
      }
      return Verdict.CONTROL;
    }
    if (isControl(h, MessageFlag.RESYNC)) {
      this.host.resyncRequested?.();
      this.sendBulk();
      return Verdict.CONTROL;
    }
    if (isControl(h, MessageFlag.ALIVE)) return Verdict.CONTROL;
    return Verdict.BAD;
  }

  /** Notes the handshake bits of a received header; true when it carries HELLO. */
  private digestHello(h: Header): boolean {
    if (h.flags & MessageFlag.HELLO_BACK) this.hello = 'done';
    if (!(h.flags & MessageFlag.HELLO)) {
      this.peerGreeting = false;
      return false;
    }
    this.sayHelloBack = true;
    return true;
  }

  /** The handshake bits of the next message sent. */
  private helloFlags(): number {
    let flags = 0;
    if (this.hello !== 'done') {
      this.hello = 'say';
      flags |= MessageFlag.HELLO;
    }
    if (this.sayHelloBack) {
      flags |= MessageFlag.HELLO_BACK;
      this.sayHelloBack = false;
    }
    return flags;
  }

  private queueControl(flags: number, from: number, to: number): void {
    const c: Control = { flags, from, to };
    this.txQueue.set(c, c);
  }

  /** Appends to the resend queue (moving an element already there to the end), dropping the oldest when full. */
  private remember(item: SyncObject | Control, seq: number, flags: number): void {
    this.rsQueue.delete(item);
    if (this.rsQueue.size >= this.config.resendQueueSize) {
      const [oldest] = this.rsQueue.keys();
      this.rsQueue.delete(oldest!);
      if (isObject(oldest!) && oldest.state === 'dead') this.host.release(oldest);
    }
    this.rsQueue.set(item, { seq, flags });
  }

  private flushResendQueue(): void {
    for (const item of this.rsQueue.keys()) if (isObject(item) && item.state === 'dead') this.host.release(item);
    this.rsQueue.clear();
  }
}

function isObject(item: SyncObject | Control): item is SyncObject {
  return 'state' in item;
}
