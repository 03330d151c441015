/**
 * The external cache keys the peer's flows by bytes read from the messages'
 * attributes (sync/flow-key.ts) and keeps the attributes, not decoded flows.
 * Its keys must tell flows apart exactly as flowKey (sync/key.ts) does on
 * the decoded flows, and what it shows must be what the last message said.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Flow, Tuple } from '../../src/ctnetlink/flow';
import { ExternalCache } from '../../src/conntrackd/engine/external-cache';
import { MessageType } from '../../src/conntrackd/sync/header';
import { flowKey } from '../../src/conntrackd/sync/key';
import { encodeMessage, readFrames, ReceivedFlowMessage, receiveBody, type FlowMessage, type FlowOp } from '../../src/conntrackd/sync/message';

const opt = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(a, { nil: undefined });
const bit = fc.constantFrom(0, 1);

/** Flows from a domain small enough that two of them often share a key, or nearly. */
const flowArb: fc.Arbitrary<Flow> = fc.tuple(fc.constantFrom(2, 10), fc.constantFrom(1, 6, 17, 47, 58)).chain(([family, proto]) => {
  const address = family === 2 ? fc.constantFrom('10.0.0.1', '10.0.0.2') : fc.constantFrom('fd00::1', 'fd00::2');
  const ports = proto === 6 || proto === 17;
  const icmp = proto === 1 || proto === 58;
  const orig: fc.Arbitrary<Tuple> = fc.record({
    l3: fc.constant(family),
    src: address,
    dst: address,
    proto: fc.constant(proto),
    sport: ports ? bit : fc.constant(undefined),
    dport: ports ? bit : fc.constant(undefined),
    icmpType: icmp ? opt(bit) : fc.constant(undefined),
    icmpCode: icmp ? opt(bit) : fc.constant(undefined),
    icmpId: icmp ? opt(bit) : fc.constant(undefined),
  });
  return fc.record({ family: fc.constant(family), orig, reply: fc.constant({}), zone: opt(bit), mark: opt(fc.nat(3)), timeout: opt(fc.nat(100)) }).map((f) => clean(f) as Flow);
});

function clean<T>(o: T): T {
  if (o === null || typeof o !== 'object') return o;
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined).map(([k, v]) => [k, clean(v)])) as T;
}

/** The message as the daemon receives it: encoded, framed, checked, undecoded. */
function received(type: FlowOp, flow: Flow): FlowMessage {
  const [frame] = readFrames(encodeMessage({ type, flags: 0, seq: 1, flow })).frames;
  return receiveBody(frame!) as FlowMessage;
}

/** A flow as the wire carries it back: what the cache must show. */
function asDecoded(flow: Flow): Flow {
  return (received(MessageType.CT_NEW, flow) as FlowMessage).flow;
}

describe('external cache', () => {
  it('two flows share an entry exactly when their flowKeys are equal', () => {
    fc.assert(
      fc.property(flowArb, flowArb, (a, b) => {
        const cache = new ExternalCache(10);
        cache.apply(received(MessageType.CT_NEW, a), 1000);
        cache.apply(received(MessageType.CT_NEW, b), 2000);
        const same = flowKey(asDecoded(a)) === flowKey(asDecoded(b));
        assert.equal(cache.size, same ? 1 : 2);
        assert.equal(cache.has(b), true);
        // The entry shows the last message's flow.
        assert.deepEqual(
          [...cache.values()].map((e) => e.flow),
          same ? [asDecoded(b)] : [asDecoded(a), asDecoded(b)],
        );
        // A DEL of a removes a's entry, whichever flow it holds now.
        cache.apply(received(MessageType.CT_DEL, a), 3000);
        assert.equal(cache.size, same ? 0 : 1);
        assert.equal(cache.has(a), false);
      }),
      { numRuns: 1000 },
    );
  });

  it('remove() finds the entry of a received message, of its detached copy, and of a decoded one', () => {
    const cache = new ExternalCache(10);
    const flows = [1, 2, 3].map((sport): Flow => ({ family: 2, orig: { l3: 2, src: '10.0.0.1', dst: '10.0.0.2', proto: 17, sport, dport: 53 }, reply: {}, zone: 4 }));
    const messages = flows.map((f) => received(MessageType.CT_NEW, f) as ReceivedFlowMessage);
    for (const m of messages) cache.apply(m, 1000);
    assert.equal(cache.remove(messages[0]!), true);
    assert.equal(cache.remove(messages[1]!.detached()), true);
    assert.equal(cache.remove({ type: MessageType.CT_NEW, flags: 0, seq: 1, flow: flows[2]! }), true);
    assert.equal(cache.remove(messages[2]!), false);
    assert.equal(cache.size, 0);
  });

  it('UPD refreshes in place (keeping "since"), creates when missing, and counts as 1.4.7', () => {
    const cache = new ExternalCache(2);
    const flow = (sport: number, mark?: number): Flow => clean({ family: 2, orig: { l3: 2, src: '10.0.0.1', dst: '10.0.0.2', proto: 6, sport, dport: 80 }, reply: {}, mark });
    cache.apply(received(MessageType.CT_UPD, flow(1)), 5_000);
    cache.apply(received(MessageType.CT_UPD, flow(1, 7)), 9_000);
    assert.deepEqual([...cache.values()], [{ flow: asDecoded(flow(1, 7)), since: 5, updatedAt: 9_000 }]);
    cache.apply(received(MessageType.CT_NEW, flow(2)), 10_000);
    cache.apply(received(MessageType.CT_NEW, flow(3)), 10_000);
    cache.apply(received(MessageType.CT_DEL, flow(4)), 10_000);
    assert.equal(cache.size, 2);
    assert.equal(cache.flush(), 2);
    assert.deepEqual(
      { ...cache.counters },
      { ...cache.counters, active: 0, total: 0, addOk: 2, addFail: 1, addFailNoSpace: 1, updOk: 1, delOk: 2, delFail: 1, delFailNotFound: 1 },
    );
  });
});
