import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ExpectAttr, ExpectFlag, ExpectNatAttr, ExpMsg, IpAttr, ProtoAttr, TupleAttr } from '../../src/ctnetlink/constants';
import type { Expectation } from '../../src/ctnetlink/expect';
import { completeTuple, decodeExpectation, decodeExpectationMessage, encodeExpectation } from '../../src/ctnetlink/expect-codec';
import {
  createExpectationRequest,
  deleteExpectationRequest,
  dumpExpectationsRequest,
  expectationStatsRequest,
  flushExpectationsRequest,
  getExpectationRequest,
} from '../../src/ctnetlink/expect-requests';
import { formatExpectationText } from '../../src/format/text-expect';
import { MessageWriter } from '../../src/netlink/attributes';
import { MessageFlags } from '../../src/netlink/constants';
import { ProtocolError } from '../../src/netlink/errors';
import { MessageCursor } from '../../src/netlink/messages';
import { messageType, Subsystem } from '../../src/nfnetlink/header';
import { attr, be16, be32, cstr, fixtureText, loadMessage, nest, u8 } from './ctnetlink-fixtures';

const TCP = 6;
const FTP = 'expect-tcp-ipv4-ftp';

/** A CTA_EXPECT_* tuple as libnetfilter_conntrack writes it for an IPv4 tcp tuple. */
function v4TcpTuple(type: number, src: number[], dst: number[], sport: number, dport: number): Buffer {
  return nest(
    type,
    nest(TupleAttr.IP, attr(IpAttr.V4_SRC, Buffer.from(src)), attr(IpAttr.V4_DST, Buffer.from(dst))),
    nest(TupleAttr.PROTO, attr(ProtoAttr.NUM, u8(TCP)), attr(ProtoAttr.SRC_PORT, be16(sport)), attr(ProtoAttr.DST_PORT, be16(dport))),
  );
}

/** The attribute area of a request built by `build` (after nlmsghdr and nfgenmsg), and its header fields. */
function parsed(message: Buffer): { type: number; flags: number; family: number; attrs: Buffer } {
  const m = new MessageCursor(message, message.length);
  assert.ok(m.next());
  assert.equal(m.end, message.length);
  return { type: m.type, flags: m.flags, family: message[m.payload]!, attrs: message.subarray(m.payload + 4, m.end) };
}

const LOCAL = [127, 0, 0, 1];
const FULL = [255, 255, 255, 255];
const ZERO = [0, 0, 0, 0];

describe('decodeExpectation on the captured ftp expectation', () => {
  const m = loadMessage(FTP);
  const exp = decodeExpectation(m.buf, m.start, m.end, m.family);

  test('every attribute', () => {
    assert.deepEqual(exp, {
      family: 2,
      master: { l3: 2, src: '127.0.0.1', dst: '127.0.0.1', proto: TCP, sport: 41826, dport: 21 },
      tuple: { l3: 2, src: '127.0.0.1', dst: '127.0.0.1', proto: TCP, sport: 0, dport: 10000 },
      mask: { l3: 2, src: '255.255.255.255', dst: '255.255.255.255', proto: TCP, sport: 0, dport: 65535 },
      timeout: 299,
      id: 0xb4e0d3d2,
      flags: 0,
      class: 0,
      helper: 'ftp',
    });
  });

  test('prints what conntrack -L expect printed for it', () => {
    assert.equal(`${formatExpectationText(exp)}\n`, fixtureText(FTP));
  });

  test('decodeExpectationMessage: a dump entry carries neither CREATE nor EXCL', () => {
    const event = decodeExpectationMessage(cursorAt(m.buf));
    assert.equal(event?.type, 'update');
    assert.deepEqual(event?.expectation, exp);
  });

  test('every truncation of the attribute area decodes or throws ProtocolError, never anything else', () => {
    for (let end = m.start; end < m.end; end++) {
      try {
        decodeExpectation(m.buf, m.start, end, m.family);
      } catch (err) {
        assert.ok(err instanceof ProtocolError, `cut at ${end - m.start}: ${String(err)}`);
      }
    }
  });
});

function cursorAt(buf: Buffer): MessageCursor {
  const c = new MessageCursor(buf, buf.length);
  assert.ok(c.next());
  return c;
}

