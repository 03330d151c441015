import { EventEmitter } from 'node:events';
import { NetlinkChannel } from '../netlink/channel';
import { NetlinkOption, SOL_NETLINK, SOL_SOCKET, SocketOption } from '../netlink/constants';
import type { NetlinkError } from '../netlink/errors';
import type { MessageCursor } from '../netlink/messages';
import { NetlinkSocket, type Transport } from '../netlink/socket';
import { NFGENMSG_LEN } from '../nfnetlink/header';

/**
 * The kernel dropped events meant for this listener: its receive buffer
 * overflowed while the consumer fell behind (ENOBUFS). Event loss is an
 * event with a count, not an exception.
 *
 * An overflow makes the kernel drop every event for this socket until the
 * listener has read its queue empty, and it says so once. So this item goes
 * where the gap is: after the events that were queued when the buffer
 * overflowed, before the first one that arrived after the queue ran empty.
 */
export interface EventsLost {
  readonly type: 'lost';
  /** The kernel's ENOBUFS reports folded into this item. */
  readonly overruns: number;
  /**
   * How many events the kernel dropped in this gap: its drop counter of the
   * socket (SO_MEMINFO, the "Drops" column of /proc/net/netlink). It counts
   * events that passed the socket's kernel filter, before the userspace
   * re-check. Undefined on kernels that do not tell (before Linux 4.12).
   */
  readonly count: number | undefined;
}

export interface EventStreamOptions {
  /** Network namespace to listen in: a name under /run/netns or a path. */
  netns?: string;
  /**
   * Receive buffer to ask for, in bytes (SO_RCVBUFFORCE, else SO_RCVBUF,
   * capped at net.core.rmem_max then): how much the kernel holds while the
   * consumer lags. The kernel doubles the figure for its bookkeeping and
   * charges each queued event ~1.3 KB. Default: the kernel's default.
   */
  bufferSize?: number;
  /**
   * NETLINK_BROADCAST_ERROR + NETLINK_NO_ENOBUFS (libmnl's reliable event
   * mode, as conntrackd's): a DESTROY event the socket cannot take fails
   * its delivery, and conntrack keeps the entry and delivers the event
   * again later; the kind of a dropped NEW or UPDATE is sent along with the
   * entry's next event. No ENOBUFS then, so no EventsLost items either.
   */
  reliable?: boolean;
  /** A classic BPF program (struct sock_filter[]) the kernel runs on each event before queueing it. */
  kernelFilter?: Buffer;
  /** Aborting closes the stream. */
  signal?: AbortSignal;
}

/** Items queued for a `for await` consumer before reading pauses; the socket buffer then absorbs bursts. */
const HIGH_WATER = 1024;

/**
 * Receive ahead on a second core into at most this much memory: the
 * recvmsg() per event leaves the JavaScript thread, and a burst waits here
 * (~260 bytes an event: half a million events) rather than in the kernel
 * (~1.3 KB an event), where a full buffer loses events. The reader goes back
 * to the ring's start whenever the consumer has caught up, so the memory in
 * use is that of the largest backlog, not of the whole ring.
 */
const READ_AHEAD = 128 * 1024 * 1024;
/**
 * Events received while the loop sleeps wake it after at most this many
 * µs, all at once: a burst of ~30,000 events a second woke it once per
 * event, and the wake-ups cost more than the events.
 */
const WAKE_DELAY_US = 1000;

export interface EventStreamEvents<T> {
  /** One event, as soon as it is decoded (and passed the userspace filter). */
  event: [event: T];
  /** The kernel said ENOBUFS (printed by `conntrack -E` at once); the count follows with 'lost'. */
  overrun: [];
  lost: [lost: EventsLost];
  /** The socket failed; the stream closes. */
  error: [err: NetlinkError];
  close: [];
}

/**
 * Multicast events of some netfilter groups: an EventEmitter ('event',
 * 'lost', 'overrun', 'error', 'close') and an async iterable of the same
 * events with EventsLost items where the kernel dropped some.
 *
 * Memory stays flat. A `for await` consumer that lags pauses reading, and
 * `pause()` does so for listeners: the kernel's buffer fills instead, and
 * what it must drop is counted and reported. Until someone listens to
 * 'event' or iterates, events are kept for the iteration (up to the pause).
 * `close()` (or abort, or leaving a `for await` loop) stops listening;
 * events already received are still delivered to an iteration.
 */
