import { ExtAckAttr, MessageFlags, MessageType, NLMSG_HDRLEN } from './constants';
import { AttributeCursor } from './attributes';
import { DumpInterruptedError, NetlinkError, ProtocolError } from './errors';
import { MessageCursor } from './messages';
import type { Transport } from './socket';
import { debugEnabled, debugMessages } from './debug';

const EAGAIN = 11;
const ENOBUFS = 105;

/** Receives the replies that carry one request's sequence number. */
export interface ReplyHandler {
  /** A data message. The cursor (and its buffer) is valid only during the call. */
  onMessage?(m: MessageCursor): void;
  /** The datagram that carried this request's last messages has been processed. */
  onDatagramEnd?(): void;
  /** The request finished: ACK (error 0) or NLMSG_DONE. */
  onDone(): void;
  onError(err: Error): void;
}

/**
 * Receives the answers of a batch (submitBatch): one ACK or error per request,
 * reported in order by the request's index in the batch. No object per request, which
 * is what makes a million-request bulk change cheap.
 */
export interface BatchHandler {
  /** Request `index` was answered: `err` undefined for an ACK. */
  onReply(index: number, err: NetlinkError | undefined): void;
  /**
   * A data message answering request `index` (a lookup's entry), before its
   * ACK. The cursor (and its buffer) is valid only during the call; without
   * this hook such messages count as unsolicited.
   */
  onData?(index: number, m: MessageCursor): void;
  /** The channel failed (closed, receive error, lost replies): the unanswered requests never will be. */
  onFailure(err: Error): void;
}

interface PendingBatch {
  readonly firstSeq: number;
  readonly count: number;
  /** Requests answered, which is also the index of the next one: answers come in order. */
  answered: number;
  readonly handler: BatchHandler;
}

interface Pending {
  readonly seq: number;
  readonly handler: ReplyHandler;
  interrupted: boolean;
  /** Consumer went away: swallow the rest of a dump until it ends. */
  discard: boolean;
}

export interface ChannelOptions {
  /** Requests awaiting their ACK at most; bounds the replies queued in the socket. */
  maxInFlight?: number;
  /** Receive buffer per datagram. Dump datagrams are at most 32 KiB. */
  datagramSize?: number;
  /** Bytes of the family header after nlmsghdr (4 for nfgenmsg), for NFCT_DEBUG. */
  familyHeaderLength?: number;
  /** Messages nobody asked for (multicast events). */
  onUnsolicited?(m: MessageCursor): void;
  /**
   * ENOBUFS: the kernel dropped messages for this socket. Event listeners count
   * it; without this hook every request in flight fails, since its reply may be lost.
   */
  onOverrun?(): void;
  /** The socket was read empty: listeners settle what a burst changed (the loss of an overrun). */
  onDrained?(): void;
  /** recvmsg failed otherwise (not EAGAIN, not ENOBUFS); requests in flight fail with the same error. */
  onReceiveError?(err: NetlinkError): void;
}

/** Dump batches queued before reading pauses (backpressure). */
const HIGH_WATER = 8;

/**
 * Datagrams read per wakeup at most. A socket that never runs empty (an
 * event storm) must not starve the event loop: signal handlers and timers
 * run between bursts.
 */
const MAX_BURST = 1024;

/**
 * Bytes read per wakeup at most: dump datagrams are up to 32 KiB each, so
 * 1024 of them would be a whole 200,000-entry table, and a `conntrack -L`
 * told to stop (SIGTERM, SIGINT) would print all of it before its handler
 * ran, and conntrack-top's live view would answer no key until the end of
 * its dump. Half a megabyte (some 2,500 entries, a few milliseconds of
 * decoding) keeps both prompt, even on a machine loaded enough to stretch
 * those milliseconds tenfold, at the cost of one event-loop turn per burst.
 */
const MAX_BURST_BYTES = 512 * 1024;

/**
 * The request engine: many requests in flight on one socket, replies matched
 * to requests by sequence number, multipart dumps streamed with backpressure.
 *
 * Outgoing requests are queued and flushed once per microtask, so a caller
 * that fires many requests without awaiting each one (a bulk delete) sends
 * them in one sendmsg, like libmnl's batch example, and then only waits for
 * the ACKs. At most `maxInFlight` requests are outstanding, so their ACKs
 * always fit in the socket's receive buffer.
 */
export class NetlinkChannel {
  private readonly pending = new Map<number, Pending>();
  private readonly outbox: { seq: number; message: Buffer }[] = [];
  private readonly batches: PendingBatch[] = [];
  /** Outbox items that are batches: they are not in `pending`. */
  private queuedBatches = 0;
  private readonly recvBuf: Buffer;
  private readonly maxInFlight: number;
  private seq: number;
  private flushScheduled = false;
  private backpressure = 0;
  private listening = false;
  private closed = false;
  private readonly touched: Pending[] = [];

