import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatIPv4, formatIPv6 } from '../../src/ctnetlink/address';
import { CtAttr, IpAttr, Proto, ProtoAttr, TupleAttr } from '../../src/ctnetlink/constants';
import type { Tuple } from '../../src/ctnetlink/flow';
import { decodeTuple, encodeTuple, hasTupleFields } from '../../src/ctnetlink/tuple-codec';
import { AttributeCursor, MessageWriter } from '../../src/netlink/attributes';
import { ProtocolError } from '../../src/netlink/errors';
import {
  attr,
  be16,
  flowFixtureNames,
  loadMessage,
  nest,
  randomBytes,
  randomInt,
  seededRandom,
  u8,
} from './ctnetlink-fixtures';

/** A cursor standing on the first attribute of `bytes`. */
function on(bytes: Buffer): AttributeCursor {
  const c = new AttributeCursor(bytes, 0, bytes.length);
  assert.ok(c.next());
  return c;
}

function encoded(t: Tuple, type: number = CtAttr.TUPLE_ORIG): Buffer {
  const w = new MessageWriter();
  encodeTuple(w, type, t);
  return w.toBuffer();
}

/** The raw bytes of top-level attribute `type` in a captured message, header and padding included. */
function rawAttribute(name: string, type: number): Buffer {
  const m = loadMessage(name);
  const c = new AttributeCursor(m.buf, m.start, m.end);
  while (c.next()) {
    if (c.type === type) return m.buf.subarray(c.offset - 4, c.offset + ((c.length + 3) & ~3));
  }
  throw new Error(`${name} has no attribute ${type}`);
}

describe('decodeTuple on captured kernel tuples', () => {
  const cases: Array<[string, number, Tuple]> = [
    ['tcp-ipv4-established-assured-mark', CtAttr.TUPLE_ORIG, { l3: 2, src: '10.0.0.1', dst: '10.0.0.2', proto: 6, sport: 1111, dport: 80 }],
    ['tcp-ipv4-established-assured-mark', CtAttr.TUPLE_REPLY, { l3: 2, src: '10.0.0.2', dst: '10.0.0.1', proto: 6, sport: 80, dport: 1111 }],
    ['icmp-ipv4-echo', CtAttr.TUPLE_ORIG, { l3: 2, src: '10.0.0.1', dst: '10.0.0.4', proto: 1, icmpId: 77, icmpType: 8, icmpCode: 0 }],
    ['icmp-ipv4-echo', CtAttr.TUPLE_REPLY, { l3: 2, src: '10.0.0.4', dst: '10.0.0.1', proto: 1, icmpId: 77, icmpType: 0, icmpCode: 0 }],
    ['icmpv6-echo', CtAttr.TUPLE_ORIG, { l3: 10, src: '2001:db8::1', dst: '2001:db8::2', proto: 58, icmpId: 99, icmpType: 128, icmpCode: 0 }],
    ['icmpv6-echo', CtAttr.TUPLE_REPLY, { l3: 10, src: '2001:db8::2', dst: '2001:db8::1', proto: 58, icmpId: 99, icmpType: 129, icmpCode: 0 }],
    ['tcp-ipv6-syn-sent', CtAttr.TUPLE_ORIG, { l3: 10, src: '2001:db8:0:1::10', dst: 'fe80::1:0:0:2', proto: 6, sport: 40000, dport: 443 }],
    ['udp-ipv6-v4mapped', CtAttr.TUPLE_ORIG, { l3: 10, src: '::ffff:192.0.2.1', dst: '::ffff:192.0.2.2', proto: 17, sport: 1000, dport: 2000 }],
    ['gre-ipv4-keys', CtAttr.TUPLE_ORIG, { l3: 2, src: '10.0.0.1', dst: '10.0.0.7', proto: 47, sport: 16, dport: 32 }],
    ['generic-ipv4-proto200', CtAttr.TUPLE_ORIG, { l3: 2, src: '10.0.0.1', dst: '10.0.0.11', proto: 200 }],
    ['dccp-ipv4-untracked', CtAttr.TUPLE_ORIG, { l3: 2, src: '10.0.0.1', dst: '10.0.0.14', proto: 33 }],
    ['udp-ipv4-orig-zone', CtAttr.TUPLE_ORIG, { l3: 2, src: '10.0.0.1', dst: '10.0.0.12', proto: 17, sport: 7, dport: 7, zone: 3 }],
    ['udp-ipv4-orig-zone', CtAttr.TUPLE_REPLY, { l3: 2, src: '10.0.0.12', dst: '10.0.0.1', proto: 17, sport: 7, dport: 7 }],
    ['udp-ipv4-reply-zone', CtAttr.TUPLE_REPLY, { l3: 2, src: '10.0.0.15', dst: '10.0.0.1', proto: 17, sport: 7, dport: 7, zone: 4 }],
    ['tcp-ipv4-dnat-port', CtAttr.TUPLE_REPLY, { l3: 2, src: '192.168.1.20', dst: '198.51.100.4', proto: 6, sport: 80, dport: 5000 }],
  ];
  for (const [name, type, want] of cases) {
    it(`${name} ${type === CtAttr.TUPLE_ORIG ? 'orig' : 'reply'}`, () => {
      assert.deepEqual(decodeTuple(on(rawAttribute(name, type))), want);
    });
  }
});

