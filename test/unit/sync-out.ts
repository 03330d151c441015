/**
 * Transmit rounds for tests: the messages one by one (to look at each), or
 * packed into datagrams as the daemon sends them.
 */
import { DatagramPacker, type MessageOut } from '../../src/conntrackd/sync/batch';
import type { MessageType } from '../../src/conntrackd/sync/header';
import { encodeData } from '../../src/conntrackd/sync/message';
import type { AttrWriter } from '../../src/conntrackd/sync/attributes';
import type { Replication } from '../../src/conntrackd/sync/replication';

/** Keeps every message written as a Buffer of its own. */
class MessageList implements MessageOut {
  readonly messages: Buffer[] = [];

  data(type: MessageType, flags: number, seq: number, write: (w: AttrWriter) => void): void {
    this.messages.push(encodeData(type, flags, seq, write));
  }

  encoded(message: Buffer): void {
    this.messages.push(message);
  }
}

/** The messages of one transmit round of `mode`, in order. */
export function transmitted(mode: Replication, now: number): Buffer[] {
  const out = new MessageList();
  mode.transmit(now, out);
  return out.messages;
}

/** The datagrams of one transmit round of `mode` on a link carrying `max` bytes of messages each. */
export function transmittedDatagrams(mode: Replication, now: number, max: number): Buffer[] {
  const packer = new DatagramPacker(max);
  mode.transmit(now, packer);
  return packer.take();
}