  constructor(
    private readonly transport: Transport,
    private readonly options: ChannelOptions = {},
  ) {
    this.recvBuf = Buffer.allocUnsafe(options.datagramSize ?? 64 * 1024);
    this.maxInFlight = options.maxInFlight ?? 256;
    this.seq = Math.floor(Date.now() / 1000) >>> 0;
  }

  get portid(): number {
    return this.transport.portid;
  }

  /** Requests sent or queued and not finished yet. */
  get inFlight(): number {
    let n = this.pending.size;
    for (const b of this.batches) n += b.count - b.answered;
    return n;
  }

  /** A fresh sequence number (never 0: events carry 0). */
  nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0 || 1;
    return this.seq;
  }

  /**
   * The first of `count` consecutive fresh sequence numbers, for a batch
   * (none is 0, so the range never wraps).
   */
  reserveSeqs(count: number): number {
    if (this.seq + count > 0xffffffff) this.seq = 0;
    const first = this.seq + 1;
    this.seq += count;
    return first;
  }

  /**
   * Queues `count` complete requests packed in one buffer, with the
   * consecutive sequence numbers `firstSeq`... (reserveSeqs), none asking
   * for a dump: libmnl's batch, sent in one sendmsg with whatever else is
   * queued. The last request must ask for an ACK; the others may leave it
   * out. A request without NLM_F_ACK is answered only if it fails, and the
   * kernel handles the messages of a sendmsg in order and answers them in
   * order, so an answer to a later request says that the unanswered ones
   * before it succeeded. Leaving the ACKs out spares the kernel a reply and
   * us a recvmsg per request. The caller bounds how many are in flight
   * (maxInFlight counts single requests only).
   */
  submitBatch(messages: Buffer, firstSeq: number, count: number, handler: BatchHandler): void {
    if (this.closed) {
      handler.onFailure(new NetlinkError(9, 'sendmsg', 'the netlink channel is closed'));
      return;
    }
    this.batches.push({ firstSeq, count, answered: 0, handler });
    this.queuedBatches++;
    this.outbox.push({ seq: firstSeq, message: messages });
    this.scheduleFlush();
  }

  /**
   * Queues a complete message (its nlmsg_seq already set to `seq`) whose
   * replies go to `handler`. The message must ask for an ACK or a dump, so
   * that the kernel always ends it.
   */
  submit(message: Buffer, seq: number, handler: ReplyHandler): void {
    if (this.closed) {
      handler.onError(new NetlinkError(9, 'sendmsg', 'the netlink channel is closed'));
      return;
    }
    this.pending.set(seq, { seq, handler, interrupted: false, discard: false });
    this.outbox.push({ seq, message });
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  /** Sends a request and resolves on its ACK; data replies go to onMessage. */
  request(message: Buffer, seq: number, onMessage?: (m: MessageCursor) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      this.submit(message, seq, { onMessage, onDone: resolve, onError: reject });
    });
  }

  /**
   * Sends a dump request and yields the decoded entries one datagram at a
   * time. Reading pauses while the consumer lags, so memory stays flat for
   * any table size. A dump interrupted by a table change (NLM_F_DUMP_INTR)
   * delivers what it got, then throws DumpInterruptedError.
   */
  dump<T>(message: Buffer, seq: number, decode: (m: MessageCursor) => T | undefined): AsyncIterableIterator<T[]> {
    const queue: T[][] = [];
    let current: T[] = [];
    let finished = false;
    let failure: Error | undefined;
    let wake: (() => void) | undefined;
    let paused = false;
    const channel = this;
    const notify = (): void => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    const deliver = (): void => {
      if (current.length === 0) return;
      queue.push(current);
      current = [];
      if (!paused && queue.length >= HIGH_WATER) {
        paused = true;
        channel.holdReading();
      }
      notify();
    };
    this.submit(message, seq, {
      onMessage(m) {
        const value = decode(m);
        if (value !== undefined) current.push(value);
      },
      onDatagramEnd: deliver,
      onDone() {
        deliver();
        finished = true;
        notify();
      },
      onError(err) {
        deliver();
        failure = err;
        finished = true;
        notify();
      },
    });
    const release = (): void => {
      if (paused) {
        paused = false;
        channel.releaseReading();
      }
    };
    async function* batches(): AsyncGenerator<T[]> {
      try {
        for (;;) {
          const batch = queue.shift();
          if (batch) {
            if (queue.length < HIGH_WATER / 2) release();
            yield batch;
          } else if (finished) {
            if (failure) throw failure;
            return;
          } else {
            await new Promise<void>((resolve) => (wake = resolve));
          }
        }
      } finally {
        release();
        if (!finished) channel.abandon(seq);
      }
    }
    return batches();
  }

  /** Fails every outstanding request and closes the socket. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.failAll(new NetlinkError(9, 'recvmsg', 'the netlink channel was closed'));
    this.transport.close();
  }

  /**
   * Keep the socket polled while replies are due or a listener is attached.
   * An idle channel must not hold Node's event loop open.
   */
  listen(): void {
    this.listening = true;
    this.updatePolling();
  }

  private abandon(seq: number): void {
    const p = this.pending.get(seq);
    if (p) p.discard = true;
  }

  /**
   * Stops reading the socket until as many releaseReading() calls: the
   * kernel then queues, and drops past the receive buffer (ENOBUFS for
   * multicast). For consumers of unsolicited messages that fall behind.
   */
  holdReading(): void {
    this.backpressure++;
    this.updatePolling();
  }

  releaseReading(): void {
    this.backpressure--;
    this.updatePolling();
    // Datagrams may already wait in the socket; poll readiness reports them too,
    // but reading now saves a loop turn.
    if (this.backpressure === 0) setImmediate(() => this.read());
  }

  private updatePolling(): void {
    if (this.closed) return;
    const wanted = this.backpressure === 0 && (this.listening || this.pending.size > 0 || this.batches.length > 0);
    if (wanted) this.transport.resume(() => this.read());
    else this.transport.pause();
  }

  private flush(): void {
    this.flushScheduled = false;
    while (this.outbox.length > 0 && !this.closed) {
      const room = this.maxInFlight - (this.pending.size - (this.outbox.length - this.queuedBatches));
      if (room <= 0) break;
      const items = this.outbox.splice(0, Math.min(room, 64));
      const buffers = items.map((b) => b.message);
      if (debugEnabled) debugMessages('>', buffers, this.options.familyHeaderLength ?? 0);
      // Counted before sending: a transport that sends later may report a failure at once.
      for (const item of items) if (!this.pending.has(item.seq)) this.queuedBatches--;
      const later = this.transport.sendLater?.(buffers, (errno) => this.sendFailed(items, new NetlinkError(errno, 'sendmsg')));
      const sent = later ? 0 : this.transport.send(buffers);
      if (sent < 0) this.sendFailed(items, new NetlinkError(-sent, 'sendmsg'));
    }
    this.updatePolling();
  }

  private read(): void {
    const buf = this.recvBuf;
    let bytes = 0;
    for (let burst = 0; !this.closed && this.backpressure === 0; burst++) {
      if (burst === MAX_BURST || bytes >= MAX_BURST_BYTES) {
        // Resumed from the event loop: a read-ahead transport does not signal again until read empty.
        setImmediate(() => this.read());
        break;
      }
      const n = this.transport.recv(buf);
      if (n < 0) {
        if (n === -EAGAIN) {
          this.options.onDrained?.();
          break;
        }
        if (n === -ENOBUFS) {
          this.overrun();
          continue;
        }
        const err = new NetlinkError(-n, 'recvmsg');
        this.failAll(err);
        this.options.onReceiveError?.(err);
        break;
      }
      if (n > buf.length) {
        // MSG_TRUNC: the rest of the datagram is gone, and with it replies we cannot name.
        this.failAll(new ProtocolError(`netlink datagram of ${n} bytes truncated to ${buf.length}`));
        continue;
      }
      if (debugEnabled) debugMessages('<', [buf.subarray(0, n)], this.options.familyHeaderLength ?? 0);
      bytes += n;
      this.dispatch(buf, n);
    }
    if (this.outbox.length > 0) this.flush();
    else this.updatePolling();
  }

  private dispatch(buf: Buffer, n: number): void {
    const touched = this.touched;
    const m = new MessageCursor(buf, n);
    let current: Pending | undefined;
    try {
      while (m.next()) {
        current = m.seq === 0 || m.pid !== this.portid ? undefined : this.pending.get(m.seq);
        if (!current) {
          if (!this.batchReply(m)) this.options.onUnsolicited?.(m);
          continue;
        }
        if (m.flags & MessageFlags.DUMP_INTR) current.interrupted = true;
        if (m.type === MessageType.ERROR) this.onErrorMessage(current, m);
        else if (m.type === MessageType.DONE) this.onDoneMessage(current, m);
        else if (m.type >= 0x10 && !current.discard) {
          // Types below 0x10 are netlink control messages (NOOP, OVERRUN): nothing to deliver.
          if (!touched.includes(current)) touched.push(current);
          current.handler.onMessage?.(m);
        }
      }
    } catch (err) {
      // A malformed datagram: the request it belongs to cannot trust the rest.
      const e = err instanceof Error ? err : new ProtocolError(String(err));
      if (current) this.finish(current.seq, e);
      else this.failAll(e);
    }
    for (const p of touched) if (!p.discard) p.handler.onDatagramEnd?.();
    touched.length = 0;
  }

  /** NLMSG_ERROR: the ACK or failure of a request (errorOf). */
  private onErrorMessage(p: Pending, m: MessageCursor): void {
    this.finish(p.seq, errorOf(m));
  }

  /**
   * An ACK, error or data message (onData) for a request of a batch; false
   * when no batch sent `m.seq` or nobody takes its data.
   */
  private batchReply(m: MessageCursor): boolean {
    // Events carry sequence number 0, also those our own requests caused.
    if (m.pid !== this.portid || m.seq === 0) return false;
    for (let i = 0; i < this.batches.length; i++) {
      const b = this.batches[i]!;
      const index = (m.seq - b.firstSeq) >>> 0;
      if (index >= b.count) continue;
      if (m.type !== MessageType.ERROR) {
        if (m.type < 0x10 || !b.handler.onData) return false;
        b.handler.onData(index, m);
        return true;
      }
      const err = errorOf(m);
      // The requests before this one that asked for no ACK succeeded.
      while (b.answered < index) b.handler.onReply(b.answered++, undefined);
      if (++b.answered === b.count) this.batches.splice(i, 1);
      b.handler.onReply(index, err);
      return true;
    }
    return false;
  }

  /** A sendmsg failed: its requests will never be answered. */
  private sendFailed(items: readonly { seq: number }[], err: Error): void {
    for (const item of items) {
      if (this.pending.has(item.seq)) this.finish(item.seq, err);
      else this.failBatch(item.seq, err);
    }
  }

  private failBatch(firstSeq: number, err: Error): void {
    const i = this.batches.findIndex((b) => b.firstSeq === firstSeq);
    if (i >= 0) this.batches.splice(i, 1)[0]!.handler.onFailure(err);
  }


  /** NLMSG_DONE carries an int: a negative errno if the dump failed midway. */
  private onDoneMessage(p: Pending, m: MessageCursor): void {
    const status = m.end - m.payload >= 4 ? m.buf.readInt32LE(m.payload) : 0;
    if (status < 0) this.finish(p.seq, new NetlinkError(-status, 'recvmsg'));
    else this.finish(p.seq, p.interrupted ? new DumpInterruptedError() : undefined);
  }

  private finish(seq: number, err?: Error): void {
    const p = this.pending.get(seq);
    if (!p) return;
    this.pending.delete(seq);
    const queued = this.outbox.findIndex((b) => b.seq === seq);
    if (queued >= 0) this.outbox.splice(queued, 1);
    if (err) p.handler.onError(err);
    else p.handler.onDone();
  }

  private overrun(): void {
    if (this.options.onOverrun) this.options.onOverrun();
    else this.failAll(new NetlinkError(ENOBUFS, 'recvmsg', 'replies were dropped: the socket receive buffer overflowed'));
  }

  private failAll(err: Error): void {
    for (const seq of [...this.pending.keys()]) this.finish(seq, err);
    for (const b of this.batches.splice(0)) b.handler.onFailure(err);
  }
}

