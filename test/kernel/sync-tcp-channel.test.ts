import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { withNetns } from './netns';

/*
 * The TCP channel's own behaviour, between two channels on the loopback
 * device of a test namespace (127.0.0.1 and 127.0.0.2, port 3780): sends
 * while the peer is down wait in the error queue (the oldest dropped beyond
 * ErrorQueueLength), reconnecting happens at most once a second (a fake
 * clock here), and the queue goes out first, in order, once connected.
 * Messages are 8-byte ALIVEs whose sequence number names them.
 */
const LAB = String.raw`
const { TcpChannel } = require(process.argv[1] + '/src/conntrackd/sync/channels/tcp.js');
const { encodeMessage, readFrames } = require(process.argv[1] + '/src/conntrackd/sync/message.js');
const cfg = (self, peer) => ({ kind: 'tcp', isDefault: true, family: 4, address: self, destination: peer, port: 3780, checksum: true, errorQueueLength: 3 });
const alive = (n) => encodeMessage({ type: 10, flags: 0x10, seq: n, from: 0, to: 0 });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
(async () => {
  let clock = 0;
  const a = await TcpChannel.open(cfg('127.0.0.1', '127.0.0.2'), () => clock);
  for (let n = 1; n <= 5; n++) a.send(alive(n));  // the first send tries to connect: refused
  await sleep(200);
  const b = await TcpChannel.open(cfg('127.0.0.2', '127.0.0.1'));
  const got = [];
  b.onReceive((bytes) => got.push(...readFrames(bytes).frames.map((f) => f.header.seq)));
  clock = 500;
  a.send(alive(6));                                  // within a second of the last attempt: queued only
  await sleep(200);
  const early = [...got];
  clock = 1500;
  a.send(alive(7));                                  // connects; the queue (5, 6, 7) goes out
  for (let i = 0; i < 50 && got.length < 3; i++) await sleep(50);
  a.send(alive(8));
  for (let i = 0; i < 50 && got.length < 4; i++) await sleep(50);
  console.log(JSON.stringify({ early, got, a: a.state, b: b.state, received: b.counters.packetsReceived }));
  a.close();
  b.close();
})();
`;

test('TCP channel: error queue, rate-limited reconnect, queue first once connected', async (t) => {
  const ns = await withNetns(t, 'synctcp');
  await ns.execOk('ip', ['link', 'set', 'lo', 'up']);
  const out = await ns.execOk(process.execPath, ['-e', LAB, path.join(__dirname, '..', '..')], { timeoutMs: 20_000 });
  const r = JSON.parse(out.stdout.toString());
  assert.deepEqual(r.early, [], 'nothing goes out before the reconnect interval');
  assert.deepEqual(r.got, [5, 6, 7, 8], 'the three newest queued messages, in order, then the new one');
  assert.deepEqual(r.a, { server: 'disconnected', client: 'connected' });
  assert.deepEqual(r.b, { server: 'connected', client: 'disconnected' });
  assert.equal(r.received, 4);
});
