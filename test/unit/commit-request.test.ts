/**
 * `-c` writes each create request straight from the sync attributes the
 * external cache keeps (engine/commit-request.ts). Whatever attributes the
 * wire may carry (any order, repeated, missing, both address families, odd
 * protocols), the request must be the one the library writes for
 * committedFlow() of the decoded flow, under every commit option.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { writeCreateRequest } from '../../src/ctnetlink/requests';
import { MessageWriter } from '../../src/netlink/attributes';
import { committedFlow, type CommitOptions } from '../../src/conntrackd/engine/commit';
import { isRelated, writeCommitRequest } from '../../src/conntrackd/engine/commit-request';
import { FLOW_ATTR_SIZES, FlowAttr } from '../../src/conntrackd/sync/attributes';
import { decodeFlowAttributes } from '../../src/conntrackd/sync/flow-attributes';

const NOW = 1_700_000_000_000;
const PROTOS = [1, 6, 17, 33, 47, 58, 132, 136, 255];

/** One attribute as it travels: length and type big-endian, the payload, padding to 4. */
function attribute(type: number, payload: Uint8Array): Buffer {
  const out = Buffer.alloc((4 + payload.length + 3) & ~3);
  out.writeUInt16BE(4 + payload.length, 0);
  out.writeUInt16BE(type, 2);
  out.set(payload, 4);
  return out;
}

/** A payload 1.4.7's size rules let through for `type`. */
function payloadArb(type: number): fc.Arbitrary<Uint8Array> {
  if (type === FlowAttr.L4PROTO || type === FlowAttr.MASTER_L4PROTO) return fc.constantFrom(...PROTOS).map((p) => Uint8Array.of(p));
  const size = FLOW_ATTR_SIZES[type]!;
  if (size > 0) return fc.uint8Array({ minLength: size, maxLength: size });
  return fc.uint8Array({ minLength: 0, maxLength: type === FlowAttr.LABELS ? 40 : -size - 4 });
}

const attrArb = fc.integer({ min: 0, max: FlowAttr.ZONE }).chain((type) => payloadArb(type).map((p) => attribute(type, p)));

/** Mostly what a peer sends (an address and a protocol first), now and then without either. */
const attributesArb = fc
  .record({
    address: fc.option(fc.constantFrom(FlowAttr.IPV4, FlowAttr.IPV6).chain((t) => payloadArb(t).map((p) => attribute(t, p))), { freq: 10 }),
    proto: fc.option(payloadArb(FlowAttr.L4PROTO).map((p) => attribute(FlowAttr.L4PROTO, p)), { freq: 10 }),
    rest: fc.array(attrArb, { maxLength: 14 }),
  })
  .map(({ address, proto, rest }) => Buffer.concat([...(address ? [address] : []), ...(proto ? [proto] : []), ...rest]));

const optionsArb: fc.Arbitrary<CommitOptions> = fc.record({
  commitTimeout: fc.option(fc.integer({ min: 0, max: 0xffffffff }), { nil: undefined }),
  tcpWindowTracking: fc.boolean(),
});

/** The request through the Flow, or 'refused' when the library cannot write it. */
function throughFlow(attrs: Buffer, updatedAt: number, opts: CommitOptions): Buffer | 'refused' {
  const w = new MessageWriter();
  try {
    writeCreateRequest(w, 0, committedFlow({ flow: decodeFlowAttributes(attrs, 0, attrs.length), since: 0, updatedAt }, opts, NOW), true);
  } catch {
    return 'refused';
  }
  return w.toBuffer();
}

describe('commit requests from sync attributes', () => {
  it('are the bytes of the Flow path for every flow they write, and write every flow with an address and a protocol', () => {
    let written = 0;
    fc.assert(
      fc.property(attributesArb, fc.integer({ min: 0, max: 600_000 }), optionsArb, (attrs, age, opts) => {
        const updatedAt = NOW - age;
        const w = new MessageWriter();
        const timeout = (replicated: number | undefined): number =>
          committedFlow({ flow: { family: 2, orig: {}, reply: {}, ...(replicated !== undefined && { timeout: replicated }) }, since: 0, updatedAt }, opts, NOW).timeout!;
        const wrote = writeCommitRequest(w, attrs, 0, attrs.length, timeout, opts);
        const flow = decodeFlowAttributes(attrs, 0, attrs.length);
        assert.equal(wrote, flow.orig.src !== undefined && flow.orig.proto !== undefined, 'writes exactly the flows with an address and a protocol');
        if (!wrote) return assert.equal(w.length, 0, 'nothing written for a flow it leaves');
        written++;
        assert.deepEqual(w.toBuffer(), throughFlow(attrs, updatedAt, opts));
      }),
      { numRuns: 3000 },
    );
    assert.ok(written > 2000, `only ${written} flows written`);
  });

  it('tell related flows (any master attribute) from the others', () => {
    fc.assert(
      fc.property(attributesArb, (attrs) => {
        assert.equal(isRelated(attrs, 0, attrs.length), decodeFlowAttributes(attrs, 0, attrs.length).master !== undefined);
      }),
      { numRuns: 1000 },
    );
  });
});
