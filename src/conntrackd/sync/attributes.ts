/**
 * The attributes (TLVs) after the header of a data message:
 *
 * ```
 *  0       2       4                 4+n      align4(4+n)
 * +-------+-------+-----------------+--------+
 * |nta_len|nta_typ| payload (n)     | 0 pad  |  next attribute …
 * +-------+-------+-----------------+--------+
 * ```
 *
 * `nta_len` (big-endian) is 4 + n, not padded; the next attribute starts at
 * the 4-byte aligned offset. Flow messages and expectation messages number
 * their attributes separately (`FlowAttr`, `ExpectAttr`).
 */
import { readU16BE, writeU16BE, writeU32BE } from '../../netlink/bytes';
import { SyncDecodeError } from './errors';

/** Attributes of flow messages (CT_NEW, CT_UPD, CT_DEL). */
export const enum FlowAttr {
  IPV4 = 0, // NTA_IPV4: orig src, orig dst
  IPV6 = 1, // NTA_IPV6
  L4PROTO = 2, // NTA_L4PROTO
  PORT = 3, // NTA_PORT: orig sport, dport (big-endian)
  TCP_STATE = 4, // NTA_TCP_STATE
  STATUS = 5, // NTA_STATUS
  TIMEOUT = 6, // NTA_TIMEOUT
  MARK = 7, // NTA_MARK
  MASTER_IPV4 = 8, // NTA_MASTER_IPV4
  MASTER_IPV6 = 9, // NTA_MASTER_IPV6
  MASTER_L4PROTO = 10, // NTA_MASTER_L4PROTO
  MASTER_PORT = 11, // NTA_MASTER_PORT
  SNAT_IPV4 = 12, // NTA_SNAT_IPV4: reply dst
  DNAT_IPV4 = 13, // NTA_DNAT_IPV4: reply src
  SPAT_PORT = 14, // NTA_SPAT_PORT: reply dport, little-endian
  DPAT_PORT = 15, // NTA_DPAT_PORT: reply sport, little-endian
  NAT_SEQ_ADJ = 16, // NTA_NAT_SEQ_ADJ
  SCTP_STATE = 17, // NTA_SCTP_STATE
  SCTP_VTAG_ORIG = 18, // NTA_SCTP_VTAG_ORIG
  SCTP_VTAG_REPL = 19, // NTA_SCTP_VTAG_REPL
  DCCP_STATE = 20, // NTA_DCCP_STATE
  DCCP_ROLE = 21, // NTA_DCCP_ROLE
  ICMP_TYPE = 22, // NTA_ICMP_TYPE
  ICMP_CODE = 23, // NTA_ICMP_CODE
  ICMP_ID = 24, // NTA_ICMP_ID: little-endian
  TCP_WSCALE_ORIG = 25, // NTA_TCP_WSCALE_ORIG
  TCP_WSCALE_REPL = 26, // NTA_TCP_WSCALE_REPL
  HELPER_NAME = 27, // NTA_HELPER_NAME: NUL-terminated
  LABELS = 28, // NTA_LABELS: big-endian 32-bit words
  SNAT_IPV6 = 29, // NTA_SNAT_IPV6
  DNAT_IPV6 = 30, // NTA_DNAT_IPV6
  SYNPROXY = 31, // NTA_SYNPROXY: its, isn, tsoff
  ZONE = 32, // NTA_ZONE: big-endian
}

/** Attributes of expectation messages (EXP_NEW, EXP_UPD, EXP_DEL). */
export const enum ExpectAttr {
  MASTER_IPV4 = 0, // NTA_EXP_MASTER_IPV4
  MASTER_IPV6 = 1, // NTA_EXP_MASTER_IPV6
  MASTER_L4PROTO = 2, // NTA_EXP_MASTER_L4PROTO
  MASTER_PORT = 3, // NTA_EXP_MASTER_PORT
  EXPECT_IPV4 = 4, // NTA_EXP_EXPECT_IPV4
  EXPECT_IPV6 = 5, // NTA_EXP_EXPECT_IPV6
  EXPECT_L4PROTO = 6, // NTA_EXP_EXPECT_L4PROTO
  EXPECT_PORT = 7, // NTA_EXP_EXPECT_PORT
  MASK_IPV4 = 8, // NTA_EXP_MASK_IPV4
  MASK_IPV6 = 9, // NTA_EXP_MASK_IPV6
  MASK_L4PROTO = 10, // NTA_EXP_MASK_L4PROTO
  MASK_PORT = 11, // NTA_EXP_MASK_PORT
  TIMEOUT = 12, // NTA_EXP_TIMEOUT
  FLAGS = 13, // NTA_EXP_FLAGS
  CLASS = 14, // NTA_EXP_CLASS
  NAT_IPV4 = 15, // NTA_EXP_NAT_IPV4
  NAT_PORT = 16, // NTA_EXP_NAT_PORT: little-endian, like SPAT_PORT
  NAT_L4PROTO = 17, // NTA_EXP_NAT_L4PROTO
  NAT_DIR = 18, // NTA_EXP_NAT_DIR
  HELPER_NAME = 19, // NTA_EXP_HELPER_NAME
  FN = 20, // NTA_EXP_FN
}

