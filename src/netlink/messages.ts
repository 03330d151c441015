import { readU16LE, readU32LE } from './bytes';
import { NLMSG_HDRLEN } from './constants';
import { ProtocolError } from './errors';

/**
 * A forward-only cursor over the netlink messages of one datagram.
 *
 * ```
 *  0        4        6         8        12       16
 *  +--------+--------+---------+--------+--------+-----------------+
 *  | len    | type   | flags   | seq    | pid    | payload ...     |
 *  +--------+--------+---------+--------+--------+-----------------+
 *  (all little-endian host order)
 * ```
 *
 * The fields describe the current message; nothing is allocated per message,
 * so a consumer that needs a message after the next `next()` must copy it.
 */
export class MessageCursor {
  type = 0;
  flags = 0;
  seq = 0;
  pid = 0;
  /** Offset of the nlmsghdr. */
  start = 0;
  /** Offset of the payload (after the 16-byte header). */
  payload = 0;
  /** End of this message (start + nlmsg_len). */
  end = 0;
  private pos = 0;

  constructor(
    readonly buf: Buffer,
    private readonly length: number,
  ) {}

  next(): boolean {
    const pos = this.pos;
    if (pos >= this.length) return false;
    const remaining = this.length - pos;
    if (remaining < NLMSG_HDRLEN) {
      throw new ProtocolError(`${remaining} stray bytes after the last netlink message`);
    }
    const buf = this.buf;
    const len = readU32LE(buf, pos);
    if (len < NLMSG_HDRLEN || len > remaining) {
      throw new ProtocolError(`netlink message length ${len} at offset ${pos} (datagram has ${remaining} bytes left)`);
    }
    this.type = readU16LE(buf, pos + 4);
    this.flags = readU16LE(buf, pos + 6);
    this.seq = readU32LE(buf, pos + 8);
    this.pid = readU32LE(buf, pos + 12);
    this.start = pos;
    this.payload = pos + NLMSG_HDRLEN;
    this.end = pos + len;
    this.pos = Math.min(pos + ((len + 3) & ~3), this.length);
    return true;
  }
}