describe('encodeTuple', () => {
  it('writes port and generic tuples byte for byte as the kernel does', () => {
    for (const name of flowFixtureNames()) {
      for (const type of [CtAttr.TUPLE_ORIG, CtAttr.TUPLE_REPLY]) {
        const raw = rawAttribute(name, type);
        const t = decodeTuple(on(raw));
        // The kernel writes ICMP id first; we follow libnetfilter_conntrack's order (checked below).
        if (t.proto === Proto.ICMP || t.proto === Proto.ICMPV6) continue;
        // Without a DCCP tracker the kernel sends no ports; we always send both (checked below).
        if (t.proto === Proto.DCCP && t.sport === undefined) continue;
        assert.deepEqual(encoded(t, type), Buffer.from(raw), `${name} ${type}`);
      }
    }
  });

  it('writes ICMP code, type, id in that order (0 when unset), with the ICMPv6 numbers for ICMPv6', () => {
    const v4: Tuple = { src: '10.0.0.1', dst: '10.0.0.4', proto: 1, icmpId: 77, icmpType: 8, icmpCode: 0 };
    assert.deepEqual(
      encoded(v4),
      nest(
        CtAttr.TUPLE_ORIG,
        nest(TupleAttr.IP, attr(IpAttr.V4_SRC, Buffer.from([10, 0, 0, 1])), attr(IpAttr.V4_DST, Buffer.from([10, 0, 0, 4]))),
        nest(TupleAttr.PROTO, attr(ProtoAttr.NUM, u8(1)), attr(ProtoAttr.ICMP_CODE, u8(0)), attr(ProtoAttr.ICMP_TYPE, u8(8)), attr(ProtoAttr.ICMP_ID, be16(77))),
      ),
    );
    const v6: Tuple = { src: '::1', dst: '::2', proto: 58, icmpType: 128 };
    const loopback = Buffer.alloc(16);
    loopback[15] = 1;
    const two = Buffer.alloc(16);
    two[15] = 2;
    assert.deepEqual(
      encoded(v6),
      nest(
        CtAttr.TUPLE_ORIG,
        nest(TupleAttr.IP, attr(IpAttr.V6_SRC, loopback), attr(IpAttr.V6_DST, two)),
        nest(
          TupleAttr.PROTO,
          attr(ProtoAttr.NUM, u8(58)),
          attr(ProtoAttr.ICMPV6_CODE, u8(0)),
          attr(ProtoAttr.ICMPV6_TYPE, u8(128)),
          attr(ProtoAttr.ICMPV6_ID, be16(0)),
        ),
      ),
    );
  });

  it('sends both ports for port protocols, 0 when unset', () => {
    for (const proto of [Proto.TCP, Proto.UDP, Proto.UDPLITE, Proto.SCTP, Proto.DCCP, Proto.GRE]) {
      assert.deepEqual(decodeTuple(on(encoded({ proto, dport: 53 }))), { proto, sport: 0, dport: 53 });
    }
    assert.deepEqual(decodeTuple(on(encoded({ proto: 200, sport: 1, dport: 2 }))), { proto: 200 });
  });

  it('takes the family from l3, else from the address text, and sends an unset address as zero', () => {
    assert.deepEqual(decodeTuple(on(encoded({ dst: '10.9.8.7' }))), { l3: 2, src: '0.0.0.0', dst: '10.9.8.7' });
    assert.deepEqual(decodeTuple(on(encoded({ src: 'fe80::1' }))), { l3: 10, src: 'fe80::1', dst: '::' });
    assert.throws(() => encoded({ l3: 2, src: '::1' }), RangeError);
    assert.throws(() => encoded({ l3: 10, src: '10.0.0.1' }), RangeError);
    assert.throws(() => encoded({ src: '10.0.0.1', dst: '::1' }), RangeError);
    assert.throws(() => encoded({ src: 'localhost' }), RangeError);
  });

  it('writes an empty nest for an empty tuple, and hasTupleFields says there is nothing to send', () => {
    assert.deepEqual(encoded({}), nest(CtAttr.TUPLE_ORIG));
    assert.equal(hasTupleFields({}), false);
    assert.equal(hasTupleFields({ l3: 2 }), false);
    assert.equal(hasTupleFields({ zone: 0 }), true);
    assert.equal(hasTupleFields({ proto: 6 }), true);
    assert.equal(hasTupleFields({ dst: '::1' }), true);
  });
});

