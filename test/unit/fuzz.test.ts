import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeEvent } from '../../src/ctnetlink/event';
import type { Flow } from '../../src/ctnetlink/flow';
import { ProtocolError } from '../../src/netlink/errors';
import { MessageCursor } from '../../src/netlink/messages';
import { attr, be16, be32, be64, flowFixtureNames, loadMessage, nest, u8 } from './ctnetlink-fixtures';
import { CountersAttr, CtAttr, IpAttr, ProtoAttr, ProtoinfoAttr, TcpAttr, TimestampAttr, TupleAttr } from '../../src/ctnetlink/constants';
import { checkChannel, checkDatagram, dumpThroughChannel, messageAround, PROPERTIES, type FuzzResult, type PropertyName } from './fuzz-properties';

/*
 * The short fuzz run of the unit tier: every property of fuzz-properties.ts
 * with a fixed seed and a few hundred inputs (a few seconds in all). The long
 * run is `node dist/tools/fuzz.js COUNT SEED` (10 million inputs and more);
 * a failure in either prints how to replay it: `node dist/tools/fuzz.js --replay NAME SEED PATH`.
 */

const SEED = 20250707;
const RUNS: Record<PropertyName, number> = {
  'damaged kernel datagrams': 1500,
  'random attribute bytes behind a valid header': 1500,
  'random bytes': 1000,
  'Flow round trip': 500,
  'Tuple round trip': 500,
  'Expectation round trip': 300,
  'stats round trip': 300,
  'event round trip': 300,
};

function assertPasses(name: string, r: FuzzResult): void {
  if (r.failed) assert.fail(`${r.error}\ninput: ${r.counterexample}\nreplay: node dist/tools/fuzz.js --replay '${name}' ${SEED} '${r.path}'`);
}

describe('fuzz: decoders take any datagram; encoders round-trip', () => {
  for (const [name, numRuns] of Object.entries(RUNS) as Array<[PropertyName, number]>) {
    test(`${name} (${numRuns} inputs)`, () => {
      assertPasses(name, PROPERTIES[name]({ seed: SEED, numRuns }));
    });
  }

  test('damaged dump replies through the request engine: settled, typed, channel still usable (150 dumps)', async () => {
    assertPasses('request engine under damaged dumps', await checkChannel({ seed: SEED, numRuns: 150 }));
  });
});

/** The messages of one datagram as [type, seq, payload hex]. */
function messagesOf(datagram: Buffer): string[] {
  const m = new MessageCursor(datagram, datagram.length);
  const seen: string[] = [];
  while (m.next()) seen.push(`${m.type} ${m.seq} ${datagram.toString('hex', m.payload, m.end)}`);
  return seen;
}

describe('datagrams split and merged', () => {
  const messages = flowFixtureNames().map((name) => loadMessage(name).buf);
  const merged = Buffer.concat(messages);
  const boundaries = new Set<number>();
  for (let at = 0, i = 0; i <= messages.length; at += messages[i++]?.length ?? 0) boundaries.add(at);
  const all = messagesOf(merged);

  test('cut at every offset: at a message boundary both parts give the messages, elsewhere a ProtocolError', () => {
    for (let cut = 0; cut <= merged.length; cut++) {
      const head = merged.subarray(0, cut);
      const tail = merged.subarray(cut);
      if (boundaries.has(cut)) {
        assert.deepEqual([...messagesOf(head), ...messagesOf(tail)], all, `cut at ${cut}`);
        continue;
      }
      // The part holding the cut message must fail, after yielding only the messages before it.
      const m = new MessageCursor(head, head.length);
      const seen: string[] = [];
      assert.throws(() => {
        while (m.next()) seen.push(`${m.type} ${m.seq} ${head.toString('hex', m.payload, m.end)}`);
      }, ProtocolError, `cut at ${cut}`);
      assert.deepEqual(seen, all.slice(0, seen.length), `cut at ${cut}`);
    }
  });

  const flowsOf = (datagram: Buffer): Flow[] => {
    const m = new MessageCursor(datagram, datagram.length);
    const flows: Flow[] = [];
    while (m.next()) flows.push(decodeEvent(m)!.flow);
    return flows;
  };
  const expected = messages.flatMap(flowsOf);

  /** The captured messages as one dump of request `seq`, grouped into datagrams after the given message counts. */
  const regrouped = (cuts: number[]) => (seq: number): Buffer[] => {
    const addressed = messages.map((b) => {
      const copy = Buffer.from(b);
      copy.writeUInt16LE(copy.readUInt16LE(6) | 2, 6); // NLM_F_MULTI
      copy.writeUInt32LE(seq, 8);
      copy.writeUInt32LE(4242, 12);
      return copy;
    });
    const datagrams: Buffer[] = [];
    let from = 0;
    for (const cut of [...new Set(cuts)].sort((a, b) => a - b).concat(messages.length)) {
      if (cut > from) datagrams.push(Buffer.concat(addressed.slice(from, cut)));
      from = Math.max(from, cut);
    }
    const done = Buffer.alloc(20);
    done.writeUInt32LE(20, 0);
    done.writeUInt16LE(3, 4); // NLMSG_DONE
    done.writeUInt16LE(2, 6);
    done.writeUInt32LE(seq, 8);
    done.writeUInt32LE(4242, 12);
    return [...datagrams, done];
  };

  test('a dump split into datagrams at every message boundary yields the same flows', async () => {
    for (let cut = 0; cut <= messages.length; cut++) {
      const { flows, error } = await dumpThroughChannel(regrouped([cut]));
      assert.equal(error, undefined);
      assert.deepEqual(flows, expected, `split after ${cut} messages`);
    }
  });

  test('a dump grouped into datagrams any way yields the same flows (one datagram each ... all in one)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: messages.length }), { maxLength: messages.length }), async (cuts) => {
        const { flows, error } = await dumpThroughChannel(regrouped(cuts));
        assert.equal(error, undefined);
        assert.deepEqual(flows, expected);
      }),
      { seed: SEED, numRuns: 60 },
    );
  });
});

