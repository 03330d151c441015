import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { formatIPv4, formatIPv6 } from '../../src/ctnetlink/address';
import type { Expectation } from '../../src/ctnetlink/expect';
import type { Flow, Tuple } from '../../src/ctnetlink/flow';
import { DatagramPacker, maxBatchSize } from '../../src/conntrackd/sync/batch';
import { FlowAttr, type AttrWriter } from '../../src/conntrackd/sync/attributes';
import { SyncDecodeError, SyncEncodeError } from '../../src/conntrackd/sync/errors';
import { encodeFlowAttributes } from '../../src/conntrackd/sync/flow-attributes';
import { MessageFlag, MessageType } from '../../src/conntrackd/sync/header';
import { decodeFrame, encodeData, encodeMessage, readFrames, type SyncMessage } from '../../src/conntrackd/sync/message';
import { StreamReassembler } from '../../src/conntrackd/sync/stream';
import { readPcapUdp } from './pcap';

const CAPTURE = readPcapUdp(path.join(__dirname, '../../../test/fixtures/conntrackd/sync/ftfw-udp.pcap'));
/** One datagram of each size class: ALIVE, ACK, single data messages, the bulk, a batched NACK pair. */
const SAMPLES = [...new Map(CAPTURE.map((d) => [d.payload.length, d.payload])).values()];

/** Decodes everything in `buf`; any error but a SyncDecodeError fails the test. */
function decodeAll(buf: Buffer): SyncMessage[] {
  const out: SyncMessage[] = [];
  for (const f of readFrames(buf).frames) {
    assert.ok(f.start + f.header.len <= buf.length, 'a frame ends inside the buffer');
    try {
      out.push(decodeFrame(f));
    } catch (err) {
      if (!(err instanceof SyncDecodeError)) throw err;
    }
  }
  return out;
}

describe('sync codec: damaged input', () => {
  it('a datagram cut at every offset yields the whole messages before the cut and a typed stop', () => {
    for (const d of SAMPLES) {
      for (let cut = 0; cut < d.length; cut++) {
        // A copy of exactly `cut` bytes: reading past the end throws a RangeError, not a SyncDecodeError.
        const part = Buffer.from(d.subarray(0, cut));
        const split = readFrames(part);
        assert.ok(split.end === cut || split.stop === 'truncated', `cut at ${cut}`);
        for (const f of split.frames) assert.ok(f.start + f.header.len <= cut);
        decodeAll(part);
      }
    }
  });

  it('any byte of a datagram set to any value: typed errors only, never a read past the end', () => {
    for (const d of SAMPLES) {
      for (let at = 0; at < d.length; at++) {
        for (const v of [0x00, 0x01, 0x03, 0x10, 0x1a, 0x7f, 0x80, 0xff, d[at]! ^ 0xff]) {
          const bad = Buffer.from(d);
          bad[at] = v;
          decodeAll(bad);
        }
      }
    }
  });

  it('counts the framing problems the way 1.4.7 does', () => {
    assert.equal(readFrames(Buffer.from('1a080000', 'hex')).stop, 'truncated', 'less than a header');
    assert.equal(readFrames(Buffer.from('1a10000000000001', 'hex')).stop, 'bad-size', 'len 0');
    assert.equal(readFrames(Buffer.from('1a10000400000001', 'hex')).stop, 'bad-size', 'len below the header');
    assert.equal(readFrames(Buffer.from('1a08000800000001', 'hex')).stop, 'truncated', 'an ACK needs 16 bytes');
    assert.equal(readFrames(Buffer.from('1a0800100000000100000001', 'hex')).stop, 'truncated', 'len beyond the datagram');
    const wrongVersion = Buffer.from('2a10000800000001', 'hex');
    assert.throws(() => decodeFrame(readFrames(wrongVersion).frames[0]!), (e: SyncDecodeError) => e.reason === 'bad-version');
    const badType = Buffer.from('1700000800000001', 'hex');
    assert.throws(() => decodeFrame(readFrames(badType).frames[0]!), (e: SyncDecodeError) => e.reason === 'bad-type');
  });

  it('rejects attributes of the wrong size, out of range or overrunning, and ignores a tail of 4 bytes or less', () => {
    const flow = (attrs: string): Buffer => {
      const body = Buffer.from(attrs.replace(/ /g, ''), 'hex');
      const msg = Buffer.alloc(8 + body.length);
      msg.writeUInt16BE(0x1000, 0);
      msg.writeUInt16BE(msg.length, 2);
      body.copy(msg, 8);
      return msg;
    };
    const reason = (b: Buffer): string | undefined => {
      try {
        decodeFrame(readFrames(b).frames[0]!);
        return undefined;
      } catch (err) {
        return (err as SyncDecodeError).reason;
      }
    };
    assert.equal(reason(flow('000c0000 0a010101 0a020202')), undefined);
    assert.equal(reason(flow('000b0000 0a010101 0a0202')), 'bad-payload', 'IPV4 one byte short');
    assert.equal(reason(flow('00050021 00000000')), 'bad-payload', 'type 33');
    assert.equal(reason(flow('0003001b 00000000')), 'bad-payload', 'nta_len below 4');
    assert.equal(reason(flow('0014001b 00000000')), 'bad-payload', 'nta_len beyond the message');
    assert.equal(reason(flow('0011001b 61616161 61616161 61616161 61000000')), 'bad-payload', 'helper name of 13 bytes');
    assert.equal(reason(flow('0010001b 61616161 61616161 61616100')), undefined, 'helper name of 11 characters');
    assert.equal(reason(flow('000c0000 0a010101 0a020202 ffffffff')), undefined, 'a 4-byte tail is not an attribute');
  });
});