export class EventStream<T> extends EventEmitter<EventStreamEvents<T>> implements AsyncIterable<T | EventsLost> {
  /** The receive buffer in effect, as the kernel reports it (SO_RCVBUF: twice what was asked). */
  private receiveBuffer: number | undefined;
  private readonly queue: (T | EventsLost)[] = [];
  private readonly channel: NetlinkChannel;
  private readonly transport: Transport;
  private readonly signal: AbortSignal | undefined;
  private readonly abort = (): void => this.close();
  private iterating = false;
  private wake: (() => void) | undefined;
  private failure: NetlinkError | undefined;
  private holds = 0;
  private queuePaused = false;
  private closed = false;
  /** What an item becomes when it is queued beyond its delivery (a copy of what decode() only lent). */
  private readonly keep: ((item: T) => T) | undefined;
  private receivedCount = 0;
  private lostCount = 0;
  private overrunCount = 0;
  /** Overruns since the last EventsLost, whose gap has not been counted yet. */
  private unsettled = 0;
  private drops: number | undefined;

  /**
   * @internal Not part of the package's API: Conntrack#events() and #expectationEvents() open streams.
   *
   * Listens on a new socket for `groups` (bind() bits: 1 << (group - 1) for
   * each Group). `decode` returns undefined for messages to skip.
   */
  static open<T>(groups: number, decode: (m: MessageCursor) => T | undefined, options: EventStreamOptions = {}, keep?: (item: T) => T): EventStream<T> {
    const socket = NetlinkSocket.open({ netns: options.netns, readAhead: READ_AHEAD, wakeDelay: WAKE_DELAY_US });
    let bufferSize: number;
    try {
      bufferSize =
        options.bufferSize === undefined
          ? socket.getOption(SOL_SOCKET, SocketOption.SO_RCVBUF)
          : socket.setReceiveBuffer(options.bufferSize);
      if (options.reliable) {
        socket.setOption(SOL_NETLINK, NetlinkOption.BROADCAST_ERROR, 1);
        socket.setOption(SOL_NETLINK, NetlinkOption.NO_ENOBUFS, 1);
      }
      if (options.kernelFilter) socket.attachFilter(options.kernelFilter);
      // Joined last, so that no event arrives before the socket is set up.
      for (let bit = 0; bit < 32; bit++) if (groups & (1 << bit)) socket.joinGroup(bit + 1);
    } catch (err) {
      socket.close();
      throw err;
    }
    return new EventStream(socket, decode, { bufferSize, signal: options.signal, reliable: options.reliable, keep });
  }

  /** Listens on a transport already subscribed to its groups. */
  constructor(
    transport: Transport,
    decode: (m: MessageCursor) => T | undefined,
    settings: { bufferSize?: number; signal?: AbortSignal; reliable?: boolean; keep?: (item: T) => T } = {},
  ) {
    super();
    this.keep = settings.keep;
    this.transport = transport;
    this.receiveBuffer = settings.bufferSize;
    // Reliable: the kernel's drop counter counts failed deliveries it retries, not losses.
    this.drops = settings.reliable ? undefined : transport.receiveQueue?.()?.drops;
    this.channel = new NetlinkChannel(transport, {
      familyHeaderLength: NFGENMSG_LEN,
      onUnsolicited: (m) => {
        const event = decode(m);
        if (event === undefined) return;
        this.receivedCount++;
        try {
          this.deliver(event);
        } catch (err) {
          // A listener threw. The channel would take it for a malformed datagram
          // and drop it; it is the caller's, uncaught, as from any I/O callback.
          this.close();
          process.nextTick(() => {
            throw err;
          });
        }
      },
      onOverrun: () => this.overrun(),
      onDrained: () => {
        if (this.unsettled > 0) this.settle(false);
      },
      onReceiveError: (err) => this.fail(err),
    });
    this.channel.listen();
    this.signal = settings.signal;
    if (this.signal?.aborted) this.close();
    else this.signal?.addEventListener('abort', this.abort, { once: true });
  }

  /** The receive buffer in effect, as the kernel reports it (SO_RCVBUF: twice what was asked). */
  get bufferSize(): number | undefined {
    return this.receiveBuffer;
  }

  /**
   * Asks for a new receive buffer while listening, as EventStreamOptions.bufferSize
   * does at open: a listener that lost events grows its buffer to lose fewer
   * (conntrackd doubles it on every overrun). Returns the size in effect; a
   * transport that cannot change it keeps its size.
   */
  resize(bytes: number): number | undefined {
    if (this.transport.setReceiveBuffer) this.receiveBuffer = this.transport.setReceiveBuffer(bytes);
    return this.receiveBuffer;
  }

