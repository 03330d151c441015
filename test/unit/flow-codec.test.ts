import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatIPv4, formatIPv6 } from '../../src/ctnetlink/address';
import {
  CountersAttr,
  CtAttr,
  DccpAttr,
  HelpAttr,
  Proto,
  ProtoinfoAttr,
  SecctxAttr,
  TcpState,
  TimestampAttr,
} from '../../src/ctnetlink/constants';
import type { Flow, Tuple } from '../../src/ctnetlink/flow';
import { decodeFlow, encodeFlow } from '../../src/ctnetlink/flow-codec';
import { Status } from '../../src/ctnetlink/status';
import { l4Layout, L4Layout, sctpStateName, tcpStateName } from '../../src/format/names';
import { AttributeCursor, MessageWriter } from '../../src/netlink/attributes';
import { ProtocolError } from '../../src/netlink/errors';
import {
  attr,
  be32,
  be64,
  cstr,
  fixtureText,
  flowFixtureNames,
  loadMessage,
  nest,
  randomBytes,
  randomInt,
  seededRandom,
  u8,
  type CapturedMessage,
} from './ctnetlink-fixtures';

function decodeMessage(m: CapturedMessage): Flow {
  return decodeFlow(m.buf, m.start, m.end, m.family);
}

function decodeFixture(name: string): Flow {
  return decodeMessage(loadMessage(name));
}

/** decodeFlow over hand-made attribute bytes. */
function decodeBytes(bytes: Buffer, family = 2): Flow {
  return decodeFlow(bytes, 0, bytes.length, family);
}

function encoded(f: Partial<Flow>, writer = new MessageWriter(2048)): Buffer {
  // Large enough that no write grows the buffer; growth has its own test.
  encodeFlow(writer, f);
  return writer.toBuffer();
}

/**
 * What a captured flow reads as after encoding: only the fields a request
 * carries (the rest is kernel-side state encodeFlow never sends), and ports
 * for every port protocol (the kernel sends none for DCCP without a tracker).
 */
function afterEncoding(f: Flow): Flow {
  const { use, countersOrig, countersReply, timestamp, eventTimestamp, secmark, secctx, ...request } = f;
  const withPorts = (t: Tuple): Tuple =>
    l4Layout(t.proto) === L4Layout.PORTS && t.sport === undefined ? { ...t, sport: 0, dport: 0 } : t;
  return { ...request, orig: withPorts(f.orig), reply: withPorts(f.reply) };
}

/** Host-order 32-bit words, as CTA_LABELS carries them. */
function labelWords(...words: number[]): Buffer {
  return Buffer.from(new Uint32Array(words).buffer);
}

/**
 * The facts of one `conntrack -L` line that come from the kernel
 * message, so every printed field can be compared with what we decoded: the
 * reference tool is an independent decoder of the same bytes.
 */
interface LineFacts {
  proto: number;
  timeout?: number;
  state?: string;
  orig: Map<string, string>;
  reply: Map<string, string>;
  flags: Set<string>;
  global: Map<string, string>;
}

function parseLine(line: string): LineFacts {
  const words = line.trim().split(/\s+/);
  const facts: LineFacts = { proto: Number(words[1]), orig: new Map(), reply: new Map(), flags: new Set(), global: new Map() };
  let i = 2;
  if (/^\d+$/.test(words[i]!)) facts.timeout = Number(words[i++]);
  if (/^[A-Z_0-9]+$/.test(words[i]!)) facts.state = words[i++];
  let direction = facts.orig;
  for (; i < words.length; i++) {
    const word = words[i]!;
    if (word.startsWith('[')) {
      facts.flags.add(word);
      continue;
    }
    const [key, value] = word.split('=') as [string, string];
    if (key === 'src' && direction.has('src')) direction = facts.reply;
    if (['mark', 'zone', 'use', 'helper', 'delta-time', 'secmark', 'secctx'].includes(key)) facts.global.set(key, value);
    else direction.set(key, value);
  }
  return facts;
}

