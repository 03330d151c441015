import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { Flow, Tuple } from '../../src/ctnetlink/flow';
import { MessageFlag, MessageType } from '../../src/conntrackd/sync/header';
import { decodeFrame, encodeMessage, readFrames, type ExpectMessage, type FlowMessage, type SyncMessage } from '../../src/conntrackd/sync/message';
import type { Expectation } from '../../src/ctnetlink/expect';
import { readPcapUdp } from './pcap';

/*
 * Golden datagrams: two C conntrackd 1.4.7 daemons (FTFW over UDP,
 * TCPWindowTracking on) in network namespaces, flows made with `conntrack
 * -I` (and our library, for labels) on the primary (192.168.77.1); see test/fixtures/conntrackd/sync/README.md.
 */
const CAPTURE = readPcapUdp(path.join(__dirname, '../../../test/fixtures/conntrackd/sync/ftfw-udp.pcap'));
const PRIMARY = '192.168.77.1';
const messagesOf = (payload: Buffer): SyncMessage[] => readFrames(payload).frames.map(decodeFrame);
const fromPrimary = CAPTURE.filter((d) => d.src === PRIMARY);
const fromBackup = CAPTURE.filter((d) => d.src !== PRIMARY);

const A = '10.1.1.1';
const B = '10.2.2.2';
const SYNPROXY_ZERO = { its: 0, isn: 0, tsoff: 0 };

/** The flow as a kernel dump reports it: both tuples, the reply one with any NAT applied. */
function kernelFlow(orig: Tuple, reply: Tuple, rest: Partial<Flow>): Flow {
  const family = orig.src!.includes(':') ? 10 : 2;
  return { family, orig: { l3: family, ...orig }, reply: { l3: family, ...reply }, synproxy: SYNPROXY_ZERO, mark: 0, ...rest };
}
const tcp = (sport: number, dport: number, src = A, dst = B): Tuple => ({ src, dst, proto: 6, sport, dport });
const udp = (sport: number, dport: number, src = A, dst = B): Tuple => ({ src, dst, proto: 17, sport, dport });
const ESTABLISHED = { state: 3, wscaleOrig: 0, wscaleReply: 0 };

/**
 * The first data messages of the primary, in the order the capture script
 * made the flows, as the library reports those flows from the kernel.
 * DCCP is missing: the kernel (6.18) no longer tracks DCCP, so the flow has
 * no ports, and 1.4.7 fills the PORT attribute it always sends for DCCP
 * with whatever the previous flow left in its buffer (the SCTP ports).
 */
const CREATED: ReadonlyArray<[string, MessageType, Flow]> = [
  ['tcp with mark', MessageType.CT_NEW, kernelFlow(tcp(1000, 80), tcp(80, 1000, B, A), { status: 0x0c, timeout: 300, mark: 7, tcp: ESTABLISHED })],
  ['udp', MessageType.CT_NEW, kernelFlow(udp(5353, 53), udp(53, 5353, B, A), { status: 0x08, timeout: 30 })],
  ['icmp with id', MessageType.CT_NEW, kernelFlow({ src: A, dst: B, proto: 1, icmpType: 8, icmpCode: 0, icmpId: 4660 }, { src: B, dst: A, proto: 1, icmpType: 0, icmpCode: 0, icmpId: 4660 }, { status: 0x08, timeout: 30 })],
  ['tcp in zone 5', MessageType.CT_NEW, kernelFlow(tcp(1001, 80), tcp(80, 1001, B, A), { status: 0x08, timeout: 300, zone: 5, tcp: ESTABLISHED })],
  ['snat with port', MessageType.CT_NEW, kernelFlow(tcp(1002, 443), tcp(443, 4000, B, '10.9.9.9'), { status: 0x198, timeout: 300, tcp: ESTABLISHED })],
  ['dnat with port', MessageType.CT_NEW, kernelFlow(tcp(1003, 80), tcp(8080, 1003, '10.8.8.8', A), { status: 0x1a8, timeout: 300, tcp: ESTABLISHED })],
  ['snat and dnat', MessageType.CT_NEW, kernelFlow(udp(1004, 53), udp(53, 1004, '10.8.8.8', '10.9.9.9'), { status: 0x1b8, timeout: 30 })],
  ['sctp', MessageType.CT_NEW, kernelFlow({ src: A, dst: B, proto: 132, sport: 1005, dport: 5000 }, { src: B, dst: A, proto: 132, sport: 5000, dport: 1005 }, { status: 0x08, timeout: 300, sctp: { state: 4, vtagOrig: 0x11000000, vtagReply: 0x22000000 } })],
  ['gre', MessageType.CT_NEW, kernelFlow({ src: A, dst: B, proto: 47 }, { src: B, dst: A, proto: 47 }, { status: 0x08, timeout: 30 })],
  ['ipv6 tcp with mark', MessageType.CT_NEW, kernelFlow(tcp(1007, 22, '2001:db8::1', '2001:db8::2'), tcp(22, 1007, '2001:db8::2', '2001:db8::1'), { status: 0x08, timeout: 300, mark: 3, tcp: ESTABLISHED })],
  ['icmpv6', MessageType.CT_NEW, kernelFlow({ src: '2001:db8::1', dst: '2001:db8::2', proto: 58, icmpType: 128, icmpCode: 0, icmpId: 77 }, { src: '2001:db8::2', dst: '2001:db8::1', proto: 58, icmpType: 129, icmpCode: 0, icmpId: 77 }, { status: 0x08, timeout: 30 })],
  ['ipv6 snat', MessageType.CT_NEW, kernelFlow(udp(1008, 53, '2001:db8::1', '2001:db8::2'), udp(53, 1008, '2001:db8::2', '2001:db8::9'), { status: 0x198, timeout: 30 })],
  ['tcp syn_sent', MessageType.CT_NEW, kernelFlow(tcp(1009, 80), tcp(80, 1009, B, A), { status: 0x0a, timeout: 60, tcp: { state: 1, wscaleOrig: 0, wscaleReply: 0 } })],
  ['update: mark 9', MessageType.CT_UPD, kernelFlow(tcp(1000, 80), tcp(80, 1000, B, A), { status: 0x0c, timeout: 293, mark: 9, tcp: ESTABLISHED })],
  ['delete udp', MessageType.CT_DEL, kernelFlow(udp(5353, 53), udp(53, 5353, B, A), { status: 0x08, timeout: 30 })],
];

