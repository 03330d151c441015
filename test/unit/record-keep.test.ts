/**
 * RecordBuilder#keep copies runs of kept attributes at once: the record must
 * be what copying each kept attribute alone, zero-padded, would make, for
 * any mix of kept, uncached and skipped attributes (the types of an
 * update), a last attribute without its padding included.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CtAttr } from '../../src/ctnetlink/constants';
import { RecordBuilder } from '../../src/conntrackd/engine/record';

interface Attr {
  type: number;
  payload: Uint8Array;
}

const TYPES = [CtAttr.TUPLE_REPLY, CtAttr.STATUS, CtAttr.TIMEOUT, CtAttr.PROTOINFO, CtAttr.USE, CtAttr.ID, CtAttr.COUNTERS_ORIG, CtAttr.MARK, CtAttr.ZONE, CtAttr.LABELS_MASK, CtAttr.SYNPROXY];
const UNCACHED = new Set<number>([CtAttr.TIMEOUT, CtAttr.USE, CtAttr.COUNTERS_ORIG, CtAttr.LABELS_MASK]);

const attrArb: fc.Arbitrary<Attr> = fc.record({ type: fc.constantFrom(...TYPES), payload: fc.uint8Array({ maxLength: 40 }) });

/** The attributes as the kernel lays them out (zeroed padding), the last one's padding left out when `trim`. */
function message(attrs: Attr[], trim: boolean): Buffer {
  const parts = attrs.map(({ type, payload }) => {
    const b = Buffer.alloc((4 + payload.length + 3) & ~3);
    b.writeUInt16LE(4 + payload.length, 0);
    b.writeUInt16LE(type, 2);
    b.set(payload, 4);
    return b;
  });
  const all = Buffer.concat(parts);
  const last = attrs.at(-1);
  return trim && last ? all.subarray(0, all.length - parts.at(-1)!.length + 4 + last.payload.length) : all;
}

const builder = new RecordBuilder();

describe('RecordBuilder#keep', () => {
  it('keeps every cached attribute not skipped, each zero-padded, in order', () => {
    fc.assert(
      fc.property(fc.array(attrArb, { maxLength: 12 }), fc.boolean(), fc.subarray(TYPES), fc.boolean(), (attrs, trim, skipped, useSkip) => {
        const skip = useSkip ? new Set<number>(skipped) : undefined;
        const input = Buffer.concat([Buffer.from([9, 9, 9]), message(attrs, trim)]);
        // One builder for every run: its buffer holds earlier records' bytes,
        // as in a cache, and its stamps the types earlier updates skipped.
        const b = builder;
        b.length = 0;
        const update = message(skipped.map((type) => ({ type, payload: new Uint8Array(1) })), false);
        b.skipTypesOf(update, 0, update.length);
        b.keep(input, 3, input.length, useSkip);
        const expected = message(attrs.filter((a) => !UNCACHED.has(a.type) && !skip?.has(a.type)), false);
        assert.deepEqual(b.bytes.subarray(0, b.length), expected);
      }),
      { numRuns: 2000 },
    );
  });
});