function checkTupleAgainstLine(t: Tuple, facts: Map<string, string>, zoneKey: string, what: string): void {
  assert.equal(facts.get('src'), t.src, `${what} src`);
  assert.equal(facts.get('dst'), t.dst, `${what} dst`);
  // libnetfilter_conntrack prints 0 for a port or ICMP field the kernel did not send.
  switch (l4Layout(t.proto)) {
    case L4Layout.PORTS:
      assert.equal(Number(facts.get('sport')), t.sport ?? 0, `${what} sport`);
      assert.equal(Number(facts.get('dport')), t.dport ?? 0, `${what} dport`);
      break;
    case L4Layout.GRE_KEYS:
      assert.equal(Number(facts.get('srckey')), t.sport, `${what} srckey`);
      assert.equal(Number(facts.get('dstkey')), t.dport, `${what} dstkey`);
      break;
    case L4Layout.ICMP:
      assert.equal(Number(facts.get('type')), t.icmpType, `${what} type`);
      assert.equal(Number(facts.get('code')), t.icmpCode, `${what} code`);
      assert.equal(Number(facts.get('id')), t.icmpId, `${what} id`);
      break;
    case L4Layout.NONE:
      break;
  }
  assert.equal(facts.get(zoneKey), t.zone?.toString(), `${what} zone`);
}

function checkCountersAgainstLine(counters: Flow['countersOrig'], facts: Map<string, string>, what: string): void {
  assert.equal(facts.get('packets'), counters?.packets.toString(), `${what} packets`);
  assert.equal(facts.get('bytes'), counters?.bytes.toString(), `${what} bytes`);
}

