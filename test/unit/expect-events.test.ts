import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventStream } from '../../src/api/event-stream';
import { ExpectAttr, ExpMsg } from '../../src/ctnetlink/constants';
import type { ExpectationEvent } from '../../src/ctnetlink/expect';
import { decodeExpectationMessage, encodeExpectation } from '../../src/ctnetlink/expect-codec';
import { MessageWriter } from '../../src/netlink/attributes';
import { MessageFlags } from '../../src/netlink/constants';
import { messageType, Subsystem } from '../../src/nfnetlink/header';
import { FakeKernel } from './fake-kernel';

/** An expectation event as the kernel multicasts it: seq 0, the port id of whoever caused it. */
function event(msg: ExpMsg, dport: number): Buffer {
  const w = new MessageWriter();
  const flags = msg === ExpMsg.NEW ? MessageFlags.CREATE | MessageFlags.EXCL : 0;
  const start = w.beginMessage(messageType(Subsystem.CTNETLINK_EXP, msg), flags, 0, 0);
  w.raw(Uint8Array.of(2, 0, 0, 0));
  encodeExpectation(w, { family: 2, tuple: { src: '127.0.0.1', dst: '127.0.0.1', proto: 6, sport: 0, dport } });
  w.u32be(ExpectAttr.TIMEOUT, 300);
  w.endMessage(start);
  return w.toBuffer();
}

/** A kernel that only sends on its own: events and recvmsg errors. */
const listener = (): FakeKernel => new FakeKernel(() => []);

async function take<T>(it: AsyncIterator<T>, n: number): Promise<T[]> {
  const out: T[] = [];
  while (out.length < n) {
    const r = await it.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

test('expectation events through an EventStream: decoded, in order, several per datagram; other messages skipped', async () => {
  const kernel = listener();
  const stream = new EventStream(kernel, decodeExpectationMessage);
  const it = stream[Symbol.asyncIterator]();
  kernel.deliver([Buffer.concat([event(ExpMsg.NEW, 1), event(ExpMsg.DELETE, 2)]), event(ExpMsg.GET_STATS_CPU, 9), event(ExpMsg.NEW, 3)]);
  const got = (await take(it, 3)) as ExpectationEvent[];
  assert.deepEqual(got.map((e) => [e.type, e.expectation.tuple.dport, e.expectation.timeout]), [
    ['new', 1, 300],
    ['destroy', 2, 300],
    ['new', 3, 300],
  ]);
  stream.close();
  assert.deepEqual(await it.next(), { done: true, value: undefined });
});
