import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import type { MessageCursor } from '../netlink/messages';
import { type ConntrackEvent, decodeEvent, EventMask, eventType, type EventType } from '../ctnetlink/event';
import { NFGENMSG_LEN } from '../nfnetlink/header';
import { compileEventFilter } from '../ctnetlink/filter-bpf';
import { compileFilter } from '../ctnetlink/filter-match';
import { ProtocolError } from '../netlink/errors';
import { EventStream, type EventStreamOptions } from './event-stream';
import { toFilter, type FlowFilterInput } from './input';

export interface EventOptions extends Omit<EventStreamOptions, 'kernelFilter' | 'netns'> {
  /** Which kinds (EventMask bits); default all. `conntrack -e`. */
  mask?: number;
  /**
   * Only events whose entry passes, with the meaning of dumps (1.4.7's
   * filters); `filter.family` selects by the event's nfgen_family.
   */
  filter?: FlowFilterInput;
  /**
   * Let the kernel drop non-matching events before they are queued (a BPF
   * socket filter compiled from `filter`); default true. The result is the
   * same either way: every event is re-checked in userspace.
   */
  kernelFilter?: boolean;
  /** Receive buffer to ask for; default defaultEventBufferSize(). `conntrack -b`. */
  bufferSize?: number;
}

/**
 * What the kernel charges a queued conntrack event against the receive
 * buffer (skb truesize): measured 1280 bytes on Linux 6.18 for IPv4/IPv6
 * entries with NAT and marks.
 */
const EVENT_TRUESIZE = 1280;
/** A stalled listener may pin at most this share of the machine's memory in its socket buffer. */
const MEMORY_SHARE = 16;
/** SO_RCVBUF takes an int, which the kernel doubles: the largest request. */
const MAX_REQUEST = 0x3fffffff;
const DEFAULT_CONNTRACK_MAX = 262144;

/**
 * The receive buffer an event listener asks for by default: room for one
 * DESTROY event per entry the table can hold (nf_conntrack_max), so that
 * the largest burst there is — flushing a full table — fits even if the
 * listener reads nothing until it is over; capped at 1/16 of the memory, so
 * a stalled listener cannot pin more. The kernel only charges what is
 * queued, and doubles the request for its bookkeeping, so half of it is
 * asked for. With nf_conntrack_max = 1M or more on a 24 GiB machine this is
 * 768 MiB, 1.5 GiB in effect: a listener that fell behind by 1.2 million
 * events still loses none. 1.4.7 leaves the kernel's default (208 KiB, about
 * 160 events) and loses most of a large flush.
 */
export function defaultEventBufferSize(): number {
  const wanted = Math.min(conntrackMax() * EVENT_TRUESIZE, totalmem() / MEMORY_SHARE);
  return Math.min(Math.floor(wanted / 2), MAX_REQUEST);
}

/** nf_conntrack_max: host-wide, readable in every namespace. */
function conntrackMax(): number {
  try {
    const max = Number.parseInt(readFileSync('/proc/sys/net/netfilter/nf_conntrack_max', 'utf8'), 10);
    return max > 0 ? max : DEFAULT_CONNTRACK_MAX;
  } catch {
    return DEFAULT_CONNTRACK_MAX;
  }
}

/**
 * Conntrack events of a namespace (`conntrack -E`) with no silent loss: a
 * large receive buffer, a kernel filter where the filter allows one, and
 * EventsLost items with the kernel's count where it had to drop.
 * A malformed event is skipped, as 1.4.7 does.
 */
export function conntrackEvents(options: EventOptions & { netns?: string } = {}): EventStream<ConntrackEvent> {
  const filter = toFilter(options.filter ?? {});
  const match = compileFilter(filter);
  const kernelFilter = options.kernelFilter === false ? undefined : compileEventFilter(filter);
  const decode = (m: MessageCursor): ConntrackEvent | undefined => {
    let event: ConntrackEvent | undefined;
    try {
      event = decodeEvent(m);
    } catch (err) {
      if (err instanceof ProtocolError) return undefined;
      throw err;
    }
    return event && match(event.flow) ? event : undefined;
  };
  return EventStream.open((options.mask ?? EventMask.ALL) & EventMask.ALL, decode, {
    netns: options.netns,
    bufferSize: options.bufferSize ?? defaultEventBufferSize(),
    reliable: options.reliable,
    kernelFilter,
    signal: options.signal,
  });
}

