/**
 * A Conntrack whose sockets are fake kernels (the `transport` seam) and a
 * fake table to dump: for unit tests of what the library sends and when.
 */
import { Conntrack } from '../../src/api/conntrack';
import { CtMsg } from '../../src/ctnetlink/constants';
import type { Flow } from '../../src/ctnetlink/flow';
import { encodeFlow } from '../../src/ctnetlink/flow-codec';
import { MessageWriter } from '../../src/netlink/attributes';
import { MessageFlags } from '../../src/netlink/constants';
import { beginNfMessage, messageType, Subsystem } from '../../src/nfnetlink/header';
import { ackMessage, doneMessage, FakeKernel, PORTID, type Request } from './fake-kernel';

export const CT_GET = messageType(Subsystem.CTNETLINK, CtMsg.GET);

export function flow(i: number): Flow {
  return { family: 2, orig: { l3: 2, src: `10.0.${i >> 8}.${i & 255}`, dst: '10.1.0.1', proto: 17, sport: 1, dport: 2 }, reply: {} };
}

/** An IPv6 counterpart of flow(i). */
export function flow6(i: number): Flow {
  return { family: 10, orig: { l3: 10, src: `fd00::${i.toString(16)}`, dst: 'fd00::1:1', proto: 17, sport: 1, dport: 2 }, reply: {} };
}

/** One datagram of `count` dump entries answering `seq`: make(from) … make(from + count - 1). */
export function entries(seq: number, from: number, count: number, make: (i: number) => Flow = flow): Buffer {
  const messages: Buffer[] = [];
  for (let i = from; i < from + count; i++) {
    const w = new MessageWriter();
    const f = make(i);
    const start = beginNfMessage(w, Subsystem.CTNETLINK, CtMsg.NEW, MessageFlags.MULTI, seq, f.family);
    encodeFlow(w, f);
    w.endMessage(start);
    const message = w.toBuffer();
    message.writeUInt32LE(PORTID, 12); // nlmsg_pid: a reply to our socket
    messages.push(message);
  }
  return Buffer.concat(messages);
}

/** A table of `size` entries, 50 per datagram; other requests are ACKed. */
export function table(size: number): (r: Request) => Buffer[] {
  return (r) => {
    if (r.type !== CT_GET) return [ackMessage(r.seq)];
    const datagrams: Buffer[] = [];
    for (let i = 0; i < size; i += 50) datagrams.push(entries(r.seq, i, Math.min(50, size - i)));
    return [...datagrams, doneMessage(r.seq)];
  };
}

/** A Conntrack whose sockets are fake kernels; `opened` lists them in order. */
export function fake(respond: (r: Request) => Buffer[]): { ct: Conntrack; opened: FakeKernel[]; closed: Set<FakeKernel> } {
  const opened: FakeKernel[] = [];
  const closed = new Set<FakeKernel>();
  const ct = Conntrack.open({
    transport: () => {
      const kernel = new FakeKernel(respond);
      const close = kernel.close.bind(kernel);
      kernel.close = () => {
        closed.add(kernel);
        close();
      };
      opened.push(kernel);
      return kernel;
    },
  });
  return { ct, opened, closed };
}

export async function count(items: AsyncIterable<unknown>): Promise<number> {
  let n = 0;
  for await (const _ of items) n++;
  return n;
}

