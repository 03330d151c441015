import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageWriter } from '../../src/netlink/attributes';
import { NetlinkChannel } from '../../src/netlink/channel';
import { MessageFlags, MessageType } from '../../src/netlink/constants';
import { DumpInterruptedError, NetlinkError, ProtocolError } from '../../src/netlink/errors';
import { MessageCursor } from '../../src/netlink/messages';
import { FakeKernel, PORTID } from './fake-kernel';

const DATA = 0x100;

function message(type: number, flags: number, seq: number, payload: Buffer = Buffer.alloc(0), pid = PORTID): Buffer {
  const w = new MessageWriter();
  const start = w.beginMessage(type, flags, seq, pid);
  w.raw(payload);
  w.endMessage(start);
  return w.toBuffer();
}

function ack(seq: number, errno = 0, extAck?: string): Buffer {
  const payload = new MessageWriter();
  const errorCode = Buffer.alloc(4);
  errorCode.writeInt32LE(-errno);
  payload.raw(errorCode);
  // NETLINK_CAP_ACK style: only the request's header is echoed.
  const echoed = Buffer.alloc(16);
  echoed.writeUInt32LE(16);
  echoed.writeUInt32LE(seq, 8);
  payload.raw(echoed);
  let flags = errno ? MessageFlags.CAPPED : 0;
  if (extAck) {
    payload.string(1, extAck);
    flags |= MessageFlags.ACK_TLVS;
  }
  return message(MessageType.ERROR, flags, seq, payload.toBuffer());
}

function done(seq: number, flags: number = MessageFlags.MULTI): Buffer {
  return message(MessageType.DONE, flags, seq, Buffer.alloc(4));
}

/** A data message whose payload is a u32 value, several per datagram. */
function entries(seq: number, values: number[], flags: number = MessageFlags.MULTI): Buffer {
  return Buffer.concat(values.map((v) => {
    const p = Buffer.alloc(4);
    p.writeUInt32LE(v);
    return message(DATA, flags, seq, p);
  }));
}

function request(channel: NetlinkChannel, flags: number = MessageFlags.REQUEST | MessageFlags.ACK): { seq: number; buf: Buffer } {
  const seq = channel.nextSeq();
  return { seq, buf: message(DATA, flags, seq, Buffer.alloc(0), 0) };
}

const readValue = (m: MessageCursor): number => m.buf.readUInt32LE(m.payload);

test('an ACK resolves the request; an error rejects with errno, code and extended-ack text', async () => {
  const kernel = new FakeKernel((r) => [r.seq % 2 ? ack(r.seq, 2, 'no such entry') : ack(r.seq)]);
  const channel = new NetlinkChannel(kernel);
  let a = request(channel);
  if (a.seq % 2) a = request(channel);
  await channel.request(a.buf, a.seq);
  const b = request(channel);
  await assert.rejects(channel.request(b.buf, b.seq), (err: unknown) => {
    assert.ok(err instanceof NetlinkError);
    const e: NetlinkError = err;
    assert.equal(e.code, 'ENOENT');
    assert.equal(e.errno, -2);
    assert.equal(e.extAck, 'no such entry');
    return true;
  });
});

test('requests fired together share sendmsg calls and acks match out of order', async () => {
  const held: Buffer[] = [];
  const kernel = new FakeKernel((r) => {
    held.push(ack(r.seq, r.seq % 3 === 0 ? 17 : 0));
    return [];
  });
  const channel = new NetlinkChannel(kernel, { maxInFlight: 50 });
  const reqs = Array.from({ length: 120 }, () => request(channel));
  const results = reqs.map((r) => channel.request(r.buf, r.seq).then(() => 'ok', (e: NetlinkError) => e.code));
  // Answer each window of requests in reverse order, as soon as it was sent.
  for (let round = 0; round < 10; round++) {
    await new Promise((r) => setImmediate(r));
    kernel.deliver(held.splice(0));
    await new Promise((r) => setImmediate(r));
  }
  const settled = await Promise.all(results);
  settled.forEach((s, i) => assert.equal(s, reqs[i]!.seq % 3 === 0 ? 'EEXIST' : 'ok'));
  assert.ok(kernel.sendCalls.every((c) => c.length <= 50), 'never more than maxInFlight outstanding');
  assert.ok(kernel.sendCalls.length < 120, `batched into ${kernel.sendCalls.length} sendmsg calls`);
  assert.equal(channel.inFlight, 0);
});