describe('decodeFlow on captured kernel messages', () => {
  for (const name of flowFixtureNames()) {
    const text = fixtureText(name);
    if (text === undefined) continue;
    it(`${name}: every field the reference tool printed`, () => {
      const flow = decodeFixture(name);
      const line = parseLine(text);
      assert.equal(flow.orig.proto, line.proto);
      assert.equal(flow.reply.proto, line.proto);
      assert.equal(flow.timeout, line.timeout);
      const state =
        flow.tcp?.state !== undefined ? tcpStateName(flow.tcp.state) : flow.sctp?.state !== undefined ? sctpStateName(flow.sctp.state) : undefined;
      assert.equal(state, line.state);
      checkTupleAgainstLine(flow.orig, line.orig, 'zone-orig', 'orig');
      checkTupleAgainstLine(flow.reply, line.reply, 'zone-reply', 'reply');
      checkCountersAgainstLine(flow.countersOrig, line.orig, 'orig');
      checkCountersAgainstLine(flow.countersReply, line.reply, 'reply');
      assert.equal(line.flags.has('[UNREPLIED]'), ((flow.status ?? 0) & Status.SEEN_REPLY) === 0);
      assert.equal(line.flags.has('[ASSURED]'), ((flow.status ?? 0) & Status.ASSURED) !== 0);
      assert.equal(line.global.get('mark'), flow.mark?.toString());
      assert.equal(line.global.get('zone'), flow.zone?.toString());
      assert.equal(line.global.get('use'), flow.use?.toString());
      assert.equal(line.global.get('helper'), flow.helper);
      assert.equal(line.global.has('delta-time'), flow.timestamp?.start !== undefined);
      assert.equal(typeof flow.id, 'number');
    });
  }

  /** A flow with the per-capture values (id, timeout) checked and then fixed, for deep comparison. */
  function stable(name: string): Flow {
    const flow = decodeFixture(name);
    assert.ok(Number.isInteger(flow.id) && flow.id! >= 0 && flow.id! <= 0xffffffff, `${name} id`);
    assert.ok(flow.timeout! > 0, `${name} timeout`);
    return { ...flow, id: 1, timeout: 1 };
  }
  const ctlTcpInfo = (state: number, flags: number) => ({
    state,
    wscaleOrig: 0,
    wscaleReply: 0,
    flagsOrig: { flags, mask: 0 },
    flagsReply: { flags, mask: 0 },
  });
  // ctnetlink gives every entry it creates a synproxy extension, and dumps it.
  const NO_SYNPROXY = { isn: 0, its: 0, tsoff: 0 };

  it('tcp-ipv4-established-assured-mark: the whole entry', () => {
    assert.deepEqual(stable('tcp-ipv4-established-assured-mark'), {
      family: 2,
      orig: { l3: 2, src: '10.0.0.1', dst: '10.0.0.2', proto: 6, sport: 1111, dport: 80 },
      reply: { l3: 2, src: '10.0.0.2', dst: '10.0.0.1', proto: 6, sport: 80, dport: 1111 },
      status: Status.CONFIRMED | Status.SEEN_REPLY | Status.ASSURED,
      mark: 1,
      id: 1,
      use: 1,
      timeout: 1,
      // conntrack -p tcp always sends BE_LIBERAL | SACK_PERM.
      tcp: ctlTcpInfo(TcpState.ESTABLISHED, 0x0a),
      synproxy: NO_SYNPROXY,
    });
  });

  it('tcp-ipv4-accounting: counters and start timestamp, CLOSE_INIT in TIME_WAIT, mark 2^32-1', () => {
    const flow = stable('tcp-ipv4-accounting');
    const start = flow.timestamp?.start;
    assert.ok(typeof start === 'bigint' && start > 1_600_000_000_000_000_000n, 'wall-clock ns');
    assert.deepEqual(flow, {
      family: 2,
      orig: { l3: 2, src: '10.0.0.1', dst: '10.0.0.20', proto: 6, sport: 1234, dport: 22 },
      reply: { l3: 2, src: '10.0.0.20', dst: '10.0.0.1', proto: 6, sport: 22, dport: 1234 },
      status: Status.CONFIRMED,
      mark: 0xffffffff,
      id: 1,
      use: 1,
      timeout: 1,
      tcp: ctlTcpInfo(TcpState.TIME_WAIT, 0x0e),
      countersOrig: { packets: 0n, bytes: 0n },
      countersReply: { packets: 0n, bytes: 0n },
      timestamp: { start },
      synproxy: NO_SYNPROXY,
    });
  });

  it('sctp-ipv4-established-vtags: the vtags as the kernel holds them (the tool byte-swaps them)', () => {
    assert.deepEqual(stable('sctp-ipv4-established-vtags').sctp, { state: 4, vtagOrig: 0x01000000, vtagReply: 0x02000000 });
  });

  it('NAT entries: the reply tuple carries the translation, status the NAT bits', () => {
    const snat = stable('tcp-ipv4-snat');
    assert.equal(snat.reply.dst, '203.0.113.1');
    assert.equal(snat.status, Status.CONFIRMED | Status.SRC_NAT | Status.SRC_NAT_DONE | Status.DST_NAT_DONE);
    const dnat = stable('tcp-ipv4-dnat-port');
    assert.deepEqual([dnat.reply.src, dnat.reply.sport], ['192.168.1.20', 80]);
    assert.equal(dnat.status, Status.CONFIRMED | Status.DST_NAT | Status.SRC_NAT_DONE | Status.DST_NAT_DONE);
    assert.equal(stable('tcp-ipv6-dnat').reply.src, '2001:db8::99');
  });

  it('zones: in a tuple (CTA_TUPLE_ZONE) or for the entry (CTA_ZONE)', () => {
    assert.equal(stable('udp-ipv4-orig-zone').orig.zone, 3);
    assert.equal(stable('udp-ipv4-reply-zone').reply.zone, 4);
    const zoned = stable('udp-ipv4-zone');
    assert.deepEqual([zoned.zone, zoned.orig.zone, zoned.reply.zone], [5, undefined, undefined]);
  });

  it('an entry without a tracker has no ports and no protocol info', () => {
    const dccp = stable('dccp-ipv4-untracked');
    assert.deepEqual(dccp.orig, { l3: 2, src: '10.0.0.1', dst: '10.0.0.14', proto: Proto.DCCP });
    assert.equal(dccp.dccp, undefined);
  });

  it('the FTP control connection: helper, mark, labels 3 and 100, window scaling', () => {
    const ftp = decodeFixture('real-tcp-ipv4-established-helper-ftp');
    assert.equal(ftp.helper, 'ftp');
    assert.equal(ftp.mark, 7);
    assert.deepEqual(ftp.labels, labelWords(1 << 3, 0, 0, 1 << 4));
    assert.equal(ftp.tcp?.state, TcpState.ESTABLISHED);
    assert.equal(typeof ftp.tcp?.wscaleOrig, 'number');
    assert.equal(ftp.orig.dport, 21);
    assert.ok(ftp.countersOrig!.packets > 0n && ftp.countersReply!.bytes > 0n);
  });

  it('the expected FTP data connection names the control connection as its master', () => {
    const data = decodeFixture('real-tcp-ipv4-established-expected');
    const control = decodeFixture('real-tcp-ipv4-established-helper-ftp');
    assert.deepEqual(data.master, control.orig);
    assert.equal((data.status ?? 0) & Status.EXPECTED, Status.EXPECTED);
    assert.equal(data.orig.dport, 10000);
  });

  it('real traffic: counters and timestamps on every entry, kernel-made TCP state', () => {
    for (const name of flowFixtureNames().filter((n) => n.startsWith('real-'))) {
      const flow = decodeFixture(name);
      assert.ok(flow.countersOrig && flow.countersReply, `${name} counters`);
      assert.ok(flow.countersOrig.packets > 0n, `${name} packets`);
      assert.ok(typeof flow.timestamp?.start === 'bigint', `${name} timestamp`);
      assert.equal(flow.synproxy, undefined, `${name}: only ctnetlink-made entries have synproxy`);
      if (flow.orig.proto === Proto.TCP) assert.ok(flow.tcp?.flagsOrig && flow.tcp.wscaleReply !== undefined, name);
    }
  });

  it('events: NEW and UPDATE lack use; DESTROY has the stop time; all have the event time', () => {
    const created = decodeFixture('event-new-udp-ipv4');
    const updated = decodeFixture('event-update-udp-ipv4');
    const destroyed = decodeFixture('event-destroy-udp-ipv4');
    assert.equal(created.use, undefined);
    assert.equal(updated.mark, 3);
    assert.equal(created.id, destroyed.id);
    const { start, stop } = destroyed.timestamp ?? {};
    assert.ok(start !== undefined && stop !== undefined && stop >= start);
    assert.ok(created.eventTimestamp! <= updated.eventTimestamp! && updated.eventTimestamp! <= destroyed.eventTimestamp!);
    assert.ok(destroyed.eventTimestamp! >= stop);
  });

  it('every attribute the kernel sent is one decodeFlow knows', () => {
    const known = new Set<number>([
      CtAttr.TUPLE_ORIG, CtAttr.TUPLE_REPLY, CtAttr.TUPLE_MASTER, CtAttr.STATUS, CtAttr.PROTOINFO, CtAttr.HELP,
      CtAttr.TIMEOUT, CtAttr.MARK, CtAttr.COUNTERS_ORIG, CtAttr.COUNTERS_REPLY, CtAttr.USE, CtAttr.ID,
      CtAttr.SEQ_ADJ_ORIG, CtAttr.SEQ_ADJ_REPLY, CtAttr.SECMARK, CtAttr.ZONE, CtAttr.SECCTX, CtAttr.TIMESTAMP,
      CtAttr.LABELS, CtAttr.SYNPROXY, CtAttr.TIMESTAMP_EVENT,
    ]);
    for (const name of flowFixtureNames()) {
      const m = loadMessage(name);
      const c = new AttributeCursor(m.buf, m.start, m.end);
      while (c.next()) assert.ok(known.has(c.type), `${name}: attribute ${c.type}`);
    }
  });
});

