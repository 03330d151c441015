import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Conntrack } from '../../src/api/conntrack';
import type { Flow } from '../../src/ctnetlink/flow';
import { dumpRequest, getRequest } from '../../src/ctnetlink/requests';
import { Status } from '../../src/ctnetlink/status';
import { NetlinkChannel } from '../../src/netlink/channel';
import { SOL_SOCKET, SocketOption } from '../../src/netlink/constants';
import { NetlinkError, ProtocolError } from '../../src/netlink/errors';
import { NetlinkSocket } from '../../src/netlink/socket';
import { withNetns } from './netns';

/*
 * The fault classes of test/unit/faults.test.ts, provoked in the real kernel
 * of a throw-away namespace: each ends in a typed error, nothing hangs, and
 * the socket keeps working where it can.
 */

function udpFlow(i: number, extra: Partial<Flow> = {}): Flow {
  return {
    family: 2,
    orig: { l3: 2, src: `10.7.${i >> 8}.${i & 255}`, dst: '10.8.0.1', proto: 17, sport: 1000 + (i % 60000), dport: 53 },
    reply: {},
    timeout: 600,
    ...extra,
  };
}

test('EBUSY: an entry created with a status bit the kernel reserves is refused with NetlinkError EBUSY', async (t) => {
  const ns = await withNetns(t, 'fltbusy');
  const ct = Conntrack.open({ netns: ns.name });
  t.after(() => ct.close());
  await assert.rejects(ct.create(udpFlow(1, { status: Status.EXPECTED })), (err: unknown) => err instanceof NetlinkError && err.code === 'EBUSY');
  await ct.create(udpFlow(1));
  assert.equal(await ct.count(), 1, 'the socket goes on');
});

test('ENOENT is "not found", the same for get, update and delete: undefined, false, false', async (t) => {
  const ns = await withNetns(t, 'fltnoent');
  const ct = Conntrack.open({ netns: ns.name });
  t.after(() => ct.close());
  assert.equal(await ct.update({ ...udpFlow(2), mark: 1 }), false);
  assert.equal(await ct.get(udpFlow(2)), undefined);
  assert.equal(await ct.delete(udpFlow(2)), false);
  await ct.create(udpFlow(2));
  assert.equal(await ct.update({ ...udpFlow(2), mark: 1 }), true);
});

test('ENOBUFS: replies overflowing a small receive buffer fail the requests in flight with NetlinkError ENOBUFS; the socket goes on', async (t) => {
  const ns = await withNetns(t, 'fltnobufs');
  const socket = NetlinkSocket.open({ netns: ns.name });
  socket.setOption(SOL_SOCKET, SocketOption.SO_RCVBUF, 1024); // the kernel's minimum: a few replies
  const channel = new NetlinkChannel(socket, { maxInFlight: 4096 });
  t.after(() => channel.close());
  // Gets of entries that do not exist: each answered by an error message the buffer cannot hold many of.
  const results = await Promise.all(
    Array.from({ length: 2000 }, (_, i) => {
      const seq = channel.nextSeq();
      return channel.request(getRequest(seq, udpFlow(i)), seq).then(
        () => 'ok',
        (err: unknown) => (err instanceof NetlinkError ? err.code : String(err)),
      );
    }),
  );
  const codes = new Set(results);
  assert.ok(codes.has('ENOBUFS'), `some requests saw ENOBUFS: ${[...codes].join(', ')}`);
  assert.ok([...codes].every((c) => c === 'ENOBUFS' || c === 'ENOENT'), [...codes].join(', '));
  assert.equal(channel.inFlight, 0);
  const seq = channel.nextSeq();
  await assert.rejects(channel.request(getRequest(seq, udpFlow(1)), seq), (err: unknown) => err instanceof NetlinkError && err.code === 'ENOENT');
});

test('MSG_TRUNC: a dump datagram bigger than the receive buffer is a ProtocolError, not a wrong entry', async (t) => {
  const ns = await withNetns(t, 'flttrunc');
  const ct = Conntrack.open({ netns: ns.name });
  t.after(() => ct.close());
  await Promise.all(Array.from({ length: 50 }, (_, i) => ct.create(udpFlow(i))));
  const channel = new NetlinkChannel(NetlinkSocket.open({ netns: ns.name }), { datagramSize: 512 });
  t.after(() => channel.close());
  const seq = channel.nextSeq();
  let entries = 0;
  await assert.rejects(async () => {
    for await (const batch of channel.dump(dumpRequest(seq, {}), seq, () => 1)) entries += batch.length;
  }, (err: unknown) => err instanceof ProtocolError && /truncated/.test(err.message));
  assert.equal(entries, 0, 'nothing of the truncated datagram was delivered');
});

test('closed mid-dump: Conntrack.close() during a dump ends it with NetlinkError, no hang', async (t) => {
  const ns = await withNetns(t, 'fltclose');
  const ct = Conntrack.open({ netns: ns.name });
  t.after(() => ct.close());
  await Promise.all(Array.from({ length: 3000 }, (_, i) => ct.create(udpFlow(i))));
  let seen = 0;
  await assert.rejects(async () => {
    for await (const batch of ct.dumpBatches()) {
      seen += batch.length;
      ct.close();
    }
  }, (err: unknown) => err instanceof NetlinkError && err.code === 'EBADF');
  assert.ok(seen > 0 && seen < 3000, `saw ${seen} entries before the close`);
});