test('a dump streams batches in order and ends at NLMSG_DONE', async () => {
  const kernel = new FakeKernel((r) => [entries(r.seq, [1, 2, 3]), entries(r.seq, [4, 5]), done(r.seq)]);
  const channel = new NetlinkChannel(kernel);
  const d = request(channel, MessageFlags.REQUEST | MessageFlags.DUMP);
  const got: number[][] = [];
  for await (const batch of channel.dump(d.buf, d.seq, readValue)) got.push(batch);
  assert.deepEqual(got, [[1, 2, 3], [4, 5]]);
});

test('a slow consumer pauses reading: the engine holds a bounded number of datagrams', async () => {
  const datagrams = 200;
  const kernel = new FakeKernel((r) => [
    ...Array.from({ length: datagrams }, (_, i) => entries(r.seq, [i])),
    done(r.seq),
  ]);
  const channel = new NetlinkChannel(kernel);
  const d = request(channel, MessageFlags.REQUEST | MessageFlags.DUMP);
  let seen = 0;
  let maxAhead = 0;
  for await (const batch of channel.dump(d.buf, d.seq, readValue)) {
    seen += batch.length;
    maxAhead = Math.max(maxAhead, datagrams + 1 - kernel.queue.length - seen);
    await new Promise((r) => setTimeout(r, 1));
  }
  assert.equal(seen, datagrams);
  assert.ok(maxAhead <= 16, `read at most 16 datagrams ahead of the consumer, read ${maxAhead}`);
});

test('NLM_F_DUMP_INTR delivers what arrived, then throws DumpInterruptedError', async () => {
  const kernel = new FakeKernel((r) => [
    entries(r.seq, [1]),
    entries(r.seq, [2], MessageFlags.MULTI | MessageFlags.DUMP_INTR),
    done(r.seq, MessageFlags.MULTI | MessageFlags.DUMP_INTR),
  ]);
  const channel = new NetlinkChannel(kernel);
  const d = request(channel, MessageFlags.REQUEST | MessageFlags.DUMP);
  const got: number[] = [];
  await assert.rejects(async () => {
    for await (const batch of channel.dump(d.buf, d.seq, readValue)) got.push(...batch);
  }, DumpInterruptedError);
  assert.deepEqual(got, [1, 2]);
});

test('an error during a dump ends it with that error', async () => {
  const kernel = new FakeKernel((r) => [entries(r.seq, [7]), ack(r.seq, 22)]);
  const channel = new NetlinkChannel(kernel);
  const d = request(channel, MessageFlags.REQUEST | MessageFlags.DUMP);
  const got: number[] = [];
  await assert.rejects(async () => {
    for await (const batch of channel.dump(d.buf, d.seq, readValue)) got.push(...batch);
  }, (err: unknown) => err instanceof NetlinkError && err.code === 'EINVAL');
  assert.deepEqual(got, [7]);
});

test('ENOBUFS fails every request in flight (their replies may be lost)', async () => {
  const kernel = new FakeKernel(() => []);
  const channel = new NetlinkChannel(kernel);
  const a = request(channel);
  const b = request(channel);
  const pa = channel.request(a.buf, a.seq);
  const pb = channel.request(b.buf, b.seq);
  await new Promise((r) => setImmediate(r));
  kernel.pushErrno(105);
  for (const p of [pa, pb]) {
    await assert.rejects(p, (err: unknown) => err instanceof NetlinkError && err.code === 'ENOBUFS');
  }
});

test('ENOBUFS on a listener is reported to onOverrun, and reading goes on', async () => {
  let overruns = 0;
  const seen: number[] = [];
  const kernel = new FakeKernel(() => []);
  const channel = new NetlinkChannel(kernel, {
    onOverrun: () => overruns++,
    onUnsolicited: (m) => seen.push(readValue(m)),
  });
  channel.listen();
  kernel.queue.push(entries(0, [1]));
  kernel.pushErrno(105);
  kernel.queue.push(entries(0, [2]));
  // The kick of pushErrno() was queued first, so this runs after the read; a
  // timer could fire first on a loaded machine.
  await new Promise((r) => setImmediate(r));
  assert.equal(overruns, 1);
  assert.deepEqual(seen, [1, 2]);
  channel.close();
});

test('a truncated datagram (MSG_TRUNC) fails the requests in flight with a ProtocolError', async () => {
  const kernel = new FakeKernel((r) => [Buffer.concat([entries(r.seq, [1]), Buffer.alloc(100 * 1024)])]);
  const channel = new NetlinkChannel(kernel, { datagramSize: 64 * 1024 });
  const d = request(channel, MessageFlags.REQUEST | MessageFlags.DUMP);
  await assert.rejects(async () => {
    for await (const _ of channel.dump(d.buf, d.seq, readValue)) void _;
  }, ProtocolError);
});

