/**
 * Sync messages as values, and their bytes.
 *
 * `encodeMessage` writes one message exactly as 1.4.7 does; `readFrames`
 * cuts a datagram (or a reassembled TCP stream) into messages with 1.4.7's
 * framing checks; `decodeBody` turns a data message's attributes into a
 * flow or an expectation. The replication state machines look at headers
 * first (sequence tracking happens before the body is decoded, as in 1.4.7,
 * so a message with a bad body still counts as received).
 */
import type { Expectation } from '../../ctnetlink/expect';
import type { Flow } from '../../ctnetlink/flow';
import { readU16BE } from '../../netlink/bytes';
import { AttrWriter, FLOW_ATTR_SIZES, walkAttributes } from './attributes';
import { SyncDecodeError, SyncEncodeError, type RejectReason } from './errors';
import { decodeExpectAttributes, encodeExpectAttributes } from './expect-attributes';
import { decodeFlowAttributes, encodeFlowAttributes, type FlowEncodeOptions } from './flow-attributes';
import {
  CONTROL_HEADER_SIZE,
  HEADER_SIZE,
  MessageFlag,
  MessageType,
  PROTOCOL_VERSION,
  hasRange,
  readHeader,
  writeHeader,
  type Header,
} from './header';

/** What happened to a flow: the type of its message. */
export type FlowOp = MessageType.CT_NEW | MessageType.CT_UPD | MessageType.CT_DEL;
export type ExpectOp = MessageType.EXP_NEW | MessageType.EXP_UPD | MessageType.EXP_DEL;

/** A flow change (CT_NEW, CT_UPD, CT_DEL); `flags` may carry HELLO / HELLO_BACK. */
export interface FlowMessage {
  type: FlowOp;
  flags: number;
  seq: number;
  flow: Flow;
}

/** An expectation change (EXP_NEW, EXP_UPD, EXP_DEL). */
export interface ExpectMessage {
  type: ExpectOp;
  flags: number;
  seq: number;
  expectation: Expectation;
}

/**
 * A control message: ACK / NACK [from, to], RESYNC (from = to = 0), or
 * ALIVE (8 bytes: no range on the wire, from = to = 0 here).
 */
export interface ControlMessage {
  type: MessageType.CTL;
  flags: number;
  seq: number;
  from: number;
  to: number;
}

export type DataMessage = FlowMessage | ExpectMessage;
export type SyncMessage = DataMessage | ControlMessage;

export interface EncodeOptions extends FlowEncodeOptions {}

/** The bytes of `msg`. @throws SyncEncodeError when the body cannot be carried. */
export function encodeMessage(msg: SyncMessage, opts: EncodeOptions = {}): Buffer {
  if (msg.type !== MessageType.CTL) {
    return encodeData(msg.type, msg.flags, msg.seq, (w) => ('flow' in msg ? encodeFlowAttributes(w, msg.flow, opts) : encodeExpectAttributes(w, msg.expectation, opts)));
  }
  const out = Buffer.alloc(hasRange(msg) ? CONTROL_HEADER_SIZE : HEADER_SIZE);
  writeHeader(out, 0, { type: msg.type, flags: msg.flags, len: out.length, seq: msg.seq, from: msg.from, to: msg.to });
  return out;
}

/**
 * The bytes of a data message of `type` whose attributes `write` appends
 * (a decoded flow's, an expectation's, or the daemon's own from the kernel's bytes).
 * @throws SyncEncodeError when the body cannot be carried.
 */
export function encodeData(type: MessageType, flags: number, seq: number, write: (w: AttrWriter) => void): Buffer {
  const w = new AttrWriter(HEADER_SIZE);
  write(w);
  const out = w.finish();
  if (out.length > 0xffff) throw new SyncEncodeError(`message of ${out.length} bytes`);
  writeHeader(out, 0, { type, flags, len: out.length, seq });
  return out;
}

/** One message cut out of a datagram: its header and where its bytes are. */
export interface Frame {
  header: Header;
  /** The datagram; the message is `buf[start, start + header.len)`. */
  buf: Buffer;
  start: number;
}

/** The messages of a datagram, and why the rest of it (if any) was dropped. */
export interface FrameSplit {
  frames: Frame[];
  /** Offset of the first byte not consumed (the datagram's length when all went well). */
  end: number;
  /** Why reading stopped before the end: a truncated message or an impossible length. */
  stop?: Extract<RejectReason, 'truncated' | 'bad-size'>;
}

/**
 * Cuts `buf[start, end)` into messages as 1.4.7's receiver does: a header
 * must fit (8 bytes; 16 for ACK/NACK/RESYNC), `len` must be at least the
 * header and no more than what remains. The first violation drops the rest:
 * `stop` says why and `end` where (a TCP reader keeps a truncated tail for
 * the next read).
 */
export function readFrames(buf: Buffer, start = 0, end = buf.length): FrameSplit {
  const frames: Frame[] = [];
  const c = new FrameCursor().reset(buf, start, end);
  while (c.next()) frames.push({ header: { ...c.header }, buf, start: c.start });
  return c.stop ? { frames, end: c.end, stop: c.stop } : { frames, end: c.end };
}

/**
 * readFrames() one message at a time, the frame being the cursor itself
 * (its header read into one object, reused): a receiver applies a message
 * before it reads the next, and a Frame and a Header per message were
 * most of what a received datagram allocated.
 */