/**
 * What the receiver accepts for one attribute id: a positive number is the
 * exact payload size of a fixed attribute, a negative one the largest
 * `nta_len` (header included) of a variable one.
 */
export type AttrSizes = readonly number[];

/** Flow attribute sizes, indexed by `FlowAttr`; 1.4.7 rejects a message with any other size. */
export const FLOW_ATTR_SIZES: AttrSizes = [
  8, 32, 1, 4, 1, 4, 4, 4, 8, 32, 1, 4, 4, 4, 2, 2, 24, 1, 4, 4, 1, 1, 1, 1, 2, 1, 1,
  -16, // HELPER_NAME: names up to 11 characters and the NUL
  -(4 + 1024), // LABELS
  16, 16, 12, 2,
];

/** Expectation attribute sizes, indexed by `ExpectAttr`. */
export const EXPECT_ATTR_SIZES: AttrSizes = [8, 32, 1, 4, 8, 32, 1, 4, 8, 32, 1, 4, 4, 4, 4, 4, 2, 1, 4, -16, -32];

/** ATTR_HEADER_SIZE + n rounded up to 4. */
export function align4(n: number): number {
  return (n + 3) & ~3;
}

export const ATTR_HEADER_SIZE = 4;

/**
 * Calls `visit(type, payloadStart, payloadLength)` for every attribute of
 * `buf[start, end)`, in wire order, after checking it as 1.4.7 does: while
 * more than 4 bytes remain, `nta_len` must be at least 4 and fit, the id
 * must be in the table, and the size must be the table's. A trailing
 * remainder of 4 bytes or fewer is ignored, as 1.4.7 ignores it.
 *
 * @throws SyncDecodeError('bad-payload') on any violation; nothing is visited after it.
 */
export function walkAttributes(
  buf: Buffer,
  start: number,
  end: number,
  sizes: AttrSizes,
  visit: (type: number, at: number, length: number) => void,
): void {
  let off = start;
  while (end - off > ATTR_HEADER_SIZE) {
    // Read byte by byte: every received message is walked twice (its check
    // and its key), and readUInt16BE's range check and call cost more.
    const len = readU16BE(buf, off);
    const type = readU16BE(buf, off + 2);
    if (len < ATTR_HEADER_SIZE || len > end - off) throw new SyncDecodeError('bad-payload', `attribute length ${len} at offset ${off}`);
    const size = sizes[type];
    if (size === undefined) throw new SyncDecodeError('bad-payload', `attribute type ${type} out of range`);
    if (size > 0 ? len !== ATTR_HEADER_SIZE + size : len > -size) {
      throw new SyncDecodeError('bad-payload', `attribute type ${type} with length ${len}`);
    }
    visit(type, off + ATTR_HEADER_SIZE, len - ATTR_HEADER_SIZE);
    off += align4(len);
  }
}

/**
 * Appends attributes to a growing buffer. The buffer is one scratch area
 * shared by every writer (a message is written whole before the next one
 * starts) and finish() copies the message out of it: a burst encodes
 * hundreds of thousands of messages, and a zeroed buffer of its own for
 * each was most of the sender's garbage. A datagram packer (batch.ts)
 * gives its writer a buffer of its own instead and takes the bytes where
 * they lie. Padding is zeroed by put(), as the buffer holds earlier bytes.
 */
export class AttrWriter {
  private static scratch = Buffer.alloc(1024);
  private buf: Buffer;
  private len: number;
  /** Writes into a buffer of its own (a datagram packer's), not the shared scratch. */
  private readonly own: boolean;

  /** `reserve` bytes at the start stay free for the header; `own`: a buffer to write into instead of the shared scratch. */
  constructor(reserve: number, own?: Buffer) {
    this.own = own !== undefined;
    if (own === undefined && AttrWriter.scratch.length < reserve) AttrWriter.scratch = Buffer.alloc(2 * reserve);
    this.buf = own ?? AttrWriter.scratch;
    this.len = reserve;
  }

  /** The bytes written are `buffer[0, length)`; a write may move them to a bigger buffer. */
  get buffer(): Buffer {
    return this.buf;
  }

  get length(): number {
    return this.len;
  }

  /** Forgets what was written after the first `length` bytes. */
  truncate(length: number): void {
    this.len = Math.min(length, this.len);
  }