describe('decodeFlow on hand-made attributes', () => {
  it('reads the attributes no capture here carries', () => {
    const bytes = Buffer.concat([
      attr(CtAttr.SECMARK, be32(42)),
      nest(CtAttr.SECCTX, attr(SecctxAttr.NAME, cstr('system_u:object_r:ssh_t:s0'))),
      nest(CtAttr.COUNTERS_ORIG, attr(CountersAttr.PACKETS32, be32(7)), attr(CountersAttr.BYTES32, be32(700))),
      nest(CtAttr.COUNTERS_REPLY, attr(CountersAttr.PACKETS, be64(2n ** 40n)), attr(CountersAttr.BYTES, be64(2n ** 64n - 1n))),
      nest(CtAttr.TIMESTAMP, attr(TimestampAttr.START, be64(1n)), attr(TimestampAttr.STOP, be64(2n))),
      nest(CtAttr.PROTOINFO, nest(ProtoinfoAttr.DCCP, attr(DccpAttr.STATE, u8(4)), attr(DccpAttr.ROLE, u8(1)), attr(DccpAttr.HANDSHAKE_SEQ, be64(2n ** 47n + 5n)))),
      nest(CtAttr.HELP, attr(HelpAttr.INFO, Buffer.alloc(8)), attr(HelpAttr.NAME, cstr('sip'))),
    ]);
    assert.deepEqual(decodeBytes(bytes, 10), {
      family: 10,
      orig: {},
      reply: {},
      secmark: 42,
      secctx: 'system_u:object_r:ssh_t:s0',
      countersOrig: { packets: 7n, bytes: 700n },
      countersReply: { packets: 2n ** 40n, bytes: 2n ** 64n - 1n },
      timestamp: { start: 1n, stop: 2n },
      dccp: { state: 4, role: 1, handshakeSeq: 2n ** 47n + 5n },
      helper: 'sip',
    });
  });

  it('skips attributes it does not know, at every level, and the padding attributes', () => {
    const bytes = Buffer.concat([
      attr(99, Buffer.from('from a future kernel')),
      attr(CtAttr.MARK_MASK, be32(1)),
      nest(CtAttr.COUNTERS_ORIG, attr(CountersAttr.PAD, Buffer.alloc(0)), attr(CountersAttr.PACKETS, be64(1n)), attr(CountersAttr.BYTES, be64(2n))),
      nest(CtAttr.PROTOINFO, nest(9, attr(1, u8(1)))),
      attr(CtAttr.MARK, be32(5)),
    ]);
    assert.deepEqual(decodeBytes(bytes), { family: 2, orig: {}, reply: {}, countersOrig: { packets: 1n, bytes: 2n }, mark: 5 });
  });

  it('returns empty tuples for a message without them', () => {
    assert.deepEqual(decodeBytes(Buffer.alloc(0), 0), { family: 0, orig: {}, reply: {} });
  });
});