/** The primary's messages up to the resync, in order. */
const firstData = fromPrimary.flatMap((d) => messagesOf(d.payload)).filter((m): m is FlowMessage => m.type !== MessageType.CTL).slice(0, 16);
const withoutDccp = firstData.filter((m) => m.flow.orig.proto !== 33);

describe('sync codec: golden datagrams of conntrackd 1.4.7', () => {
  it('every captured datagram splits into whole messages that all decode', () => {
    let messages = 0;
    for (const d of CAPTURE) {
      const split = readFrames(d.payload);
      assert.equal(split.stop, undefined);
      assert.equal(split.end, d.payload.length);
      for (const f of split.frames) decodeFrame(f);
      messages += split.frames.length;
    }
    assert.equal(messages, 110);
  });

  it('decodes the data messages to the flows the capture made', () => {
    assert.equal(withoutDccp.length, CREATED.length);
    CREATED.forEach(([what, type, k], i) => {
      const m = withoutDccp[i]!;
      assert.equal(m.type, type, what);
      assert.equal(m.flow.orig.src, k.orig.src, what);
      assert.equal(m.flow.orig.proto, k.orig.proto, what);
      assert.equal(m.flow.status, k.status, what);
      assert.equal(m.flow.mark, k.mark, what);
      assert.deepEqual(m.flow.reply, {}, `${what}: only the original tuple travels`);
    });
    const nat = (i: number): unknown => ({ src: withoutDccp[i]!.flow.natSrc, dst: withoutDccp[i]!.flow.natDst });
    assert.deepEqual(nat(4), { src: { minIp: '10.9.9.9', minPort: 4000 }, dst: undefined });
    assert.deepEqual(nat(5), { src: undefined, dst: { minIp: '10.8.8.8', minPort: 8080 } });
    assert.deepEqual(nat(6), { src: { minIp: '10.9.9.9' }, dst: { minIp: '10.8.8.8' } });
    assert.deepEqual(nat(11), { src: { minIp: '2001:db8::9' }, dst: undefined });
    assert.equal(withoutDccp[2]!.flow.orig.icmpId, 4660, 'ICMP id travels little-endian');
    assert.equal(withoutDccp[10]!.flow.orig.icmpId, 77);
    assert.equal(withoutDccp[3]!.flow.zone, 5, 'zone travels big-endian');
    assert.deepEqual(withoutDccp[7]!.flow.sctp, { state: 4, vtagOrig: 0x11000000, vtagReply: 0x22000000 });
    const dccp = firstData.find((m) => m.flow.orig.proto === 33)!;
    assert.deepEqual([dccp.flow.orig.sport, dccp.flow.orig.dport, dccp.flow.dccp], [1005, 5000, undefined]);
  });

  it('encodes the kernel flows to the same bytes, attribute order and NAT included (timeouts run down: taken from the capture)', () => {
    const golden = fromPrimary.flatMap((d) => readFrames(d.payload).frames).filter((f) => f.header.type <= MessageType.CT_DEL && (decodeFrame(f) as FlowMessage).flow.orig.proto !== 33).slice(0, CREATED.length);
    CREATED.forEach(([what, type, flow], i) => {
      const f = golden[i]!;
      const timeout = (decodeFrame(f) as FlowMessage).flow.timeout;
      const bytes = encodeMessage({ type, flags: 0, seq: f.header.seq, flow: { ...flow, timeout } } as FlowMessage, { windowTracking: true });
      assert.equal(bytes.toString('hex'), f.buf.subarray(f.start, f.start + f.header.len).toString('hex'), what);
    });
  });

  it('labels: 32-bit big-endian words, bit n in word n/32', () => {
    const frame = fromPrimary.flatMap((d) => readFrames(d.payload).frames).find((f) => (decodeFrame(f) as FlowMessage).flow?.labels)!;
    const { flow, seq } = decodeFrame(frame) as FlowMessage;
    const labels = Buffer.alloc(16);
    labels[0] = 1 << 3; // bit 3
    labels[8] = 1 << 6; // bit 70
    assert.deepEqual(flow.labels, labels);
    const kernel = kernelFlow(tcp(1010, 80), tcp(80, 1010, B, A), { status: 0x08, timeout: flow.timeout, tcp: ESTABLISHED, labels });
    const bytes = encodeMessage({ type: MessageType.CT_NEW, flags: 0, seq, flow: kernel }, { windowTracking: true });
    assert.equal(bytes.toString('hex'), frame.buf.subarray(frame.start, frame.start + frame.header.len).toString('hex'));
    assert.match(bytes.toString('hex'), /0014001c000000080000000000000040000000000/);
  });

  it('expectations: the ftp helper expectation, decoded and encoded again from the library shape', () => {
    const frame = fromPrimary.flatMap((d) => readFrames(d.payload).frames).find((f) => f.header.type === MessageType.EXP_NEW)!;
    const msg = decodeFrame(frame) as ExpectMessage;
    const ftp = '10.7.7.1';
    const expectation: Expectation = {
      family: 2,
      master: { l3: 2, src: ftp, dst: ftp, proto: 6, sport: 40000, dport: 21 },
      tuple: { l3: 2, src: ftp, dst: ftp, proto: 6, sport: 0, dport: 10000 },
      mask: { l3: 2, src: '255.255.255.255', dst: '255.255.255.255', proto: 6, sport: 0, dport: 0xffff },
      timeout: msg.expectation.timeout,
      flags: 0,
      class: 0,
      helper: 'ftp',
    };
    assert.deepEqual(msg.expectation, expectation);
    const bytes = encodeMessage({ type: MessageType.EXP_NEW, flags: 0, seq: msg.seq, expectation });
    assert.equal(bytes.toString('hex'), frame.buf.subarray(frame.start, frame.start + frame.header.len).toString('hex'));
  });

  it('re-encodes every captured message to its own bytes', () => {
    for (const d of CAPTURE) {
      for (const f of readFrames(d.payload).frames) {
        const again = encodeMessage(decodeFrame(f), { windowTracking: true });
        assert.equal(again.toString('hex'), f.buf.subarray(f.start, f.start + f.header.len).toString('hex'));
      }
    }
  });

  it('the start-up handshake: ALIVE|HELLO, ACK|HELLO|HELLO_BACK, ACK|HELLO_BACK, then plain ACKs', () => {
    const first = CAPTURE.slice(0, 4).map((d) => messagesOf(d.payload)[0]!);
    assert.deepEqual(first.map((m) => [m.type, m.flags, first.indexOf(m) % 2 === 0 ? 'primary' : 'backup']), [
      [MessageType.CTL, MessageFlag.ALIVE | MessageFlag.HELLO, 'primary'],
      [MessageType.CTL, MessageFlag.ACK | MessageFlag.HELLO | MessageFlag.HELLO_BACK, 'backup'],
      [MessageType.CTL, MessageFlag.ACK | MessageFlag.HELLO_BACK, 'primary'],
      [MessageType.CTL, MessageFlag.ACK, 'backup'],
    ]);
    assert.deepEqual(CAPTURE.slice(0, 4).map((d) => d.payload.length), [8, 16, 16, 16]);
  });

  it('a bulk answer batches several messages in one datagram of at most MTU - 28 bytes', () => {
    const bulk = fromPrimary.find((d) => readFrames(d.payload).frames.length > 1)!;
    const kinds = messagesOf(bulk.payload).map((m) => m.type);
    assert.equal(kinds.length, 13);
    assert.ok(bulk.payload.length <= 1500 - 28);
    assert.deepEqual(new Set(kinds), new Set([MessageType.CT_NEW, MessageType.CT_UPD]), 'NEW objects as CT_NEW, updated ones as CT_UPD');
    const resync = fromBackup.flatMap((d) => messagesOf(d.payload)).find((m) => m.flags === MessageFlag.RESYNC)!;
    assert.deepEqual(resync, { type: MessageType.CTL, flags: MessageFlag.RESYNC, seq: resync.seq, from: 0, to: 0 });
  });
});