  /** Events delivered so far. */
  get received(): number {
    return this.receivedCount;
  }

  /** Events the kernel dropped so far, as reported in EventsLost items. */
  get lost(): number {
    return this.lostCount;
  }

  /**
   * Events received from the kernel and not consumed yet: read ahead into
   * memory while the stream was paused or busy, plus those queued for a
   * `for await` loop. What still waits in the kernel's socket buffer is not
   * counted. A producer whose changes make events on this stream (a bulk
   * create while listening for new entries) paces itself by it, so that its
   * events never outgrow the buffers and get dropped.
   */
  get backlog(): number {
    return (this.transport.backlog?.() ?? 0) + this.queue.length;
  }

  /**
   * How full the kernel's socket buffer is, 0 to 1 (it drops events past 1),
   * where the transport can tell; a system call each time. The read-ahead
   * thread empties it, but a thread may wait for a core: a producer that
   * paces itself by `backlog` also looks at this.
   */
  get bufferFill(): number | undefined {
    const queued = this.transport.receiveQueue?.()?.queued;
    return queued === undefined || !this.receiveBuffer ? undefined : queued / this.receiveBuffer;
  }

  /** ENOBUFS reports so far. */
  get overruns(): number {
    return this.overrunCount;
  }

  /** Stops reading until as many resume() calls; the kernel queues meanwhile (and drops past its buffer). */
  pause(): void {
    if (this.holds++ === 0 && !this.closed) this.channel.holdReading();
  }

  resume(): void {
    if (this.holds === 0) return;
    if (--this.holds === 0 && !this.closed) this.channel.releaseReading();
  }

  /**
   * Stops listening. Loss not reported yet is counted first; an iteration
   * ends once the events already received are consumed.
   */
  close(): void {
    if (this.closed) return;
    this.settle(true);
    this.closed = true;
    this.channel.close();
    this.signal?.removeEventListener('abort', this.abort);
    this.notify();
    this.emit('close');
  }

  /** close(), for `using events = ct.events()`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** close(), for `await using events = ct.events()`. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T | EventsLost> {
    this.iterating = true;
    try {
      for (;;) {
        const item = this.queue.shift();
        if (item !== undefined) {
          if (this.queuePaused && this.queue.length < HIGH_WATER / 2) {
            this.queuePaused = false;
            this.resume();
          }
          yield item;
        } else if (this.failure) {
          throw this.failure;
        } else if (this.closed) {
          return;
        } else {
          await new Promise<void>((resolve) => (this.wake = resolve));
        }
      }
    } finally {
      this.iterating = false;
      this.close();
    }
  }

  /** Emits an item and keeps it for the iteration when one runs, or when nobody listens yet. */
  private deliver(item: T | EventsLost): void {
    if (isLost(item)) this.emit('lost', item);
    else this.emit('event', item);
    if (!this.iterating && this.listenerCount('event') > 0) return;
    this.queue.push(this.keep && !isLost(item) ? this.keep(item) : item);
    if (!this.queuePaused && this.queue.length >= HIGH_WATER) {
      this.queuePaused = true;
      this.pause();
    }
    this.notify();
  }

  private overrun(): void {
    this.overrunCount++;
    this.unsettled++;
    this.emit('overrun');
  }

  /**
   * Counts the gap of the overruns seen since the last report. The kernel
   * drops until our queue has run empty, so the count is final only then;
   * `final` (closing) takes what the kernel has dropped so far.
   */
  private settle(final: boolean): void {
    if (this.drops === undefined && this.unsettled === 0) return;
    const now = this.transport.receiveQueue?.();
    if (!final && now && now.queued > 0) return;
    // The counter is a u32 in the kernel: differences wrap.
    const count = now && this.drops !== undefined ? (now.drops - this.drops) >>> 0 : undefined;
    if (now) this.drops = now.drops;
    if (this.unsettled === 0 && !count) return;
    const lost: EventsLost = { type: 'lost', overruns: this.unsettled, count };
    this.unsettled = 0;
    this.lostCount += count ?? 0;
    this.deliver(lost);
  }

  /** An iteration throws the error; without one it goes to 'error' (which throws when nobody listens, as in Node). */
  private fail(err: NetlinkError): void {
    this.failure = err;
    if (this.listenerCount('error') > 0 || !this.iterating) this.emit('error', err);
    this.close();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/** Whether a stream item reports lost events. */
export function isLost(item: unknown): item is EventsLost {
  return typeof item === 'object' && item !== null && (item as { type?: unknown }).type === 'lost';
}