/** Every field encodeFlow sends, in both address families. */
const EVERY_FIELD: Flow[] = [
  {
    family: 2,
    orig: { l3: 2, src: '192.0.2.1', dst: '198.51.100.2', proto: 6, sport: 40000, dport: 21, zone: 1 },
    reply: { l3: 2, src: '198.51.100.2', dst: '203.0.113.9', proto: 6, sport: 21, dport: 1024, zone: 2 },
    master: { l3: 2, src: '192.0.2.1', dst: '198.51.100.2', proto: 6, sport: 39999, dport: 21 },
    status: Status.CONFIRMED | Status.SEEN_REPLY | Status.ASSURED | Status.SRC_NAT | Status.SEQ_ADJUST,
    timeout: 432000,
    mark: 0xdeadbeef,
    zone: 7,
    id: 0xffffffff,
    tcp: { state: 3, wscaleOrig: 7, wscaleReply: 14, flagsOrig: { flags: 0x23, mask: 0x0a }, flagsReply: { flags: 0x0a, mask: 0xff } },
    natSrc: { minIp: '203.0.113.9', maxIp: '203.0.113.10', minPort: 1024, maxPort: 65535 },
    natDst: { minIp: '10.0.0.1' },
    helper: 'ftp',
    labels: labelWords(1, 0, 0, 0x80000000),
    labelsMask: labelWords(0xffffffff, 0, 0, 0x80000000),
    seqAdjOrig: { correctionPos: 0xfffffff0, offsetBefore: 3, offsetAfter: 0x80000000 },
    seqAdjReply: { correctionPos: 1, offsetBefore: 2, offsetAfter: 3 },
    synproxy: { isn: 1, its: 0xffffffff, tsoff: 3 },
  },
  {
    family: 10,
    orig: { l3: 10, src: '2001:db8::1', dst: '::ffff:192.0.2.7', proto: 132, sport: 3868, dport: 3868 },
    reply: { l3: 10, src: '::ffff:192.0.2.7', dst: '2001:db8::1', proto: 132, sport: 3868, dport: 3868 },
    sctp: { state: 4, vtagOrig: 0x01000000, vtagReply: 0xffffffff },
    natSrc: { minIp: '2001:db8::100', maxIp: '2001:db8::1ff' },
    natDst: { minPort: 80 },
  },
  {
    family: 10,
    orig: { l3: 10, src: 'fe80::1', dst: 'ff02::1', proto: 33, sport: 1, dport: 2 },
    reply: {},
    dccp: { state: 9, role: 0, handshakeSeq: 2n ** 48n - 1n },
    status: 0,
    mark: 0,
    timeout: 0,
    zone: 0,
  },
];