describe('runaway lengths allocate nothing', () => {
  test('an attribute or message claiming 64 KiB or 4 GiB is a ProtocolError, and memory stays flat', () => {
    const huge = Buffer.from([0xff, 0xff, 0x01, 0x80, 1, 2, 3, 4]); // nla_len 65535, CTA_TUPLE_ORIG nested
    const before = process.memoryUsage().arrayBuffers;
    for (let i = 0; i < 10000; i++) checkDatagram(messageAround(huge));
    const message = messageAround(huge);
    message.writeUInt32LE(0xffffffff, 0);
    assert.throws(() => new MessageCursor(message, message.length).next(), ProtocolError);
    assert.ok(process.memoryUsage().arrayBuffers - before < 16 * 1024 * 1024, 'array buffers grew by less than 16 MiB');
  });
});

describe('regressions found by fuzzing', () => {
  const tcpTuple = (type: number): Buffer =>
    nest(
      type,
      nest(TupleAttr.IP, attr(IpAttr.V4_SRC, Buffer.from([10, 0, 0, 1])), attr(IpAttr.V4_DST, Buffer.from([10, 0, 0, 2]))),
      nest(TupleAttr.PROTO, attr(ProtoAttr.NUM, u8(6)), attr(ProtoAttr.SRC_PORT, be16(1234)), attr(ProtoAttr.DST_PORT, be16(22))),
    );
  const tcpInfo = (...attrs: Buffer[]): Buffer => nest(CtAttr.PROTOINFO, nest(ProtoinfoAttr.TCP, ...attrs));
  const counters = (type: number, ...attrs: Buffer[]): Buffer => nest(type, ...attrs);
  const timestamp = (...attrs: Buffer[]): Buffer => nest(CtAttr.TIMESTAMP, ...attrs);

  // A repeated attribute replaces the earlier one in decodeFlow; WireEntry (the -L/-D hot path) used to merge them.
  const cases: Array<[string, Buffer[]]> = [
    ['a second, empty CTA_TUPLE_ORIG', [tcpTuple(CtAttr.TUPLE_ORIG), nest(CtAttr.TUPLE_ORIG), tcpTuple(CtAttr.TUPLE_REPLY)]],
    ['a second CTA_PROTOINFO_TCP without a state', [tcpInfo(attr(TcpAttr.STATE, u8(3))), tcpInfo()]],
    ['a second CTA_COUNTERS_ORIG without packets', [counters(CtAttr.COUNTERS_ORIG, attr(CountersAttr.PACKETS, be64(5n)), attr(CountersAttr.BYTES, be64(9n))), counters(CtAttr.COUNTERS_ORIG, attr(CountersAttr.BYTES32, be32(1)))]],
    ['a second CTA_TIMESTAMP without a stop', [timestamp(attr(TimestampAttr.START, be64(10n ** 18n)), attr(TimestampAttr.STOP, be64(2n * 10n ** 18n))), timestamp(attr(TimestampAttr.START, be64(10n ** 18n)))]],
  ];
  for (const [what, attrs] of cases) {
    test(`writeTextLine prints what formatText prints for ${what}`, () => {
      checkDatagram(messageAround(Buffer.concat(attrs)));
    });
  }
});
