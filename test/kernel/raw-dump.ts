/**
 * One ctnetlink dump over a bare socket of the addon, for kernel tests that
 * must see exactly what the kernel answers to a hand-built request (no
 * request engine, no retries, no library filtering in between).
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeFlow } from '../../src/ctnetlink/flow-codec';
import type { Flow } from '../../src/ctnetlink/flow';
import { MessageFlags, MessageType, NETLINK_NETFILTER } from '../../src/netlink/constants';
import { MessageCursor } from '../../src/netlink/messages';

interface Addon {
  open(protocol: number, netnsPath?: string): number;
  bind(fd: number, groups: number): number;
  send(fd: number, buffers: Buffer[]): number;
  recv(fd: number, buffer: Buffer): number;
  close(fd: number): void;
}

const addon = require(join(__dirname, '..', '..', '..', 'build', 'Release', 'netlink_socket.node')) as Addon;

const EAGAIN = 11;

export interface RawDumpResult {
  /** 0 when the dump ended with NLMSG_DONE, else the NLMSG_ERROR code (negative errno). */
  error: number;
  flows: Flow[];
}

/**
 * Sends `request` (one complete dump request; its nlmsg_pid may be 0) on a
 * fresh socket inside network namespace `netns` and collects every entry
 * until NLMSG_DONE or NLMSG_ERROR. Throws on anything a dump must not do:
 * a truncated datagram, a foreign sequence number, NLM_F_DUMP_INTR.
 */
export async function rawDump(netns: string, request: Buffer): Promise<RawDumpResult> {
  const fd = addon.open(NETLINK_NETFILTER, `/run/netns/${netns}`);
  try {
    const portid = addon.bind(fd, 0);
    const seq = request.readUInt32LE(8);
    const sent = addon.send(fd, [request]);
    if (sent < 0) throw new Error(`send failed: errno ${-sent}`);
    const buf = Buffer.alloc(1 << 20);
    const flows: Flow[] = [];
    for (;;) {
      const n = addon.recv(fd, buf);
      if (n === -EAGAIN) {
        await sleep(1);
        continue;
      }
      if (n < 0) throw new Error(`recv failed: errno ${-n}`);
      if (n > buf.length) throw new Error(`datagram of ${n} bytes truncated to ${buf.length}`);
      const m = new MessageCursor(buf, n);
      while (m.next()) {
        if (m.seq !== seq || m.pid !== portid) throw new Error(`reply seq ${m.seq} pid ${m.pid}, want ${seq} ${portid}`);
        if (m.flags & MessageFlags.DUMP_INTR) throw new Error('dump interrupted (NLM_F_DUMP_INTR)');
        if (m.type === MessageType.DONE) return { error: 0, flows };
        if (m.type === MessageType.ERROR) return { error: buf.readInt32LE(m.payload), flows };
        // The entry's attributes follow the 4-byte nfgenmsg, whose first byte is its family.
        flows.push(decodeFlow(buf, m.payload + 4, m.end, buf[m.payload]!));
      }
    }
  } finally {
    addon.close(fd);
  }
}
