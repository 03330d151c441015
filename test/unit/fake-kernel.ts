import { MessageWriter } from '../../src/netlink/attributes';
import { MessageFlags, MessageType, NLMSG_HDRLEN } from '../../src/netlink/constants';
import { MessageCursor } from '../../src/netlink/messages';
import type { Transport } from '../../src/netlink/socket';

/*
 * A fake kernel for the request engine and its users: "request in, replies
 * out" (mdlayher/netlink's way), with hooks for messages the kernel sends
 * on its own (multicast events, held-back ACKs) and for recvmsg errors.
 */

export const PORTID = 4242;

export interface Request {
  type: number;
  flags: number;
  seq: number;
  /** The message after its nlmsghdr (a copy). */
  payload: Buffer;
}

/**
 * A fake kernel: every sendmsg is parsed and handed to `respond`, which
 * returns the datagrams the kernel would queue for us.
 */
export class FakeKernel implements Transport {
  readonly portid = PORTID;
  readonly queue: Buffer[] = [];
  readonly sendCalls: Request[][] = [];
  recvCalls = 0;
  private onReadable: (() => void) | undefined;

  constructor(private readonly respond: (req: Request) => Buffer[]) {}

  send(buffers: Buffer[]): number {
    const reqs: Request[] = [];
    for (const b of buffers) {
      const m = new MessageCursor(b, b.length);
      while (m.next()) reqs.push({ type: m.type, flags: m.flags, seq: m.seq, payload: Buffer.from(b.subarray(m.payload, m.end)) });
    }
    this.sendCalls.push(reqs);
    for (const r of reqs) this.queue.push(...this.respond(r));
    this.kick();
    return buffers.reduce((n, b) => n + b.length, 0);
  }

  recv(buf: Buffer): number {
    this.recvCalls++;
    const d = this.queue.shift();
    if (!d) return -11;
    if (typeof (d as unknown as { errno?: number }).errno === 'number') return -(d as unknown as { errno: number }).errno;
    d.copy(buf, 0, 0, Math.min(d.length, buf.length));
    return d.length;
  }

  resume(onReadable: () => void): void {
    this.onReadable = onReadable;
    this.kick();
  }

  pause(): void {
    this.onReadable = undefined;
  }

  close(): void {
    this.onReadable = undefined;
  }

  /** Queues datagrams the kernel sends later (e.g. held-back ACKs). */
  deliver(datagrams: Buffer[]): void {
    this.queue.push(...datagrams);
    this.kick();
  }

  /** Queues an error return of recvmsg (e.g. ENOBUFS). */
  pushErrno(errno: number): void {
    this.queue.push(recvError(errno));
    this.kick();
  }

  private kick(): void {
    if (this.queue.length > 0) setImmediate(() => this.onReadable?.());
  }
}

/** Stands in the reply queue for an error return of recvmsg (ENOBUFS, EBADF…) instead of a datagram. */
export function recvError(errno: number): Buffer {
  return Object.assign(Buffer.alloc(0), { errno });
}

/** NLMSG_ERROR for request `seq`: an ACK (errno 0) or the kernel's refusal, with the request's header echoed. */
export function ackMessage(seq: number, errno = 0, flags = 0): Buffer {
  const w = new MessageWriter();
  const start = w.beginMessage(MessageType.ERROR, flags, seq, PORTID);
  const payload = Buffer.alloc(4 + NLMSG_HDRLEN);
  payload.writeInt32LE(-errno, 0);
  payload.writeUInt32LE(NLMSG_HDRLEN, 4);
  payload.writeUInt32LE(seq, 12);
  w.raw(payload);
  w.endMessage(start);
  return w.toBuffer();
}

/** NLMSG_DONE ending dump `seq`; `flags` may add NLM_F_DUMP_INTR. */
export function doneMessage(seq: number, flags: number = MessageFlags.MULTI): Buffer {
  const w = new MessageWriter();
  const start = w.beginMessage(MessageType.DONE, flags, seq, PORTID);
  w.raw(Buffer.alloc(4));
  w.endMessage(start);
  return w.toBuffer();
}
