/**
 * Several messages per datagram, as 1.4.7 sends them: messages are appended
 * to a buffer of the link's payload size and the buffer goes out when the
 * next message would not fit, and at the end of every transmit round.
 *
 * The packer is where a transmit round writes: each data message is
 * written in place, after the datagram's earlier messages, and only a
 * finished datagram is copied out. A bulk send of a million flows made a
 * Buffer of its own for every message, then copied them all again into
 * datagrams; that was a third of the sender's work.
 */
import type { ChannelKind } from '../config/config';
import { AttrWriter } from './attributes';
import { SyncEncodeError } from './errors';
import { HEADER_SIZE, writeHeader, type MessageType } from './header';

/** IPv4 + UDP headers. */
const UDP_OVERHEAD = 28;
/** IPv4 + TCP headers. */
const TCP_OVERHEAD = 40;

/** The most message bytes one datagram (or TCP segment) of a link with this MTU carries: 1472 for UDP at MTU 1500. */
export function maxBatchSize(mtu: number, kind: ChannelKind): number {
  return mtu - (kind === 'tcp' ? TCP_OVERHEAD : UDP_OVERHEAD);
}

/** Where a transmit round writes its messages, in the order they go out. */
export interface MessageOut {
  /**
   * A data message of `type` whose attributes `write` appends.
   * @throws SyncEncodeError when the body cannot be carried: nothing of the message is kept.
   */
  data(type: MessageType, flags: number, seq: number, write: (w: AttrWriter) => void): void;
  /** A message encoded already (control messages). */
  encoded(message: Buffer): void;
}

/**
 * Packs the messages written to it, in order, into as few datagrams of at
 * most `max` bytes as 1.4.7 would (greedy, order kept). A message larger
 * than `max` goes out alone rather than not at all.
 */
export class DatagramPacker implements MessageOut {
  /** Writes every message in place; its buffer holds the open datagram from offset 0. */
  private readonly w: AttrWriter;
  private readonly datagrams: Buffer[] = [];

  constructor(private readonly max: number) {
    // Room for a full datagram and the message that overflows it; a bigger message grows it.
    this.w = new AttrWriter(0, Buffer.alloc(2 * max));
  }

  data(type: MessageType, flags: number, seq: number, write: (w: AttrWriter) => void): void {
    const w = this.w;
    const start = w.length;
    w.skip(HEADER_SIZE);
    try {
      write(w);
    } catch (err) {
      w.truncate(start);
      throw err;
    }
    const len = w.length - start;
    if (len > 0xffff) {
      w.truncate(start);
      throw new SyncEncodeError(`message of ${len} bytes`);
    }
    writeHeader(w.buffer, start, { type, flags, len, seq });
    this.placed(start);
  }

  encoded(message: Buffer): void {
    const start = this.w.length;
    this.w.raw(message);
    this.placed(start);
  }

  /** The datagrams of everything written so far; the packer starts empty again. */
  take(): Buffer[] {
    if (this.w.length > 0) this.cut(this.w.length);
    return this.datagrams.splice(0);
  }

  /** The message at `start` was written: the open datagram goes out first if the message does not fit in it. */
  private placed(start: number): void {
    if (this.w.length > this.max && start > 0) this.cut(start);
  }

  /** Sends out the open datagram's bytes before `end`; what follows (a message, or nothing) opens the next one. */
  private cut(end: number): void {
    const w = this.w;
    const bytes = w.buffer;
    this.datagrams.push(Buffer.from(bytes.subarray(0, end)));
    bytes.copy(bytes, 0, end, w.length);
    w.truncate(w.length - end);
  }
}