/**
 * The outcome an NLMSG_ERROR reports: undefined for an ACK (error 0). Layout:
 * `int error` then the request's nlmsghdr (and its payload unless
 * NLM_F_CAPPED), then extended-ack attributes if NLM_F_ACK_TLVS.
 */
function errorOf(m: MessageCursor): NetlinkError | undefined {
  if (m.end - m.payload < 4) throw new ProtocolError('NLMSG_ERROR without an error code');
  const errno = -m.buf.readInt32LE(m.payload);
  if (errno === 0) return undefined;
  let text: string | undefined;
  let offset: number | undefined;
  if (m.flags & MessageFlags.ACK_TLVS && m.end - m.payload >= 4 + NLMSG_HDRLEN) {
    const echoed = m.flags & MessageFlags.CAPPED ? NLMSG_HDRLEN : m.buf.readUInt32LE(m.payload + 4);
    const tlvStart = m.payload + 4 + ((echoed + 3) & ~3);
    if (tlvStart <= m.end) {
      const a = new AttributeCursor(m.buf, tlvStart, m.end);
      while (a.next()) {
        if (a.type === ExtAckAttr.MSG) text = a.string();
        else if (a.type === ExtAckAttr.OFFS) offset = a.u32le();
      }
    }
  }
  return new NetlinkError(errno, 'sendmsg', text, offset);
}