describe('decodeExpectationMessage: event types as libnetfilter_conntrack classifies them', () => {
  const body = v4TcpTuple(ExpectAttr.TUPLE, LOCAL, LOCAL, 0, 10000);
  const msg = (msgType: number, flags: number): MessageCursor => {
    const w = new MessageWriter();
    const start = w.beginMessage(messageType(Subsystem.CTNETLINK_EXP, msgType), flags, 0);
    w.raw(Uint8Array.of(10, 0, 0, 0));
    w.raw(body);
    w.endMessage(start);
    return cursorAt(w.toBuffer());
  };
  test('EXP_NEW with NLM_F_CREATE or NLM_F_EXCL is new, without them update; EXP_DELETE is destroy', () => {
    assert.equal(decodeExpectationMessage(msg(ExpMsg.NEW, MessageFlags.CREATE | MessageFlags.EXCL))?.type, 'new');
    assert.equal(decodeExpectationMessage(msg(ExpMsg.NEW, MessageFlags.EXCL))?.type, 'new');
    assert.equal(decodeExpectationMessage(msg(ExpMsg.NEW, 0))?.type, 'update');
    assert.equal(decodeExpectationMessage(msg(ExpMsg.DELETE, 0))?.type, 'destroy');
    assert.equal(decodeExpectationMessage(msg(ExpMsg.GET_STATS_CPU, 0)), undefined);
    assert.equal(decodeExpectationMessage(msg(ExpMsg.DELETE, 0))?.expectation.family, 10, 'nfgen_family');
  });
  test('a conntrack message is not an expectation', () => {
    const w = new MessageWriter();
    const start = w.beginMessage(messageType(Subsystem.CTNETLINK, 0), 0, 0);
    w.raw(Uint8Array.of(2, 0, 0, 0));
    w.endMessage(start);
    assert.equal(decodeExpectationMessage(cursorAt(w.toBuffer())), undefined);
  });
});

describe('encodeExpectation', () => {
  const full: Expectation = {
    family: 10,
    master: { l3: 10, src: '2001:db8::1', dst: '2001:db8::2', proto: TCP, sport: 40000, dport: 21 },
    tuple: { l3: 10, src: '2001:db8::1', dst: '2001:db8::2', proto: TCP, sport: 0, dport: 2000 },
    mask: { l3: 10, src: 'ffff::', dst: '::', proto: TCP, sport: 0, dport: 65535 },
    timeout: 100,
    id: 7,
    helper: 'ftp',
    zone: 3,
    flags: ExpectFlag.PERMANENT | ExpectFlag.USERSPACE,
    class: 1,
    nat: { dir: 1, tuple: { l3: 10, src: '2001:db8::9', dst: '::', proto: TCP, sport: 2121, dport: 0 } },
    fn: 'nat-follow-master',
  };

  test('round trip: every attribute decodes back', () => {
    const w = new MessageWriter();
    encodeExpectation(w, full);
    const bytes = w.toBuffer();
    assert.deepEqual(decodeExpectation(bytes, 0, bytes.length, 10), full);
  });

  test("libnetfilter_conntrack's order and layout: TUPLE, MASTER, MASK, TIMEOUT (what -I expect sends)", () => {
    const w = new MessageWriter();
    encodeExpectation(w, {
      family: 2,
      master: { l3: 2, src: '127.0.0.1', dst: '127.0.0.1', proto: TCP, sport: 40000, dport: 21 },
      tuple: { l3: 2, src: '127.0.0.1', dst: '127.0.0.1', proto: TCP, sport: 0, dport: 1700 },
      mask: { l3: 2, src: '255.255.255.255', dst: '255.255.255.255', proto: TCP, sport: 0, dport: 65535 },
      timeout: 100,
    });
    assert.deepEqual(
      w.toBuffer(),
      Buffer.concat([
        v4TcpTuple(ExpectAttr.TUPLE, LOCAL, LOCAL, 0, 1700),
        v4TcpTuple(ExpectAttr.MASTER, LOCAL, LOCAL, 40000, 21),
        v4TcpTuple(ExpectAttr.MASK, FULL, FULL, 0, 65535),
        attr(ExpectAttr.TIMEOUT, be32(100)),
      ]),
    );
  });

  test('tuples go out complete: zero addresses and protocol 0 for what is unset (the kernel requires them)', () => {
    const w = new MessageWriter();
    encodeExpectation(w, { family: 2, mask: { src: '255.255.255.0' } });
    assert.deepEqual(
      w.toBuffer(),
      nest(
        ExpectAttr.MASK,
        nest(TupleAttr.IP, attr(IpAttr.V4_SRC, Buffer.from([255, 255, 255, 0])), attr(IpAttr.V4_DST, Buffer.from(ZERO))),
        nest(TupleAttr.PROTO, attr(ProtoAttr.NUM, u8(0))),
      ),
    );
  });

  test('an untracked protocol (the D9 tuple of --tuple-port-dst 2000, protocol 7) carries no ports', () => {
    const w = new MessageWriter();
    encodeExpectation(w, { family: 2, tuple: { l3: 2, src: '1.2.3.4', dst: '5.6.7.8', proto: 7, sport: 0, dport: 2000 } });
    const bytes = w.toBuffer();
    assert.deepEqual(decodeExpectation(bytes, 0, bytes.length, 2).tuple, { l3: 2, src: '1.2.3.4', dst: '5.6.7.8', proto: 7 });
  });

  test('NAT nest and string attributes', () => {
    const w = new MessageWriter();
    encodeExpectation(w, { family: 2, helper: 'sip', nat: { dir: 0 }, fn: 'x' });
    assert.deepEqual(
      w.toBuffer(),
      Buffer.concat([
        attr(ExpectAttr.HELP_NAME, cstr('sip')),
        nest(ExpectAttr.NAT, attr(ExpectNatAttr.DIR, be32(0))),
        attr(ExpectAttr.FN, cstr('x')),
      ]),
    );
  });

  test('completeTuple: ICMP gets type, code and id; IPv6 zeros are ::', () => {
    assert.deepEqual(completeTuple({ proto: 58 }, 10), { l3: 10, src: '::', dst: '::', proto: 58, icmpType: 0, icmpCode: 0, icmpId: 0 });
    assert.deepEqual(completeTuple({ l3: 2, src: '1.1.1.1', proto: 1, icmpType: 8 }, 10), {
      l3: 2, src: '1.1.1.1', dst: '0.0.0.0', proto: 1, icmpType: 8, icmpCode: 0, icmpId: 0,
    });
  });
});