/** A random flow of request fields, consistent enough to survive encoding. */
function randomFlow(random: () => number): Flow {
  const v6 = random() < 0.5;
  const family = v6 ? 10 : 2;
  const address = () => (v6 ? formatIPv6(randomBytes(random, 16), 0) : formatIPv4(randomBytes(random, 4), 0));
  const u32 = () => randomInt(random, 2 ** 32);
  const maybe = <T>(make: () => T): T | undefined => (random() < 0.5 ? make() : undefined);
  const protos = [Proto.TCP, Proto.UDP, Proto.SCTP, Proto.ICMP, Proto.ICMPV6, 47, 132, 200];
  const proto = protos[randomInt(random, protos.length)]!;
  const tuple = (): Tuple => {
    const t: Tuple = { l3: family, src: address(), dst: address(), proto };
    if (proto === Proto.ICMP || proto === Proto.ICMPV6) {
      t.icmpType = randomInt(random, 256);
      t.icmpCode = randomInt(random, 256);
      t.icmpId = randomInt(random, 65536);
    } else if (proto !== 200) {
      t.sport = randomInt(random, 65536);
      t.dport = randomInt(random, 65536);
    }
    if (random() < 0.2) t.zone = randomInt(random, 65536);
    return t;
  };
  const flow: Flow = { family, orig: tuple(), reply: tuple() };
  const fields: Partial<Flow> = {
    master: maybe(tuple),
    status: maybe(u32),
    timeout: maybe(u32),
    mark: maybe(u32),
    zone: maybe(() => randomInt(random, 65536)),
    id: maybe(u32),
    tcp: maybe(() => ({ state: randomInt(random, 10), flagsOrig: { flags: randomInt(random, 256), mask: randomInt(random, 256) } })),
    sctp: maybe(() => ({ vtagReply: u32() })),
    natSrc: maybe(() => ({ minIp: address(), minPort: randomInt(random, 65536) })),
    helper: maybe(() => 'h'.repeat(1 + randomInt(random, 15))),
    labels: maybe(() => randomBytes(random, 16)),
    seqAdjReply: maybe(() => ({ correctionPos: u32(), offsetBefore: u32(), offsetAfter: u32() })),
    synproxy: maybe(() => ({ isn: u32(), its: u32(), tsoff: u32() })),
  };
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined) (flow as unknown as Record<string, unknown>)[key] = value;
  }
  return flow;
}

describe('flow round trips', () => {
  it('decodeFlow(encodeFlow(f)) equals the request part of every captured flow', () => {
    for (const name of flowFixtureNames()) {
      const flow = decodeFixture(name);
      assert.deepEqual(decodeBytes(encoded(flow), flow.family), afterEncoding(flow), name);
    }
  });

  it('decodeFlow(encodeFlow(f)) equals f for hand-built flows covering every field', () => {
    for (const flow of EVERY_FIELD) assert.deepEqual(decodeBytes(encoded(flow), flow.family), flow);
  });

  it('decodeFlow(encodeFlow(f)) equals f for random flows', () => {
    for (let seed = 1; seed <= 3000; seed++) {
      const flow = randomFlow(seededRandom(seed));
      assert.deepEqual(decodeBytes(encoded(flow), flow.family), flow, `seed ${seed}`);
    }
  });

  it(
    'encodes into a writer that grows in the middle of an attribute',
    () => {
      for (const flow of EVERY_FIELD) {
        for (let size = 4; size <= 512; size += 4) {
          assert.deepEqual(decodeBytes(encoded(flow, new MessageWriter(size)), flow.family), flow, `initial size ${size}`);
        }
      }
    },
  );

  it('never sends kernel-side state, nor tuples without fields', () => {
    const state: Partial<Flow> = {
      orig: { l3: 2 },
      reply: {},
      use: 3,
      secmark: 9,
      secctx: 'x',
      countersOrig: { packets: 1n, bytes: 2n },
      timestamp: { start: 1n },
      eventTimestamp: 5n,
    };
    assert.equal(encoded(state).length, 0);
  });

  it('writes CTA_ID (be32) so that a delete is exact', () => {
    assert.deepEqual(encoded({ id: 0x01020304 }), attr(CtAttr.ID, be32(0x01020304)));
  });

  it('throws RangeError for a NAT address that is no address', () => {
    assert.throws(() => encoded({ natSrc: { minIp: '300.1.1.1' } }), RangeError);
  });
});