/** A random but consistent tuple: what a decoder could deliver. */
function randomTuple(random: () => number): Tuple {
  const t: Tuple = {};
  const v6 = random() < 0.5;
  if (random() < 0.9) {
    t.l3 = v6 ? 10 : 2;
    const format = v6 ? formatIPv6 : formatIPv4;
    const size = v6 ? 16 : 4;
    // Both or neither: the encoder sends an unset one as zero (the kernel needs both).
    if (random() < 0.9) {
      t.src = format(randomBytes(random, size), 0);
      t.dst = format(randomBytes(random, size), 0);
    } else delete t.l3;
  }
  if (random() < 0.9) {
    const protos = [Proto.TCP, Proto.UDP, Proto.UDPLITE, Proto.SCTP, Proto.DCCP, Proto.GRE, Proto.ICMP, Proto.ICMPV6, 0, 2, 200, 255];
    t.proto = protos[randomInt(random, protos.length)]!;
    if (t.proto === Proto.ICMP || t.proto === Proto.ICMPV6) {
      // Always all three: the encoder sends an unset one as 0 (the kernel needs them all).
      t.icmpId = randomInt(random, 65536);
      t.icmpType = randomInt(random, 256);
      t.icmpCode = randomInt(random, 256);
    } else if (![0, 2, 200, 255].includes(t.proto)) {
      t.sport = randomInt(random, 65536);
      t.dport = randomInt(random, 65536);
    }
  }
  if (random() < 0.3) t.zone = randomInt(random, 65536);
  return t;
}

describe('tuple round trips', () => {
  it('decodeTuple(encodeTuple(t)) equals t for random tuples', () => {
    for (let seed = 1; seed <= 5000; seed++) {
      const t = randomTuple(seededRandom(seed));
      assert.deepEqual(decodeTuple(on(encoded(t))), t, `seed ${seed}: ${JSON.stringify(t)}`);
    }
  });
});

describe('decodeTuple on hand-made input', () => {
  const ip = nest(TupleAttr.IP, attr(IpAttr.V4_SRC, Buffer.from([1, 2, 3, 4])));

  it('skips attributes it does not know, at every level', () => {
    const bytes = nest(
      CtAttr.TUPLE_ORIG,
      attr(77, Buffer.from('future')),
      nest(TupleAttr.IP, attr(9, Buffer.alloc(3)), attr(IpAttr.V4_SRC, Buffer.from([1, 2, 3, 4]))),
      nest(TupleAttr.PROTO, attr(ProtoAttr.NUM, u8(6)), attr(42, be16(1))),
    );
    assert.deepEqual(decodeTuple(on(bytes)), { l3: 2, src: '1.2.3.4', proto: 6 });
  });

  const malformed: Array<[string, Buffer]> = [
    ['a 3-byte IPv4 address', nest(CtAttr.TUPLE_ORIG, nest(TupleAttr.IP, attr(IpAttr.V4_DST, Buffer.from([1, 2, 3]))))],
    ['a 15-byte IPv6 address', nest(CtAttr.TUPLE_ORIG, nest(TupleAttr.IP, attr(IpAttr.V6_SRC, Buffer.alloc(15))))],
    ['an empty protocol number', nest(CtAttr.TUPLE_ORIG, nest(TupleAttr.PROTO, attr(ProtoAttr.NUM, Buffer.alloc(0))))],
    ['a 1-byte port', nest(CtAttr.TUPLE_ORIG, nest(TupleAttr.PROTO, attr(ProtoAttr.SRC_PORT, u8(1))))],
    ['a 1-byte zone', nest(CtAttr.TUPLE_ORIG, attr(TupleAttr.ZONE, u8(1)))],
    ['a nested length past its parent', nest(CtAttr.TUPLE_ORIG, attr(TupleAttr.IP, Buffer.alloc(8), 40))],
    ['a length below the header size', nest(CtAttr.TUPLE_ORIG, attr(TupleAttr.ZONE, be16(1), 3))],
    ['stray bytes after the last attribute', attr(CtAttr.TUPLE_ORIG | 0x8000, Buffer.concat([ip, Buffer.from([0, 0])]))],
  ];
  for (const [what, bytes] of malformed) {
    it(`throws ProtocolError for ${what}`, () => {
      assert.throws(() => decodeTuple(on(bytes)), ProtocolError);
    });
  }
});
