/**
 * The addon's writer thread (NetlinkSocket.sendBehind) against the real
 * kernel: sends leave in order and are answered on the socket as before; a
 * send the kernel refuses (larger than the socket's send buffer) is reported
 * to its own callback and to no other.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NetlinkChannel } from '../../src/netlink/channel';
import { NetlinkError } from '../../src/netlink/errors';
import { NetlinkSocket } from '../../src/netlink/socket';
import { createRequest, deleteRequest } from '../../src/ctnetlink/requests';
import type { Flow } from '../../src/ctnetlink/flow';
import { REFERENCE_CONNTRACK, withNetns } from './netns';

const EMSGSIZE = 90;

const flow = (i: number): Flow => ({
  family: 2,
  orig: { l3: 2, src: `10.7.${i >> 8}.${i & 255}`, dst: '10.8.0.1', proto: 17, sport: 1000, dport: 53 },
  reply: {},
  timeout: 600,
});

test('sendBehind: requests leave in order from the writer thread and are answered; an oversized send fails alone, with EMSGSIZE', async (t) => {
  const ns = await withNetns(t, 'nlwriter');
  const socket = NetlinkSocket.open({ netns: ns.name });
  socket.sendBehind();
  const channel = new NetlinkChannel(socket, { familyHeaderLength: 4 });
  t.after(() => channel.close());

  // In order: each delete finds the entry its create (sent before it) made.
  const n = 300;
  const replies: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const create = channel.nextSeq();
    replies.push(channel.request(createRequest(create, flow(i), true), create));
    if (i % 2 === 0) {
      const del = channel.nextSeq();
      replies.push(channel.request(deleteRequest(del, flow(i)), del));
    }
  }
  await Promise.all(replies);
  const listed = (await ns.execOk(REFERENCE_CONNTRACK, ['-L', '-p', 'udp'])).stdout.toString().trim().split('\n');
  assert.equal(listed.length, n / 2);

  const failures: number[] = [];
  assert.equal(socket.sendLater([Buffer.alloc(1 << 20)], (errno) => failures.push(errno)), true);
  const seq = channel.nextSeq();
  await assert.rejects(channel.request(createRequest(seq, flow(1), true), seq), (err: NetlinkError) => err.code === 'EEXIST');
  assert.deepEqual(failures, [EMSGSIZE]);
});
