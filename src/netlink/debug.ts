import { NLA_F_NESTED, NLA_HDRLEN } from './constants';
import { MessageCursor } from './messages';

/** `NFCT_DEBUG=1` prints every message sent and received, decoded, to stderr. */
export const debugEnabled = process.env['NFCT_DEBUG'] === '1';

/**
 * Writes one line per message and an indented attribute tree. Nesting is
 * recognised by NLA_F_NESTED, which the kernel sets on every nest it sends
 * and our writer sets on every nest it builds.
 */
export function debugMessages(direction: '>' | '<', buffers: Buffer[], familyHeaderLength: number): void {
  let out = '';
  for (const buf of buffers) {
    try {
      const m = new MessageCursor(buf, buf.length);
      while (m.next()) {
        out += `${direction} len=${m.end - m.start} type=0x${m.type.toString(16)} flags=0x${m.flags.toString(16)} seq=${m.seq} pid=${m.pid}`;
        const attrs = m.payload + familyHeaderLength;
        if (m.type >= 0x10 && attrs <= m.end) {
          out += ` family=${buf.toString('hex', m.payload, attrs)}\n`;
          out += tree(buf, attrs, m.end, '    ');
        } else {
          out += ` payload=${buf.toString('hex', m.payload, Math.min(m.end, m.payload + 64))}\n`;
        }
      }
    } catch (err) {
      out += `${direction} undecodable datagram (${(err as Error).message}): ${buf.toString('hex')}\n`;
    }
  }
  process.stderr.write(out);
}

function tree(buf: Buffer, start: number, end: number, indent: string): string {
  let out = '';
  let pos = start;
  while (pos + NLA_HDRLEN <= end) {
    const len = buf.readUInt16LE(pos);
    const rawType = buf.readUInt16LE(pos + 2);
    if (len < NLA_HDRLEN || pos + len > end) {
      return out + `${indent}bad attribute length ${len}\n`;
    }
    const type = rawType & 0x3fff;
    if (rawType & NLA_F_NESTED) {
      out += `${indent}[${type}] nested\n` + tree(buf, pos + NLA_HDRLEN, pos + len, indent + '  ');
    } else {
      out += `${indent}[${type}] ${buf.toString('hex', pos + NLA_HDRLEN, pos + len)}\n`;
    }
    pos += (len + 3) & ~3;
  }
  return out;
}
