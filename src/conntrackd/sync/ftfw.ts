/**
 * FTFW, the reliable mode: every message has a sequence number, the
 * receiver acknowledges windows of them and asks again for gaps, the sender
 * keeps what it sent until it is acknowledged.
 *
 * Sender: objects and control messages wait in the transmit queue; a
 * transmit round sends them (each with a new sequence number; objects only
 * while fewer than `IN_FLIGHT_MAX` elements await their ACK) and moves
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
 * Loss (beyond 1.4.7, same messages). 1.4.7 repairs a gap only when the
 * receiver's one NACK and the one resend it causes both get through; a lost
 * NACK, a lost resend after which the sender falls silent but for ALIVEs,
 * or a resend and an ALIVE that alternate with the drops of a lossy link
 * leave the flows missing for good (defect 21 of docs/1.4.7-defects.md).
 * Here the ACK is the only proof of delivery: every object in the resend
 * queue goes again, unasked, `RETRANSMIT_MS` after it was first sent and
 * not acknowledged (unless the peer's ACKs are still moving forward and have
 * not reached it: then it waits its turn at the peer), the wait doubling up
 * to `RETRANSMIT_MAX_MS` while the peer is silent (a dead peer costs a round
 * every half minute) and back to the start as soon as a message of the
 * peer arrives. A NACK's resend does not move that deadline, so a resend
 * that the link's pattern keeps dropping is followed by a timed one that
 * comes at another moment, and a lost NACK
 * costs a delay, not the object. Control messages keep 1.4.7's rule (sent
 * again only when the peer NACKs them): a timed ACK or RESYNC would only
 * repeat work, and the bytes a C peer sees stay 1.4.7's. A NACK reaching back
 * to what the full resend queue already dropped is answered with a bulk
 * send (1.4.7 answers nothing). And a peer that keeps saying HELLO until
 * our HELLO_BACK gets through restarted only once: its first HELLO resets
 * the tracking and empties the resend queue, the later ones are tracked as
 * any message unless they come late (a second restart); 1.4.7 lets each
 * one acknowledge over a gap and throw away what was sent since. The
 * unacknowledged DELs survive a restart: the peer may have received the
 * flow after it started and before its HELLO reached us.
 *
 * A forged or corrupted sequence number far ahead (hostile traffic from the
 * peer's address) would make every genuine message look late, and 1.4.7
 * then drops the peer's stream until its numbers catch up, 2^31 messages
 * later. Here, consecutive numbers in a row, all before the expected one
 * and come in `BEHIND_RUN` datagrams, are the peer's real stream: the
 * receiver follows it from there and asks again (NACK) for the run it
 * dropped. A late or duplicated
 * datagram (a resend round holds many consecutive numbers) is one
 * datagram, not such a run: following it would apply stale states.
 */
import type { Header } from './header';
import { MessageFlag, MessageType, isControl, isData } from './header';
import type { ResendQueueEntry } from '../stats/counters';
import type { MessageOut } from './batch';
import { ElementQueue, type QueuePosition } from './element-queue';
import {
  ALIVE_INTERVAL_MS,
  Replication,
  SeqCheck,
  Verdict,
  type ReplicationConfig,
  type ReplicationHost,
  type SyncObject,
} from './replication';
import { seqAfter, seqBefore } from './seq';

/** A control message waiting to be (re)sent: ACK / NACK [from, to], RESYNC or ALIVE. */
interface Control {
  flags: number;
  from: number;
  to: number;
  /** The flags it last went with (its own and the handshake's), for `-s rsqueue`. */
  sentFlags: number;
  /** Where it is in the transmit and resend queues (ElementQueue), as on sync objects. */
  txAt: number;
  rsAt: number;
}

type Element = SyncObject | Control;

const TX_POSITION: QueuePosition<Element> = {
  get: (e) => e.txAt,
  set: (e, at) => {
    e.txAt = at;
  },
};
const RS_POSITION: QueuePosition<Element> = {
  get: (e) => e.rsAt,
  set: (e, at) => {
    e.rsAt = at;
  },
};

type HelloState = 'init' | 'say' | 'done';

/** Datagrams of consecutive "late" sequence numbers that mean our expectation, not the peer, went astray. */
export const BEHIND_RUN = 4;