/** True when `fn` returns or throws ProtocolError; anything else fails the test with the cause. */
function returnsOrProtocolError(fn: () => unknown, what: string): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof ProtocolError)) assert.fail(`${what}: ${String(err)}`);
  }
}

describe('decodeFlow on malformed input', () => {
  const tuple = nest(CtAttr.TUPLE_ORIG, nest(1, attr(1, Buffer.from([1, 2, 3, 4]))));
  const malformed: Array<[string, Buffer]> = [
    ['a truncated attribute', attr(CtAttr.STATUS, be32(1)).subarray(0, 6)],
    ['a header cut short', Buffer.concat([attr(CtAttr.MARK, be32(1)), Buffer.from([8, 0])])],
    ['stray bytes after the last attribute', Buffer.concat([tuple, Buffer.from([0, 0, 0])])],
    ['a length below the header size', attr(CtAttr.MARK, be32(1), 2)],
    ['a nested length past its parent', nest(CtAttr.COUNTERS_ORIG, attr(CountersAttr.PACKETS, be64(1n), 64))],
    ['a short status', attr(CtAttr.STATUS, Buffer.from([0, 1]))],
    ['a short zone', attr(CtAttr.ZONE, u8(1))],
    ['a short counter', nest(CtAttr.COUNTERS_REPLY, attr(CountersAttr.BYTES, be32(1)))],
    ['a short timestamp', nest(CtAttr.TIMESTAMP, attr(TimestampAttr.START, Buffer.alloc(7)))],
    ['short TCP flags', nest(CtAttr.PROTOINFO, nest(ProtoinfoAttr.TCP, attr(4, u8(1))))],
    ['a short NAT address', nest(CtAttr.NAT_SRC, attr(4, Buffer.alloc(4)))],
    ['a short event time', attr(CtAttr.TIMESTAMP_EVENT, be32(1))],
  ];
  for (const [what, bytes] of malformed) {
    it(`throws ProtocolError for ${what}`, () => {
      assert.throws(() => decodeBytes(bytes), ProtocolError);
    });
  }

  it('throws ProtocolError for a range outside the buffer', () => {
    assert.throws(() => decodeFlow(Buffer.alloc(8), 4, 12, 2), ProtocolError);
  });

  it('every strict prefix of every capture decodes or throws ProtocolError', () => {
    for (const name of flowFixtureNames()) {
      const m = loadMessage(name);
      for (let end = m.start; end < m.end; end++) {
        returnsOrProtocolError(() => decodeFlow(m.buf, m.start, end, m.family), `${name} cut at ${end}`);
      }
    }
  });

  it('random byte damage to every capture decodes or throws ProtocolError', () => {
    const random = seededRandom(99);
    for (const name of flowFixtureNames()) {
      const m = loadMessage(name);
      for (let round = 0; round < 300; round++) {
        const damaged = Buffer.from(m.buf);
        for (let hits = 1 + randomInt(random, 4); hits > 0; hits--) {
          damaged[m.start + randomInt(random, m.end - m.start)] = randomInt(random, 256);
        }
        returnsOrProtocolError(() => decodeFlow(damaged, m.start, m.end, m.family), `${name} round ${round}`);
      }
    }
  });
});
