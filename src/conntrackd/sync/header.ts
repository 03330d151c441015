/**
 * The header every sync message starts with, as conntrackd 1.4.7 puts it on
 * the wire (all multi-byte fields big-endian):
 *
 * ```
 *  0       1       2       3       4               8               12              16
 * +-------+-------+-------+-------+---------------+---------------+---------------+
 * |ver|typ| flags |      len      |      seq      |     from      |      to       |
 * +-------+-------+-------+-------+---------------+---------------+---------------+
 *  \____ every message (8 bytes) _______________/ \__ ACK, NACK, RESYNC only ___/
 * ```
 *
 * Byte 0 holds the protocol version in its high nibble and the message type
 * in its low nibble (1.4.7 declares them as C bit-fields; this is the layout
 * x86 builds emit, and x86 is what peers run). `len` covers the whole
 * message, header included; attributes follow the header of data messages.
 */
import { readU16BE, readU32BE, writeU16BE, writeU32BE } from '../../netlink/bytes';

/** The only version 1.4.7 speaks and accepts. */
export const PROTOCOL_VERSION = 1;
/** Header of data messages and ALIVE. */
export const HEADER_SIZE = 8;
/** Header of ACK, NACK and RESYNC (with `from` and `to`). */
export const CONTROL_HEADER_SIZE = 16;

/** The low nibble of byte 0. */
export const enum MessageType {
  CT_NEW = 0, // NET_T_STATE_CT_NEW
  CT_UPD = 1, // NET_T_STATE_CT_UPD
  CT_DEL = 2, // NET_T_STATE_CT_DEL
  EXP_NEW = 3, // NET_T_STATE_EXP_NEW
  EXP_UPD = 4, // NET_T_STATE_EXP_UPD
  EXP_DEL = 5, // NET_T_STATE_EXP_DEL
  CTL = 10, // NET_T_CTL
}

/** The highest data message type. */
export const MAX_DATA_TYPE = 5;

/** Bits of byte 1. */
export const enum MessageFlag {
  RESYNC = 0x02, // NET_F_RESYNC
  NACK = 0x04, // NET_F_NACK
  ACK = 0x08, // NET_F_ACK
  ALIVE = 0x10, // NET_F_ALIVE
  HELLO = 0x20, // NET_F_HELLO
  HELLO_BACK = 0x40, // NET_F_HELLO_BACK
}

/** The flags a data message may carry (the handshake rides on any message). */
export const HELLO_FLAGS = MessageFlag.HELLO | MessageFlag.HELLO_BACK;
/** The flags that make a control message 16 bytes long. */
export const RANGE_FLAGS = MessageFlag.ACK | MessageFlag.NACK | MessageFlag.RESYNC;

/** A message header as read from the wire, nothing judged yet. */
export interface Header {
  version: number;
  type: number;
  flags: number;
  /** Total length of the message in bytes. */
  len: number;
  seq: number;
  /** ACK, NACK and RESYNC only: the sequence range they are about. */
  from?: number;
  to?: number;
}

/** Data (a flow or expectation change): types 0–5 and no flag but the handshake's. */
export function isData(h: Pick<Header, 'type' | 'flags'>): boolean {
  return h.type <= MAX_DATA_TYPE && (h.flags & ~HELLO_FLAGS) === 0;
}

/** A control message carrying `flag` (one of ACK, NACK, RESYNC, ALIVE). */
export function isControl(h: Pick<Header, 'type' | 'flags'>, flag: MessageFlag): boolean {
  return h.type === MessageType.CTL && (h.flags & flag) !== 0;
}

/** Whether the header is the 16-byte form: a control message with ACK, NACK or RESYNC. */
export function hasRange(h: Pick<Header, 'type' | 'flags'>): boolean {
  return h.type === MessageType.CTL && (h.flags & RANGE_FLAGS) !== 0;
}

/**
 * Reads the header at `off` into `h` (a new one when not given: a receiver
 * reuses one for every message); the caller has checked that `hasRange`
 * bytes are there.
 */
export function readHeader(buf: Buffer, off: number, h: Header = { version: 0, type: 0, flags: 0, len: 0, seq: 0 }): Header {
  h.version = buf[off]! >> 4;
  h.type = buf[off]! & 0x0f;
  h.flags = buf[off + 1]!;
  h.len = readU16BE(buf, off + 2);
  h.seq = readU32BE(buf, off + 4);
  const ranged = hasRange(h);
  h.from = ranged ? readU32BE(buf, off + 8) : undefined;
  h.to = ranged ? readU32BE(buf, off + 12) : undefined;
  return h;
}

/** Writes a version-1 header at `off`; `from`/`to` only when the header has a range. */
export function writeHeader(buf: Buffer, off: number, h: Omit<Header, 'version'>): void {
  buf[off] = (PROTOCOL_VERSION << 4) | (h.type & 0x0f);
  buf[off + 1] = h.flags;
  writeU16BE(buf, off + 2, h.len);
  writeU32BE(buf, off + 4, h.seq);
  if (hasRange(h)) {
    writeU32BE(buf, off + 8, h.from ?? 0);
    writeU32BE(buf, off + 12, h.to ?? 0);
  }
}