/**
 * A conntrack event as the kernel sent it, undecoded: for listeners that keep
 * many entries (a daemon's cache) and store the attributes rather than a
 * decoded Flow. `attributes` is a copy, the listener's to keep, unless the
 * stream is `transient` (RawEventOptions).
 */
export interface RawConntrackEvent {
  type: EventType;
  /** Port id of the socket whose request caused it; 0 = the kernel (see ConntrackEvent.portid). */
  portid: number;
  /** nfgen_family of the message. */
  family: number;
  /** The CTA_* attributes after the nfgenmsg (decodeFlow(attributes, 0, length, family), or WireEntry.set). */
  readonly attributes: Buffer;
  /**
   * Where the same attributes lie, `buf[start, end)`: for readers that
   * index them in place (WireEntry.set(buf, start, end, family)) without
   * making a Buffer view of them, which costs more than a small event's
   * reading.
   */
  buf: Buffer;
  start: number;
  end: number;
}

/**
 * The one event a transient stream hands its listeners, set anew for each:
 * neither it nor a view of the attributes is made per event (`attributes`
 * makes the view when asked).
 */
class LentEvent implements RawConntrackEvent {
  type: EventType = 'new';
  portid = 0;
  family = 0;
  buf: Buffer = Buffer.alloc(0);
  start = 0;
  end = 0;

  get attributes(): Buffer {
    return this.buf.subarray(this.start, this.end);
  }
}

/** An event over a copy of `buf[start, end)`, the holder's to keep. */
function ownedEvent(type: EventType, portid: number, family: number, buf: Buffer, start: number, end: number): RawConntrackEvent {
  const attributes = Buffer.allocUnsafe(end - start);
  buf.copy(attributes, 0, start, end);
  return { type, portid, family, attributes, buf: attributes, start: 0, end: attributes.length };
}

export interface RawEventOptions extends Omit<EventStreamOptions, 'netns'> {
  /** Which kinds (EventMask bits); default all. */
  mask?: number;
  /**
   * The event an 'event' listener gets, and the attributes in it, are valid
   * only until the listener returns: one event object is reused and its
   * attributes lie in the receive buffer, no copy and no allocation per
   * event, for listeners that take what they need at once (a daemon's
   * cache, a tally). Events kept for an iteration (`for await`), or
   * received before any listener, are copies still.
   */
  transient?: boolean;
}

/**
 * Conntrack events undecoded and unfiltered in userspace (`options.kernelFilter`
 * may still narrow them in the kernel). Unlike conntrackEvents() the receive
 * buffer defaults to the kernel's default, as conntrackd 1.4.7 leaves it.
 */
export function rawConntrackEvents(options: RawEventOptions & { netns?: string } = {}): EventStream<RawConntrackEvent> {
  const { mask, transient, ...stream } = options;
  const lent = transient ? new LentEvent() : undefined;
  const decode = (m: MessageCursor): RawConntrackEvent | undefined => {
    const type = eventType(m);
    if (type === undefined || m.end - m.payload < NFGENMSG_LEN) return undefined;
    const start = m.payload + NFGENMSG_LEN;
    if (!lent) return ownedEvent(type, m.pid, m.buf[m.payload]!, m.buf, start, m.end);
    lent.type = type;
    lent.portid = m.pid;
    lent.family = m.buf[m.payload]!;
    lent.buf = m.buf;
    lent.start = start;
    lent.end = m.end;
    return lent;
  };
  const keep = transient ? (e: RawConntrackEvent): RawConntrackEvent => ownedEvent(e.type, e.portid, e.family, e.buf, e.start, e.end) : undefined;
  return EventStream.open((mask ?? EventMask.ALL) & EventMask.ALL, decode, stream, keep);
}