test('a message whose length runs past the datagram is a ProtocolError, not a crash', async () => {
  const kernel = new FakeKernel((r) => {
    const bad = entries(r.seq, [1]);
    bad.writeUInt32LE(bad.length + 40, 0);
    return [bad];
  });
  const channel = new NetlinkChannel(kernel);
  const a = request(channel);
  await assert.rejects(channel.request(a.buf, a.seq), ProtocolError);
});

test('messages for other ports or unknown sequence numbers are unsolicited, not replies', async () => {
  const unsolicited: number[] = [];
  let seqForStranger = 0;
  const kernel = new FakeKernel((r) => {
    seqForStranger = r.seq;
    const stranger = message(DATA, 0, r.seq, Buffer.from([9, 0, 0, 0]), PORTID + 1);
    return [Buffer.concat([stranger, entries(r.seq + 1000, [8], 0), ack(r.seq)])];
  });
  const channel = new NetlinkChannel(kernel, { onUnsolicited: (m) => unsolicited.push(readValue(m)) });
  const a = request(channel);
  const replies: number[] = [];
  await channel.request(a.buf, a.seq, (m) => replies.push(readValue(m)));
  assert.ok(seqForStranger > 0);
  assert.deepEqual(replies, []);
  assert.deepEqual(unsolicited, [9, 8]);
});

test('leaving a dump early discards the rest; the channel keeps working', async () => {
  const kernel = new FakeKernel((r) =>
    r.flags & MessageFlags.ACK ? [ack(r.seq)] : [entries(r.seq, [1]), entries(r.seq, [2]), entries(r.seq, [3]), done(r.seq)],
  );
  const channel = new NetlinkChannel(kernel);
  const d = request(channel, MessageFlags.REQUEST | MessageFlags.DUMP);
  for await (const batch of channel.dump(d.buf, d.seq, readValue)) {
    assert.deepEqual(batch, [1]);
    break;
  }
  const a = request(channel);
  await channel.request(a.buf, a.seq);
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(channel.inFlight, 0);
});

test('a closed channel fails new and pending requests instead of hanging', async () => {
  const kernel = new FakeKernel(() => []);
  const channel = new NetlinkChannel(kernel);
  const a = request(channel);
  const pending = channel.request(a.buf, a.seq);
  channel.close();
  await assert.rejects(pending, NetlinkError);
  const b = request(channel);
  await assert.rejects(channel.request(b.buf, b.seq), NetlinkError);
});

/** `count` ACK-requesting messages with consecutive sequence numbers from `first`, in one buffer. */
function batchOf(first: number, count: number): Buffer {
  return Buffer.concat(Array.from({ length: count }, (_, i) => message(DATA, MessageFlags.REQUEST | MessageFlags.ACK, first + i, Buffer.alloc(0), 0)));
}

test('a batch goes out in one buffer and its answers arrive by index, in order', async () => {
  const held: Buffer[] = [];
  const kernel = new FakeKernel((r) => {
    held.push(ack(r.seq, r.seq % 4 === 0 ? 2 : 0));
    return [];
  });
  const channel = new NetlinkChannel(kernel);
  const first = channel.reserveSeqs(10);
  const answers: string[] = [];
  let finished!: () => void;
  const all = new Promise<void>((resolve) => (finished = resolve));
  channel.submitBatch(batchOf(first, 10), first, 10, {
    onReply(index, err) {
      answers[index] = err ? err.code! : 'ok';
      if (answers.filter(Boolean).length === 10) finished();
    },
    onFailure: (err) => assert.fail(err),
  });
  assert.equal(channel.inFlight, 10);
  await new Promise((r) => setImmediate(r));
  assert.equal(kernel.sendCalls.length, 1, 'one sendmsg');
  kernel.deliver(held.splice(0));
  await all;
  answers.forEach((a, i) => assert.equal(a, (first + i) % 4 === 0 ? 'ENOENT' : 'ok', `request ${i}`));
  assert.equal(channel.inFlight, 0);
  const next = channel.nextSeq();
  assert.ok(next >= first + 10, 'reserved numbers are not handed out again');
});