  /** Leaves `n` bytes for the caller to fill (a header); they hold whatever was there. */
  skip(n: number): void {
    if (this.len + n > this.buf.length) this.grow(this.len + n);
    this.len += n;
  }

  /**
   * Adds an attribute with an `n`-byte payload and returns the payload's
   * offset for the caller to fill. Bytes are stored one by one here and in
   * the helpers below: a bulk send writes millions of attributes, and
   * Buffer's writeUInt16BE and fill() calls (a range check and a builtin
   * call each) were a fifth of its encoding.
   */
  put(type: number, n: number): number {
    const len = this.len;
    const need = len + align4(ATTR_HEADER_SIZE + n);
    if (need > this.buf.length) this.grow(need);
    const buf = this.buf;
    const size = ATTR_HEADER_SIZE + n;
    writeU16BE(buf, len, size);
    writeU16BE(buf, len + 2, type);
    for (let i = len + size; i < need; i++) buf[i] = 0;
    this.len = need;
    return len + ATTR_HEADER_SIZE;
  }

  // Every helper calls put() before touching this.buf: put() may replace it.

  u8(type: number, v: number): void {
    const at = this.put(type, 1);
    this.buf[at] = v;
  }

  u16be(type: number, v: number): void {
    writeU16BE(this.buf, this.put(type, 2), v);
  }

  /** The byte-swapped 16-bit fields of 1.4.7 (ICMP_ID, SPAT_PORT, DPAT_PORT). */
  u16le(type: number, v: number): void {
    const at = this.put(type, 2);
    this.buf[at] = v & 0xff;
    this.buf[at + 1] = (v >>> 8) & 0xff;
  }

  /** Two big-endian 16-bit values: a port pair. */
  u16pair(type: number, a: number, b: number): void {
    const at = this.put(type, 4);
    writeU16BE(this.buf, at, a);
    writeU16BE(this.buf, at + 2, b);
  }

  u32(type: number, v: number): void {
    this.setU32(this.put(type, 4), v);
  }

  /** Big-endian 32-bit words, in order. */
  u32s(type: number, vs: readonly number[]): void {
    const at = this.put(type, 4 * vs.length);
    vs.forEach((v, i) => this.setU32(at + 4 * i, v));
  }

  bytes(type: number, ...parts: Uint8Array[]): void {
    let at = this.put(type, parts.reduce((n, p) => n + p.length, 0));
    for (const p of parts) {
      this.buf.set(p, at);
      at += p.length;
    }
  }

  /** A NUL-terminated string. */
  string(type: number, s: string): void {
    const b = Buffer.from(s, 'latin1');
    this.bytes(type, b, new Uint8Array(1));
  }

  // Writing from the bytes of a kernel record (engine/record-sync.ts): copied
  // byte by byte: a value of at most 32 bytes costs a loop less than a Buffer#copy call.

  /** `n` bytes of `src` at `from`. */
  copy(type: number, src: Buffer, from: number, n: number): void {
    const at = this.put(type, n);
    const buf = this.buf;
    for (let i = 0; i < n; i++) buf[at + i] = src[from + i]!;
  }

  /** `n` bytes of `src` at `a`, then `n` at `b`: an address pair. */
  pair(type: number, src: Buffer, a: number, b: number, n: number): void {
    const at = this.put(type, 2 * n);
    const buf = this.buf;
    for (let i = 0; i < n; i++) {
      buf[at + i] = src[a + i]!;
      buf[at + n + i] = src[b + i]!;
    }
  }

  /** The string of at most `n` bytes of `src` at `from` (up to its NUL), NUL-terminated. */
  cString(type: number, src: Buffer, from: number, n: number): void {
    let length = 0;
    while (length < n && src[from + length] !== 0) length++;
    const at = this.put(type, length + 1);
    const buf = this.buf;
    for (let i = 0; i < length; i++) buf[at + i] = src[from + i]!;
    buf[at + length] = 0;
  }

  /** A big-endian 32-bit word in a payload put() returned. */
  setU32(at: number, v: number): void {
    writeU32BE(this.buf, at, v);
  }

  /** Attributes written before (by another writer's finish()), appended as they are. */
  raw(attributes: Buffer): void {
    const need = this.len + attributes.length;
    if (need > this.buf.length) this.grow(need);
    attributes.copy(this.buf, this.len);
    this.len = need;
  }

  private grow(need: number): void {
    const bigger = Buffer.alloc(Math.max(need, this.buf.length * 2));
    this.buf.copy(bigger, 0, 0, this.len);
    this.buf = bigger;
    if (!this.own) AttrWriter.scratch = bigger;
  }

  /** A copy of what was written, header room included (its bytes unset: the caller writes the header). */
  finish(): Buffer {
    const out = Buffer.allocUnsafe(this.len);
    this.buf.copy(out, 0, 0, this.len);
    return out;
  }
}