describe('expectation request builders', () => {
  const exp = 0x200; // NFNL_SUBSYS_CTNETLINK_EXP << 8
  const tuple = { l3: 2, src: '127.0.0.1', dst: '127.0.0.1', proto: TCP, sport: 0, dport: 10000 };
  const REQUEST_ACK = MessageFlags.REQUEST | MessageFlags.ACK;

  test('dump: EXP_GET, REQUEST|DUMP, the family filter, no attributes', () => {
    assert.deepEqual(parsed(dumpExpectationsRequest(1, 10)), {
      type: exp | ExpMsg.GET, flags: MessageFlags.REQUEST | MessageFlags.DUMP, family: 10, attrs: Buffer.alloc(0),
    });
  });

  test('get: EXP_GET, REQUEST|ACK, the expected tuple, zone and id when given', () => {
    assert.deepEqual(parsed(getExpectationRequest(1, 2, { tuple, zone: 5, id: 9 })), {
      type: exp | ExpMsg.GET,
      flags: REQUEST_ACK,
      family: 2,
      attrs: Buffer.concat([v4TcpTuple(ExpectAttr.TUPLE, LOCAL, LOCAL, 0, 10000), attr(ExpectAttr.ZONE, be16(5)), attr(ExpectAttr.ID, be32(9))]),
    });
  });

  test('delete: EXP_DELETE, REQUEST|ACK, the expected tuple', () => {
    assert.deepEqual(parsed(deleteExpectationRequest(1, 2, { tuple })), {
      type: exp | ExpMsg.DELETE, flags: REQUEST_ACK, family: 2, attrs: v4TcpTuple(ExpectAttr.TUPLE, LOCAL, LOCAL, 0, 10000),
    });
  });

  test('create: EXP_NEW with CREATE|ACK, EXCL only when exclusive', () => {
    const e: Expectation = { family: 2, master: tuple, tuple, mask: tuple };
    assert.equal(parsed(createExpectationRequest(1, e, true)).flags, REQUEST_ACK | MessageFlags.CREATE | MessageFlags.EXCL);
    assert.equal(parsed(createExpectationRequest(1, e, false)).flags, REQUEST_ACK | MessageFlags.CREATE);
    assert.equal(parsed(createExpectationRequest(1, e, false)).type, exp | ExpMsg.NEW);
  });

  test('flush: EXP_DELETE without attributes, or with the helper name', () => {
    assert.deepEqual(parsed(flushExpectationsRequest(1)), { type: exp | ExpMsg.DELETE, flags: REQUEST_ACK, family: 0, attrs: Buffer.alloc(0) });
    assert.deepEqual(parsed(flushExpectationsRequest(1, 'ftp')).attrs, attr(ExpectAttr.HELP_NAME, cstr('ftp')));
  });

  test('stats: EXP_GET_STATS_CPU dump', () => {
    const p = parsed(expectationStatsRequest(1));
    assert.deepEqual([p.type, p.flags, p.family], [exp | ExpMsg.GET_STATS_CPU, MessageFlags.REQUEST | MessageFlags.DUMP, 0]);
  });
});