describe('sync codec: TCP streams and batching', () => {
  it('reassembles the captured messages from a stream split at every offset', () => {
    const stream = Buffer.concat(CAPTURE.map((d) => d.payload));
    const whole = readFrames(stream).frames.map((f) => f.buf.subarray(f.start, f.start + f.header.len).toString('hex'));
    for (let cut = 0; cut <= stream.length; cut += 7) {
      const r = new StreamReassembler();
      const got = [r.push(stream.subarray(0, cut)), r.push(stream.subarray(cut))].flatMap((s) => {
        assert.equal(s.stop, undefined);
        return s.frames.map((f) => f.buf.subarray(f.start, f.start + f.header.len).toString('hex'));
      });
      assert.deepEqual(got, whole, `cut at ${cut}`);
      assert.equal(r.pending, 0);
    }
  });

  it('keeps an incomplete message for the next read and drops the stream after an impossible length', () => {
    const r = new StreamReassembler();
    const alive = Buffer.from('1a10000800000001', 'hex');
    assert.deepEqual(r.push(alive.subarray(0, 3)).bytes, Buffer.alloc(0));
    assert.equal(r.pending, 3);
    const whole = r.push(alive.subarray(3));
    assert.deepEqual([whole.frames.length, whole.bytes], [1, alive]);
    const garbage = Buffer.from('1a100000000000011a10000800000002', 'hex');
    const split = r.push(garbage);
    assert.deepEqual([split.frames.length, split.stop, r.pending], [0, 'bad-size', 0]);
    assert.deepEqual(split.bytes, garbage, 'handed on, for the receiver to count');
  });

  it('packs messages greedily into datagrams of MTU - 28 (UDP) or MTU - 40 (TCP) bytes', () => {
    assert.equal(maxBatchSize(1500, 'udp'), 1472);
    assert.equal(maxBatchSize(1500, 'multicast'), 1472);
    assert.equal(maxBatchSize(1500, 'tcp'), 1460);
    const m = (n: number): Buffer => Buffer.alloc(n, n);
    const sizes = (ms: Buffer[], max: number): number[] => packed(ms, max).map((d) => d.length);
    assert.deepEqual(sizes([m(100), m(100), m(100)], 250), [200, 100]);
    assert.deepEqual(sizes([m(100), m(150), m(1)], 250), [250, 1]);
    assert.deepEqual(sizes([m(300), m(10)], 250), [300, 10], 'an oversized message goes out alone');
    assert.deepEqual(sizes([], 250), []);
  });

  it('writes a data message in place as encodeData writes it, and keeps nothing of one that fails', () => {
    const flow: Flow = { family: 2, orig: { l3: 2, src: '10.0.0.1', dst: '10.0.0.2', proto: 6, sport: 1, dport: 2 }, reply: {}, tcp: { state: 3 } };
    const write = (w: AttrWriter): void => encodeFlowAttributes(w, flow);
    const one = encodeData(MessageType.CT_NEW, 0, 7, write);
    const p = new DatagramPacker(2 * one.length);
    p.data(MessageType.CT_NEW, 0, 7, write);
    assert.throws(() => p.data(MessageType.CT_UPD, 0, 8, (w) => (write(w), w.u8(FlowAttr.L4PROTO, 6), assert.fail('body refused'))));
    assert.throws(() => p.data(MessageType.CT_UPD, 0, 8, (w) => w.raw(Buffer.alloc(0x10000))), SyncEncodeError, 'over 65,535 bytes');
    p.data(MessageType.CT_NEW, 0, 7, write);
    p.data(MessageType.CT_NEW, 0, 7, write);
    assert.deepEqual(p.take(), [Buffer.concat([one, one]), one]);
    assert.deepEqual(p.take(), [], 'take() empties the packer');
  });
});