export class FrameCursor implements Frame {
  readonly header: Header = { version: 0, type: 0, flags: 0, len: 0, seq: 0, from: undefined, to: undefined };
  buf: Buffer = Buffer.alloc(0);
  /** Where the current message starts. */
  start = 0;
  /** Where the next one starts; once next() is false, the first byte not consumed. */
  end = 0;
  private limit = 0;
  /** Why the last next() stopped before the end, as FrameSplit's `stop`. */
  stop: FrameSplit['stop'] = undefined;

  reset(buf: Buffer, start = 0, end = buf.length): this {
    this.buf = buf;
    this.end = start;
    this.limit = end;
    this.stop = undefined;
    return this;
  }

  /** Moves to the next message; false at the end or at the first violation (`stop`). */
  next(): boolean {
    const { buf, end: off } = this;
    const remain = this.limit - off;
    if (remain <= 0) return false;
    if (remain < HEADER_SIZE) return this.halt('truncated');
    const len = readU16BE(buf, off + 2);
    if (len === 0) return this.halt('bad-size');
    if (len > remain) return this.halt('truncated');
    const ranged = hasRange({ type: buf[off]! & 0x0f, flags: buf[off + 1]! });
    if (ranged && remain < CONTROL_HEADER_SIZE) return this.halt('truncated');
    if (len < (ranged ? CONTROL_HEADER_SIZE : HEADER_SIZE)) return this.halt('bad-size');
    readHeader(buf, off, this.header);
    this.start = off;
    this.end = off + len;
    return true;
  }

  private halt(stop: NonNullable<FrameSplit['stop']>): false {
    this.stop = stop;
    return false;
  }
}

/**
 * The typed message of a frame, for anyone who wants the whole message
 * (tests, the debug decoder); the state machines go through the header
 * first and call receiveBody after their sequence checks.
 * @throws SyncDecodeError: bad-version, bad-type (a data type above 5),
 * bad-header (a data type with control flags), bad-payload.
 */
export function decodeFrame(frame: Frame): SyncMessage {
  const h = frame.header;
  if (h.version !== PROTOCOL_VERSION) throw new SyncDecodeError('bad-version', `version ${h.version}`);
  if (h.type === MessageType.CTL) {
    return { type: MessageType.CTL, flags: h.flags, seq: h.seq, from: h.from ?? 0, to: h.to ?? 0 };
  }
  if ((h.flags & ~(MessageFlag.HELLO | MessageFlag.HELLO_BACK)) !== 0) throw new SyncDecodeError('bad-header', `type ${h.type} with flags ${h.flags}`);
  return decodeBody(frame);
}

/**
 * A received flow message whose attributes were checked and are decoded
 * only when its flow is asked for: the external cache keeps the attribute
 * bytes themselves, so a burst's messages are never decoded at all.
 */
export class ReceivedFlowMessage implements FlowMessage {
  private decoded: Flow | undefined;

  constructor(
    readonly type: FlowOp,
    readonly flags: number,
    readonly seq: number,
    /** The attributes are `buf[start, end)`. */
    readonly buf: Buffer,
    readonly start: number,
    readonly end: number,
  ) {}

  get flow(): Flow {
    return (this.decoded ??= decodeFlowAttributes(this.buf, this.start, this.end));
  }

  /** The same message over a copy of its own bytes, for keeping: this one holds its whole datagram. */
  detached(): ReceivedFlowMessage {
    return new ReceivedFlowMessage(this.type, this.flags, this.seq, Buffer.from(this.buf.subarray(this.start, this.end)), 0, this.end - this.start);
  }
}

/**
 * The message of a data frame as the state machines apply it: a flow
 * message is checked (1.4.7's attribute rules) but left undecoded.
 * @throws SyncDecodeError as decodeBody.
 */
export function receiveBody(frame: Frame): DataMessage {
  const { header: h, buf, start } = frame;
  if (h.type !== MessageType.CT_NEW && h.type !== MessageType.CT_UPD && h.type !== MessageType.CT_DEL) return decodeBody(frame);
  const from = start + HEADER_SIZE;
  const end = start + h.len;
  walkAttributes(buf, from, end, FLOW_ATTR_SIZES, ignore);
  return new ReceivedFlowMessage(h.type, h.flags, h.seq, buf, from, end);
}

function ignore(): void {}

/**
 * The flow or expectation a data frame carries.
 * @throws SyncDecodeError('bad-type') for a type above 5, ('bad-payload') for bad attributes.
 */
export function decodeBody(frame: Frame): DataMessage {
  const { header: h, buf, start } = frame;
  const from = start + HEADER_SIZE;
  const end = start + h.len;
  switch (h.type) {
    case MessageType.CT_NEW:
    case MessageType.CT_UPD:
    case MessageType.CT_DEL:
      return { type: h.type, flags: h.flags, seq: h.seq, flow: decodeFlowAttributes(buf, from, end) };
    case MessageType.EXP_NEW:
    case MessageType.EXP_UPD:
    case MessageType.EXP_DEL:
      return { type: h.type, flags: h.flags, seq: h.seq, expectation: decodeExpectAttributes(buf, from, end) };
    default:
      throw new SyncDecodeError('bad-type', `message type ${h.type}`);
  }
}
