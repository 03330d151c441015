/**
 * What the three replication modes (FTFW, NOTRACK, ALARM) share, and the
 * contract between a mode and the daemon that runs it.
 *
 * A mode is a pure state machine: no socket, no timer, no clock of its own.
 * The daemon drives it with one loop turn at a time, in 1.4.7's order:
 *
 * ```
 *   for each event at time `now` (ms since the epoch):
 *     mode.receive(datagram, now)      a datagram from the sync link
 *     mode.changed(object, now)        an internal-cache object changed
 *     mode.requestResync() / sendBulk()  `-n` / `-B`
 *   then
 *     mode.fireTimers(now)             whatever is due (keep-alive, refresh, expiry)
 *     messages = mode.transmit(now)    the transmit round: encoded messages to batch and send
 *   and sleep until mode.nextTimer() or the next event.
 * ```
 *
 * What a mode does to the rest of the daemon goes through its
 * `ReplicationHost`: applying the peer's changes to the external cache,
 * reading the internal cache for a bulk send, releasing dead objects.
 */
import type { Expectation } from '../../ctnetlink/expect';
import type { Flow } from '../../ctnetlink/flow';
import type { SyncConfig } from '../config/config';
import { newNetworkCounters, type NetworkCounters } from '../stats/counters';
import { SyncDecodeError, SyncEncodeError, type RejectReason } from './errors';
import { MessageType, PROTOCOL_VERSION, type Header } from './header';
import type { AttrWriter } from './attributes';
import type { MessageOut } from './batch';
import { encodeExpectAttributes } from './expect-attributes';
import { encodeFlowAttributes } from './flow-attributes';
import { encodeMessage, FrameCursor, receiveBody, type DataMessage, type EncodeOptions, type SyncMessage } from './message';
import { seqAdd, seqAfter, seqBefore, seqDistance } from './seq';

/**
 * An internal-cache object as the modes see it. `state` decides the type of
 * the message that (re)sends it: NEW → CT_NEW, ALIVE → CT_UPD, DEAD → CT_DEL
 * (EXP_* for expectations). A mode keeps the object itself (by identity)
 * and rebuilds the message from its current contents at every transmission.
 */
export interface SyncObject {
  readonly state: 'new' | 'alive' | 'dead';
  /** Exactly one of flow and expectation. */
  readonly flow?: Flow;
  readonly expectation?: Expectation;
  /**
   * Writes the attributes of the object's flow, for an object that keeps
   * its flow as kernel bytes, not as a Flow (the daemon's internal cache):
   * then `flow` and `expectation` are both absent.
   */
  writeAttributes?(w: AttrWriter, opts: EncodeOptions): void;
  /**
   * FTFW's bookkeeping, kept on the object (a bulk send of a million objects
   * through Maps cost a hash lookup per step): where it is in the transmit
   * and resend queues (-1 or absent: not there), and when it goes again
   * unasked (absent: not due).
   */
  txAt?: number;
  rsAt?: number;
  due?: number;
}

/** The daemon side of a mode. */
export interface ReplicationHost {
  /** Calls `visit` with every internal-cache object, for a bulk send (RESYNC from the peer, `-B`). */
  forEachInternal(visit: (obj: SyncObject) => void): void;
  /** A change from the peer for the external cache (or for the kernel, with `DisableExternalCache`). */
  applyExternal(msg: DataMessage): void;
  /**
   * FTFW: the peer has acknowledged the deletion of this dead object (or it
   * fell out of the resend queue), so the internal cache may forget it.
   */
  release(obj: SyncObject): void;
  /** ALARM: an external object the peer stopped refreshing for CacheTimeout seconds. */
  expireExternal(msg: DataMessage): void;
  /** The peer asked for a resync (a RESYNC control message); the bulk send follows. The daemon logs it. */
  resyncRequested?(): void;
}

/** The parts of the `Sync` section the modes use. */
export type ReplicationConfig = Pick<
  SyncConfig,
  'resendQueueSize' | 'ackWindowSize' | 'commitTimeout' | 'refreshTime' | 'cacheTimeout' | 'tcpWindowTracking'