/** `messages` packed as encoded messages into datagrams of at most `max` bytes. */
function packed(messages: Buffer[], max: number): Buffer[] {
  const p = new DatagramPacker(max);
  for (const m of messages) p.encoded(m);
  return p.take();
}

// ---------------------------------------------------------------------------
// Properties: decode(encode(x)) is x for every flow and expectation the wire
// can carry, written in the shape a decoded message has (NAT as natSrc /
// natDst, an empty reply tuple).

const u8 = fc.integer({ min: 0, max: 255 });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const v4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => formatIPv4(b, 0));
const v6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => formatIPv6(b, 0));
const addr = (family: number): fc.Arbitrary<string> => (family === 2 ? v4 : v6);
const opt = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(a, { nil: undefined });
const name = (max: number): fc.Arbitrary<string> =>
  fc.array(fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-'), { minLength: 1, maxLength: max }).map((cs) => cs.join(''));
/** A label bitmap of 1 to 32 words with at least one bit set (1.4.7 sends no empty bitmap). */
const labelsArb = fc
  .integer({ min: 1, max: 32 })
  .chain((words) => fc.tuple(fc.uint8Array({ minLength: 4 * words, maxLength: 4 * words }), fc.nat(4 * words - 1), fc.integer({ min: 1, max: 255 })))
  .map(([bytes, at, bit]) => {
    const b = Buffer.from(bytes);
    b[at] = bit;
    return b;
  });
/** Drops undefined members (recursively) so deepEqual compares what is there. */
function clean<T>(o: T): T {
  if (o === null || typeof o !== 'object' || Buffer.isBuffer(o)) return o;
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined).map(([k, v]) => [k, clean(v)])) as T;
}

function tupleArb(family: number, proto: number): fc.Arbitrary<Tuple> {
  const base = { l3: fc.constant(family), src: addr(family), dst: addr(family), proto: fc.constant(proto) };
  if ([6, 17, 132, 33].includes(proto)) return fc.record({ ...base, sport: u16, dport: u16 });
  if (proto === 1 || proto === 58) return fc.record({ ...base, icmpType: opt(u8), icmpCode: opt(u8), icmpId: opt(u16) });
  return fc.record(base);
}

const natArb = (family: number) => opt(fc.record({ minIp: opt(addr(family)), minPort: opt(u16) }).filter((n) => n.minIp !== undefined || n.minPort !== undefined));

const flowArb: fc.Arbitrary<Flow> = fc.tuple(fc.constantFrom(2, 10), fc.constantFrom(1, 6, 17, 33, 47, 58, 132, 250)).chain(([family, proto]) =>
  fc.record({
    family: fc.constant(family),
    orig: tupleArb(family, proto),
    reply: fc.constant({}),
    status: opt(u32),
    timeout: opt(u32),
    mark: opt(u32),
    zone: opt(u16),
    tcp: proto === 6 ? opt(fc.record({ state: u8, wscaleOrig: u8, wscaleReply: u8 })) : fc.constant(undefined),
    sctp: proto === 132 ? opt(fc.record({ state: u8, vtagOrig: u32, vtagReply: u32 })) : fc.constant(undefined),
    dccp: proto === 33 ? opt(fc.record({ state: u8, role: u8 })) : fc.constant(undefined),
    master: opt(fc.constantFrom(6, 17).chain((p) => tupleArb(family, p))),
    natSrc: natArb(family),
    natDst: natArb(family),
    seqAdjOrig: opt(fc.record({ correctionPos: u32, offsetBefore: u32, offsetAfter: u32 })),
    seqAdjReply: opt(fc.record({ correctionPos: u32, offsetBefore: u32, offsetAfter: u32 })),
    helper: opt(name(11)),
    labels: opt(labelsArb),
    synproxy: opt(fc.record({ its: u32, isn: u32, tsoff: u32 })),
  }).map((f) => {
    // Sequence adjustment travels only as a pair.
    if (!f.seqAdjOrig || !f.seqAdjReply) f.seqAdjOrig = f.seqAdjReply = undefined;
    return clean(f) as Flow;
  }),
);