/**
 * How long a sent object waits for its ACK before it goes again unasked:
 * one keep-alive period, so that a resend takes the keep-alive's place. A
 * longer wait puts a keep-alive between two resends, and a link dropping
 * every second datagram then drops every resend.
 */
export const RETRANSMIT_MS = ALIVE_INTERVAL_MS;
/**
 * The most elements sent and not yet acknowledged: more objects wait in the
 * transmit queue until ACKs make room. A bulk send of a million flows at
 * the link's speed overflows the receiver's socket (it applies them more
 * slowly than they arrive) and every overflow costs a NACK and a resend
 * that overflows again; 10,000 messages are about 1 MB of datagrams, which
 * fits the smallest buffer a config is likely to set, and many ACK windows
 * (the peer acknowledges every ACKWindowSize messages), so the link stays busy.
 */
export const IN_FLIGHT_MAX = 10_000;

/** The longest wait between two unasked resends while the peer is silent. */
export const RETRANSMIT_MAX_MS = 32 * ALIVE_INTERVAL_MS;

export class FtfwReplication extends Replication {
  /** Objects and control messages, in queue order. */
  private readonly txQueue = new ElementQueue<Element>(TX_POSITION);
  /** The control messages in the transmit queue (which a full window does not hold back). */
  private readonly controlsQueued = new Set<Control>();
  /**
   * Sent and not yet acknowledged, oldest first, with the sequence number
   * each last went with. An object's `due` says when it goes again unasked
   * (kept while a NACK moves it back to the transmit queue).
   */
  private readonly rsQueue = new ElementQueue<Element>(RS_POSITION);
  /** The current wait for an ACK: doubled by every unasked resend round, back to `RETRANSMIT_MS` when the peer is heard from. */
  private retransmitWait = RETRANSMIT_MS;
  /** When the resend queue is next looked through for elements due. */
  private retransmitAt = 0;
  /** The newest sequence number the peer's ACKs have reached, and when they last reached further. */
  private ackedTo: number | undefined;
  private progressAt = 0;
  /** Elements the full resend queue has dropped unacknowledged, ever. */
  private pushedOut = 0;
  /** The newest sequence number the full resend queue dropped unacknowledged, until a bulk send covers it. */
  private dropped: number | undefined;
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
  /** How many datagrams the run came in, and the last of them. */
  private behindDatagrams = 0;
  private behindDatagram = 0;
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
    obj.due = undefined;
  }

  changed(obj: SyncObject): void {
    this.rsQueue.delete(obj);
    obj.due = undefined;
    this.queue(obj);
  }

  requestResync(): void {
    this.queueControl(MessageFlag.RESYNC, 0, 0);
  }

  sendBulk(): void {
    this.dropped = undefined;
    this.host.forEachInternal((obj) => {
      if (obj.state !== 'dead') this.changed(obj);
    });
  }

  fireTimers(now: number): void {
    if (this.rsQueue.size > 0 && now >= this.retransmitAt) this.retransmitDue(now);
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
    return this.rsQueue.size > 0 ? Math.min(this.aliveAt, this.retransmitAt) : this.aliveAt;
  }

  /**
   * Moves every element whose ACK is overdue back to the transmit queue; the
   * next wait is twice as long. While the peer's ACKs keep moving forward,
   * what they have not reached yet is queued at the peer, not lost: a bulk
   * send of 300,000 flows takes the peer seconds to apply, and sending it
   * all again after one second only doubles its work.
   */
  private retransmitDue(now: number): void {
    const wait = Math.min(2 * this.retransmitWait, RETRANSMIT_MAX_MS);
    const progressing = now - this.progressAt < RETRANSMIT_MS;
    let resent = 0;
    this.rsQueue.walk((item, seq) => {
      if (!isObject(item) || item.due === undefined || item.due > now) return;
      if (progressing && (this.ackedTo === undefined || !seqBefore(seq, this.ackedTo))) return;
      this.rsQueue.delete(item);
      this.queue(item);
      item.due = now + wait;
      resent++;
    });
    if (resent > 0) this.retransmitWait = wait;
    this.counters.sendResent += resent;
    this.retransmitAt = now + ALIVE_INTERVAL_MS;
  }

  transmit(now: number, out: MessageOut): void {
    this.txQueue.compact();
    this.rsQueue.compact();
    let sent = false;
    this.txQueue.walk((item) => {
      if (isObject(item) && this.rsQueue.size >= IN_FLIGHT_MAX) return false;
      if (this.send(item, now, out)) sent = true;
      return true;
    });
    // The window is full: objects wait for ACKs, control messages still go
    // (found in their own set: a walk of a bulk's queue to reach them cost
    // every round as much as the queue is long).
    for (const control of this.controlsQueued) if (this.send(control, now, out)) sent = true;
    if (sent) this.aliveAt = now + ALIVE_INTERVAL_MS;
  }

  /**
   * Takes `item` out of the transmit queue and writes its message, with a
   * new sequence number, to `out`; false when nothing went out (a body the
   * wire cannot carry).
   */
  private send(item: Element, now: number, out: MessageOut): boolean {
    this.txQueue.delete(item);
    if (!isObject(item)) this.controlsQueued.delete(item);
    const seq = this.seq.next(now);
    const flags = this.helloFlags();
    if (isObject(item)) {
      if (!this.encodeObject(item, seq, flags, out)) {
        item.due = undefined;
        return false;
      }
      this.remember(item, seq, now);
      return true;
    }
    const bytes = this.encode({ type: MessageType.CTL, flags: item.flags | flags, seq, from: item.from, to: item.to });
    if (!bytes) return false;
    out.encoded(bytes);
    if (item.flags === MessageFlag.ALIVE) return true;
    item.sentFlags = item.flags | flags;
    this.remember(item, seq, now);
    return true;
  }

  /** The resend queue, oldest first, as `-s rsqueue` lists it. */
  resendQueue(): ResendQueueEntry[] {
    const entries: ResendQueueEntry[] = [];
    this.rsQueue.walk((item, seq) => {
      entries.push(isObject(item) ? { kind: 'object', seq } : { kind: 'control', seq, flags: item.sentFlags });
    });
    return entries;
  }

  /** Elements the full resend queue has dropped unacknowledged, ever. */
  get resendQueueDrops(): number {
    return this.pushedOut;
  }

  /** Elements waiting in the transmit and resend queues (`-s queue`). */
  queueLengths(): { tx: number; rs: number } {
    return { tx: this.txQueue.size, rs: this.rsQueue.size };
  }

  protected judge(h: Header, now: number): Verdict {
    let verdict: Verdict;
    const hello = this.digestHello(h);
    if (hello && (!this.peerGreeting || this.isLate(h.seq))) {
      // A restart: a window the peer will never acknowledge restarts at the
      // hello. Only the first HELLO of a restart empties the resend queue
      // and queues the bulk: a later one that comes late is a duplicate or
      // a second restart, taken up without throwing away the DELs still
      // waiting for their ACK.
      if (this.ackPending && seqBefore(h.seq, this.ackFrom)) {
        this.window = this.config.ackWindowSize - 1;
        this.ackFrom = h.seq;
      }
      if (!this.peerGreeting) {
        this.flushResendQueue();
        this.sendBulk();
      }
      this.peerGreeting = true;
      verdict = this.inSync(h, now);
    } else {
      switch (this.tracker.check(h.seq)) {
        case SeqCheck.AFTER: {
          verdict = this.digest(h, now);
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
          verdict = this.digest(h, now);
          if (verdict === Verdict.BAD) return verdict;
          this.queueControl(MessageFlag.NACK, this.behindFrom, (h.seq - 1) >>> 0);
          this.behindLength = 0;
          this.window = this.config.ackWindowSize - 1;
          this.ackFrom = h.seq;
          this.ackPending = true;
          break;
        }
        default:
          verdict = this.inSync(h, now);
      }
    }
    if (verdict !== Verdict.BAD) {
      this.tracker.update(h.seq);
      // A peer that talks is there: what it has not acknowledged was lost, not unheard.
      this.retransmitWait = RETRANSMIT_MS;
    }
    return verdict;
  }

  /** `seq` comes before the one expected (a restarted peer's numbers start from its clock, often behind its old ones). */
  private isLate(seq: number): boolean {
    return this.tracker.isSet && seqBefore(seq, this.tracker.expected);
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
      this.behindDatagrams = 0;
    }
    if (this.behindDatagram !== this.datagrams || this.behindDatagrams === 0) this.behindDatagrams++;
    this.behindDatagram = this.datagrams;
    return this.behindDatagrams >= BEHIND_RUN;
  }

  /** The expected message (or the first, or a hello): digest it and count it in the ACK window. */
  private inSync(h: Header, now: number): Verdict {
    const verdict = this.digest(h, now);
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

  private digest(h: Header, now: number): Verdict {
    if (isData(h)) return Verdict.DATA;
    if (isControl(h, MessageFlag.ACK)) {
      if (seqBefore(h.to!, h.from!)) return Verdict.BAD;
      if (this.ackedTo === undefined || seqAfter(h.to!, this.ackedTo)) {
        this.ackedTo = h.to!;
        this.progressAt = now;
      }
      this.sentBetween(h.from!, h.to!, (item) => {
        this.rsQueue.delete(item);
        if (!isObject(item)) return;
        item.due = undefined;
        if (item.state === 'dead') this.host.release(item);
      });
      return Verdict.CONTROL;
    }
    if (isControl(h, MessageFlag.NACK)) {
      if (seqBefore(h.to!, h.from!)) return Verdict.BAD;
      // What the peer asks for may be gone from the full queue: only a bulk send still has it.
      if (this.dropped !== undefined && !seqBefore(this.dropped, h.from!)) this.sendBulk();
      this.sentBetween(h.from!, h.to!, (item) => {
        this.rsQueue.delete(item);
        this.counters.sendResent++;
        this.queue(item);
        if (!isObject(item)) this.controlsQueued.add(item);
      });
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

  /**
   * Calls `visit` with the resend queue's elements sent with a number in
   * [from, to]. The queue is in the order of its numbers (every element is
   * appended with a new one), so the walk stops at the first number past
   * `to`: an ACK costs what it acknowledges, not the length of the queue.
   */
  private sentBetween(from: number, to: number, visit: (item: Element) => void): void {
    this.rsQueue.walk((item, seq) => {
      if (seqAfter(seq, to)) return false;
      if (!seqBefore(seq, from)) visit(item);
      return true;
    });
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
    const c: Control = { flags, from, to, sentFlags: 0, txAt: -1, rsAt: -1 };
    this.txQueue.push(c, 0);
    this.controlsQueued.add(c);
  }

  /** Appends `item` to the transmit queue, unless it waits there already (then it keeps its place). */
  private queue(item: Element): void {
    if (!this.txQueue.has(item)) this.txQueue.push(item, 0);
  }

  /** Appends to the resend queue (moving an element already there to the end), dropping the oldest when full. */
  private remember(item: Element, seq: number, now: number): void {
    this.rsQueue.delete(item);
    if (this.rsQueue.size >= this.config.resendQueueSize) {
      const oldest = this.rsQueue.first()!;
      this.dropped = this.rsQueue.value(oldest)!;
      this.rsQueue.delete(oldest);
      this.pushedOut++;
      if (isObject(oldest)) {
        oldest.due = undefined;
        if (oldest.state === 'dead') this.host.release(oldest);
      }
    }
    if (isObject(item)) {
      const due = item.due ?? now + this.retransmitWait;
      item.due = due;
      this.retransmitAt = this.rsQueue.size === 0 ? due : Math.min(this.retransmitAt, due);
    }
    this.rsQueue.push(item, seq);
  }

  /**
   * The peer restarted: the bulk send replaces what we kept for it, but not
   * the deletions, which go again. Its HELLO may come after it received
   * some of our messages already (1.4.7 releases the DELs here, and a flow
   * deleted while the peer was starting stays in its cache).
   */
  private flushResendQueue(): void {
    this.rsQueue.walk((item) => {
      if (!isObject(item)) return;
      item.due = undefined;
      if (item.state === 'dead') this.queue(item);
    });
    this.txQueue.walk((item) => {
      if (isObject(item)) item.due = undefined;
    });
    this.rsQueue.clear();
    this.dropped = undefined;
    this.ackedTo = undefined;
  }
}

function isObject(item: Element): item is SyncObject {
  return 'state' in item;
}