test("a batch that asks only its last request for an ACK: the kernel's silence before a later answer is success", async () => {
  // As the kernel does: a failure is always answered, a success only when NLM_F_ACK asked for it.
  const fails = (seq: number): boolean => seq % 4 === 0;
  const kernel = new FakeKernel((r) => (fails(r.seq) ? [ack(r.seq, 2)] : r.flags & MessageFlags.ACK ? [ack(r.seq)] : []));
  const channel = new NetlinkChannel(kernel);
  for (const count of [1, 2, 9]) {
    const first = channel.reserveSeqs(count);
    const messages = Buffer.concat(Array.from({ length: count }, (_, i) => message(DATA, MessageFlags.REQUEST | (i === count - 1 ? MessageFlags.ACK : 0), first + i, Buffer.alloc(0), 0)));
    const answers: string[] = [];
    await new Promise<void>((resolve, reject) => {
      channel.submitBatch(messages, first, count, {
        onReply(index, err) {
          assert.equal(index, answers.length, 'answered in order');
          answers.push(err ? err.code! : 'ok');
          if (answers.length === count) resolve();
        },
        onFailure: reject,
      });
    });
    assert.deepEqual(answers, Array.from({ length: count }, (_, i) => (fails(first + i) ? 'ENOENT' : 'ok')), `a batch of ${count}`);
    assert.equal(channel.inFlight, 0);
  }
});

test('a batch whose answers never come fails when the channel does', async () => {
  const kernel = new FakeKernel(() => []);
  const channel = new NetlinkChannel(kernel);
  const first = channel.reserveSeqs(3);
  const failure = new Promise<Error>((resolve) => {
    channel.submitBatch(batchOf(first, 3), first, 3, { onReply: () => assert.fail('no answer was sent'), onFailure: resolve });
  });
  await new Promise((r) => setImmediate(r));
  channel.close();
  assert.match((await failure).message, /closed/);
});

test('a transport that sends later (a writer thread): requests are answered as usual, and a failed send fails exactly its own requests', async () => {
  const kernel = new FakeKernel((r) => (r.flags & MessageFlags.ACK ? [ack(r.seq)] : []));
  // Sends leave on the next turn, as from another thread; the first one fails.
  let sends = 0;
  const later = Object.assign(Object.create(kernel) as FakeKernel, {
    sendLater(buffers: Buffer[], failed: (errno: number) => void): boolean {
      const copies = buffers.map((b) => Buffer.from(b));
      const fail = sends++ === 0;
      setImmediate(() => (fail ? failed(90) : later.send(copies)));
      return true;
    },
  });
  const channel = new NetlinkChannel(later);
  const lost = request(channel);
  const lostBatch = channel.reserveSeqs(3);
  const lostAnswers = channel.request(lost.buf, lost.seq);
  const batchFailure = new Promise<Error>((resolve) => {
    channel.submitBatch(batchOf(lostBatch, 3), lostBatch, 3, { onReply: () => assert.fail('a request that was never sent was answered'), onFailure: resolve });
  });
  await assert.rejects(lostAnswers, (err: NetlinkError) => err.code === 'EMSGSIZE' && err.syscall === 'sendmsg');
  assert.equal((await batchFailure as NetlinkError).code, 'EMSGSIZE');
  assert.equal(kernel.sendCalls.length, 0);

  const ok = request(channel);
  await channel.request(ok.buf, ok.seq);
  assert.equal(kernel.sendCalls.length, 1);
  assert.equal(channel.inFlight, 0);
});

test('a send the sending thread refuses at once (out of memory) fails its requests, and the channel goes on', async () => {
  const kernel = new FakeKernel((r) => (r.flags & MessageFlags.ACK ? [ack(r.seq)] : []));
  let refuse = true;
  const later = Object.assign(Object.create(kernel) as FakeKernel, {
    sendLater(buffers: Buffer[], failed: (errno: number) => void): boolean {
      if (refuse) failed(12);
      else later.send(buffers);
      return true;
    },
  });
  const channel = new NetlinkChannel(later);
  const lost = request(channel);
  const first = channel.reserveSeqs(2);
  const batchFailure = new Promise<Error>((resolve) => {
    channel.submitBatch(batchOf(first, 2), first, 2, { onReply: () => assert.fail('never sent'), onFailure: resolve });
  });
  await assert.rejects(channel.request(lost.buf, lost.seq), (err: NetlinkError) => err.code === 'ENOMEM');
  assert.equal((await batchFailure as NetlinkError).code, 'ENOMEM');
  assert.equal(channel.inFlight, 0);
  refuse = false;
  await Promise.all(Array.from({ length: 300 }, () => {
    const r = request(channel);
    return channel.request(r.buf, r.seq);
  }));
  assert.equal(channel.inFlight, 0);
});

test('reserved sequence ranges never contain 0', () => {
  const channel = new NetlinkChannel(new FakeKernel(() => []));
  channel.reserveSeqs(0xffffff00 - channel.nextSeq());
  assert.equal(channel.reserveSeqs(0x200), 1, 'a range that would pass 2^32 - 1 starts over at 1');
  assert.equal(channel.nextSeq(), 0x201);
});