>;

/** How a mode judged a received header. */
export const enum Verdict {
  /** A data message to decode and apply. */
  DATA,
  /** A control message, handled. */
  CONTROL,
  /** Ignored (late, or not for this mode). */
  DROP,
  /** Makes no sense: counted as a bad header. */
  BAD,
}

/** The keep-alive period of FTFW and NOTRACK. */
export const ALIVE_INTERVAL_MS = 1000;

/**
 * One sync mode. Subclasses decide what a received header means (`judge`)
 * and what goes out in a transmit round; the framing, version check, body
 * decoding and counting are common.
 */
export abstract class Replication {
  /** Message tracking counters for `-s` (receive problems, lost and late messages, failed encodings). */
  readonly counters: NetworkCounters = newNetworkCounters();
  protected readonly seq = new SequenceSource();
  protected readonly tracker: SequenceTracker;
  protected readonly encodeOptions: EncodeOptions;
  /** Datagrams received so far: tells the messages of one datagram from those of the next. */
  protected datagrams = 0;
  private readonly frames = new FrameCursor();

  constructor(
    protected readonly host: ReplicationHost,
    protected readonly config: ReplicationConfig,
  ) {
    this.tracker = new SequenceTracker(this.counters);
    this.encodeOptions = encodeOptionsOf(config);
  }

  /**
   * Handles one datagram (or the messages a TCP read completed) from the
   * peer. Returns how many messages were valid, so that the daemon can make
   * the link they came on the active one, as 1.4.7 does.
   */
  receive(datagram: Buffer, now: number): number {
    this.datagrams++;
    const frame = this.frames.reset(datagram);
    let valid = 0;
    while (frame.next()) {
      const h = frame.header;
      if (h.version !== PROTOCOL_VERSION) {
        this.reject('bad-version');
        continue;
      }
      const verdict = this.judge(h, now);
      if (verdict === Verdict.BAD) this.reject('bad-header');
      if (verdict === Verdict.CONTROL) valid++;
      if (verdict !== Verdict.DATA) continue;
      let msg: DataMessage;
      try {
        msg = receiveBody(frame);
      } catch (err) {
        if (!(err instanceof SyncDecodeError)) throw err;
        this.reject(err.reason);
        continue;
      }
      valid++;
      this.host.applyExternal(msg);
      this.applied(msg, now);
    }
    if (frame.stop) this.reject(frame.stop);
    return valid;
  }

  /** An internal-cache object was added, updated or destroyed (its `state` says which). */
  abstract changed(obj: SyncObject, now: number): void;
  /**
   * The object left the internal cache without a change to replicate
   * (`-f internal`, a flush by the daemon itself): drop it from every queue
   * and timer, as 1.4.7 does when it frees a cache object, so that no stale
   * message about it goes out.
   */
  abstract forget(obj: SyncObject): void;
  /** `-n` / `StartupResync`: ask the peer for its whole internal cache. */
  abstract requestResync(): void;
  /** `-B`: send the whole internal cache. */
  abstract sendBulk(now: number): void;
  /** Runs every timer due at `now`. */
  abstract fireTimers(now: number): void;
  /** The transmit round: every queued message, written to `out` in order, each with its own sequence number. */
  abstract transmit(now: number, out: MessageOut): void;
  /** When the next timer is due (ms), or undefined when none is armed. */
  abstract nextTimer(): number | undefined;

  /** What a received header means to this mode; also does the sequence tracking. */
  protected abstract judge(h: Header, now: number): Verdict;
  /** A data message was applied to the external cache. */
  protected applied(_msg: DataMessage, _now: number): void {}

  /** Encodes `msg`, or counts it as "send malformed" when its body cannot be carried. */
  protected encode(msg: SyncMessage): Buffer | undefined {
    try {
      return encodeMessage(msg, this.encodeOptions);
    } catch (err) {
      return this.unsendable(err);
    }
  }