const expectArb: fc.Arbitrary<Expectation> = fc.constantFrom(2, 10).chain((family) =>
  fc.record({
    family: fc.constant(family),
    master: tupleArb(family, 6),
    tuple: tupleArb(family, 6),
    mask: tupleArb(family, 6),
    timeout: opt(u32),
    flags: u32,
    class: opt(u32),
    helper: opt(name(11)),
    nat: opt(fc.record({ dir: opt(u32), tuple: opt(fc.record({ l3: fc.constant(2), src: v4, proto: opt(u8), sport: opt(u16) })) })).map((n) => (n && n.dir === undefined && !n.tuple ? undefined : n)),
    fn: opt(name(27)),
  }).map((e) => clean(e) as Expectation),
);

const hello = fc.constantFrom(0, MessageFlag.HELLO, MessageFlag.HELLO_BACK, MessageFlag.HELLO | MessageFlag.HELLO_BACK);

describe('sync codec: properties', () => {
  it('flow messages: decode(encode(m)) = m', () => {
    fc.assert(
      fc.property(flowArb, fc.constantFrom(MessageType.CT_NEW, MessageType.CT_UPD, MessageType.CT_DEL), u32, hello, (flow, type, seq, flags) => {
        const msg = { type, flags, seq, flow } as SyncMessage;
        const bytes = encodeMessage(msg, { windowTracking: true });
        assert.deepEqual(clean(decodeFrame(readFrames(bytes).frames[0]!)), msg);
      }),
      { numRuns: 500 },
    );
  });

  it('expectation messages: decode(encode(m)) = m', () => {
    fc.assert(
      fc.property(expectArb, fc.constantFrom(MessageType.EXP_NEW, MessageType.EXP_UPD, MessageType.EXP_DEL), u32, (expectation, type, seq) => {
        const msg = { type, flags: 0, seq, expectation } as SyncMessage;
        assert.deepEqual(clean(decodeFrame(readFrames(encodeMessage(msg)).frames[0]!)), msg);
      }),
      { numRuns: 500 },
    );
  });

  it('control messages: 16 bytes with a range, 8 for ALIVE, and back', () => {
    const flagsArb = fc.constantFrom(MessageFlag.ACK, MessageFlag.NACK, MessageFlag.RESYNC, MessageFlag.ALIVE).chain((f) => hello.map((h) => f | h));
    fc.assert(
      fc.property(flagsArb, u32, u32, u32, (flags, seq, from, to) => {
        const alive = flags & MessageFlag.ALIVE;
        const msg: SyncMessage = { type: MessageType.CTL, flags, seq, from: alive ? 0 : from, to: alive ? 0 : to };
        const bytes = encodeMessage(msg);
        assert.equal(bytes.length, alive ? 8 : 16);
        assert.equal(bytes[0], 0x1a);
        assert.deepEqual(decodeFrame(readFrames(bytes).frames[0]!), msg);
      }),
    );
  });

  it('a batch of messages splits back into the same messages', () => {
    fc.assert(
      fc.property(fc.array(flowArb, { minLength: 1, maxLength: 30 }), (flows) => {
        const msgs = flows.map((flow, i) => encodeMessage({ type: MessageType.CT_NEW, flags: 0, seq: i, flow }));
        const datagrams = packed(msgs, 1472);
        const back = datagrams.flatMap((d) => readFrames(d).frames.map((f) => f.buf.subarray(f.start, f.start + f.header.len)));
        assert.deepEqual(back, msgs);
        for (const d of datagrams) assert.ok(d.length <= 1472 || readFrames(d).frames.length === 1);
      }),
      { numRuns: 200 },
    );
  });
});
