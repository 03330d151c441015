/**
 * Several messages per datagram, as 1.4.7 sends them: messages are appended
 * to a buffer of the link's payload size and the buffer goes out when the
 * next message would not fit, and at the end of every transmit round.
 */
import type { ChannelKind } from '../config/config';

/** IPv4 + UDP headers. */
const UDP_OVERHEAD = 28;
/** IPv4 + TCP headers. */
const TCP_OVERHEAD = 40;

/** The most message bytes one datagram (or TCP segment) of a link with this MTU carries: 1472 for UDP at MTU 1500. */
export function maxBatchSize(mtu: number, kind: ChannelKind): number {
  return mtu - (kind === 'tcp' ? TCP_OVERHEAD : UDP_OVERHEAD);
}

/**
 * Packs `messages`, in order, into as few datagrams of at most `max` bytes
 * as 1.4.7 would (greedy, order kept). A message larger than `max` goes out
 * alone rather than not at all.
 */
export function batchMessages(messages: readonly Buffer[], max: number): Buffer[] {
  const out: Buffer[] = [];
  let pending: Buffer[] = [];
  let size = 0;
  for (const m of messages) {
    if (size + m.length > max && pending.length > 0) {
      out.push(Buffer.concat(pending, size));
      pending = [];
      size = 0;
    }
    pending.push(m);
    size += m.length;
  }
  if (pending.length > 0) out.push(Buffer.concat(pending, size));
  return out;
}