  /**
   * Writes the message that sends `obj` now to `out` (its type follows the
   * object's state; `refresh`: a NEW goes as an UPD). False, counted as
   * "send malformed", when its body cannot be carried.
   */
  protected encodeObject(obj: SyncObject, seq: number, flags: number, out: MessageOut, refresh = false): boolean {
    const state = refresh && obj.state === 'new' ? 'alive' : obj.state;
    const offset = state === 'new' ? 0 : state === 'alive' ? 1 : 2;
    try {
      out.data((obj.expectation ? MessageType.EXP_NEW : MessageType.CT_NEW) + offset, flags, seq, (w) => {
        if (obj.writeAttributes) obj.writeAttributes(w, this.encodeOptions);
        else if (obj.flow) encodeFlowAttributes(w, obj.flow, this.encodeOptions);
        else encodeExpectAttributes(w, obj.expectation!, this.encodeOptions);
      });
      return true;
    } catch (err) {
      this.unsendable(err);
      return false;
    }
  }

  private unsendable(err: unknown): undefined {
    if (!(err instanceof SyncEncodeError)) throw err;
    this.counters.sendMalformed++;
    return undefined;
  }

  private reject(reason: RejectReason): void {
    const c = this.counters;
    c.receiveMalformed++;
    switch (reason) {
      case 'truncated': c.receiveTruncated++; break;
      case 'bad-size': c.receiveBadSize++; break;
      case 'bad-version': c.receiveBadVersion++; break;
      case 'bad-header': c.receiveBadHeader++; break;
      case 'bad-type': c.receiveBadType++; break;
      case 'bad-payload': c.receiveBadPayload++; break;
    }
  }
}

/** How a sender with this config encodes flows (`CommitTimeout` leaves the timeout out, window tracking adds the scale factors). */
export function encodeOptionsOf(config: Pick<ReplicationConfig, 'commitTimeout' | 'tcpWindowTracking'>): EncodeOptions {
  return { omitTimeout: config.commitTimeout !== undefined, windowTracking: config.tcpWindowTracking };
}

/**
 * This node's sequence numbers: the first is the wall clock's Unix seconds
 * when the first message is built, then one more for every message sent,
 * retransmissions and keep-alives included.
 */
export class SequenceSource {
  private last: number | undefined;

  next(now: number): number {
    this.last = this.last === undefined ? Math.floor(now / 1000) >>> 0 : seqAdd(this.last, 1);
    return this.last;
  }
}

/** Where a received sequence number falls relative to the last one. */
export const enum SeqCheck {
  /** Nothing received yet. */
  UNSET,
  /** The next one expected. */
  IN_SYNC,
  /** Messages in between were lost. */
  AFTER,
  /** Older than expected: late or duplicated. */
  BEFORE,
}

/**
 * The peer's sequence numbers as received: one "last received" number,
 * because a sync link has exactly one peer. Counts lost and late messages
 * as 1.4.7 does (a gap of n missing messages counts n + 2, a quirk `-s`
 * users already know).
 */
export class SequenceTracker {
  private known = false;
  private lastSeq = 0;

  constructor(private readonly counters: NetworkCounters) {}

  /** The last accepted sequence number; meaningful once `isSet`. */
  get last(): number {
    return this.lastSeq;
  }

  get isSet(): boolean {
    return this.known;
  }

  /** The sequence number expected next. */
  get expected(): number {
    return seqAdd(this.lastSeq, 1);
  }

  check(seq: number): SeqCheck {
    if (!this.known) return SeqCheck.UNSET;
    const expected = this.expected;
    if (seq === expected) return SeqCheck.IN_SYNC;
    if (seqAfter(seq, expected)) {
      this.counters.sequenceLost += seqDistance(this.lastSeq, seq) + 1;
      return SeqCheck.AFTER;
    }
    if (seqBefore(seq, expected)) this.counters.sequenceBefore++;
    return SeqCheck.BEFORE;
  }

  /** `seq` was accepted. */
  update(seq: number): void {
    this.known = true;
    this.lastSeq = seq;
  }
}
