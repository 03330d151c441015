/**
 * The daemon writes a cached flow's sync attributes straight from its
 * record's kernel bytes (engine/record-sync.ts). Whatever the flow, the
 * bytes must be those the Flow codec writes for the record decoded, or both
 * must refuse the flow: generated kernel entries of every shape (NAT seen in
 * the reply tuple or not, protocol info, master, sequence adjustment,
 * helper, labels, synproxy, zone, foreign-family addresses) are written both
 * ways and compared.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { formatIPv4, formatIPv6 } from '../../src/ctnetlink/address';
import type { Flow, Tuple } from '../../src/ctnetlink/flow';
import { Status } from '../../src/ctnetlink/status';
import { FlowCache } from '../../src/conntrackd/engine/cache';
import { AttrWriter } from '../../src/conntrackd/sync/attributes';
import { SyncEncodeError } from '../../src/conntrackd/sync/errors';
import { encodeFlowAttributes, type FlowEncodeOptions } from '../../src/conntrackd/sync/flow-attributes';
import { wireEntry } from './conntrackd-fixtures';

const u8 = fc.integer({ min: 0, max: 255 });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const opt = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(a, { nil: undefined });
const v4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => formatIPv4(b, 0));
const v6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => formatIPv6(b, 0));
/** Mostly the flow's family; now and then the other one (which the wire cannot carry). */
const addr = (family: number): fc.Arbitrary<string> =>
  fc.oneof({ weight: 9, arbitrary: family === 2 ? v4 : v6 }, { weight: 1, arbitrary: family === 2 ? v6 : v4 });
const l3Of = (address: string): number => (address.includes(':') ? 10 : 2);

function tupleArb(family: number, proto: number): fc.Arbitrary<Tuple> {
  const ports = [6, 17, 132, 33].includes(proto);
  const icmp = proto === 1 || proto === 58;
  return fc
    .record({
      src: addr(family),
      dst: addr(family),
      sport: ports ? u16 : fc.constant(undefined),
      dport: ports ? u16 : fc.constant(undefined),
      icmpType: icmp ? opt(u8) : fc.constant(undefined),
      icmpCode: icmp ? opt(u8) : fc.constant(undefined),
      icmpId: icmp ? opt(u16) : fc.constant(undefined),
    })
    .map((t) => clean({ l3: l3Of(t.src), proto, ...t, ...(l3Of(t.src) !== l3Of(t.dst) ? { dst: t.src } : {}) }));
}

/** The reply tuple: the inverse of the original, with the NAT of `nat` applied to some of its fields. */
function replyArb(family: number, orig: Tuple): fc.Arbitrary<Tuple> {
  return fc
    .record({ src: opt(addr(family)), dst: opt(addr(family)), sport: opt(u16), dport: opt(u16) })
    .map((nat) =>
      clean({
        ...orig,
        src: nat.src && l3Of(nat.src) === orig.l3 ? nat.src : orig.dst,
        dst: nat.dst && l3Of(nat.dst) === orig.l3 ? nat.dst : orig.src,
        sport: orig.sport === undefined ? undefined : (nat.sport ?? orig.dport),
        dport: orig.dport === undefined ? undefined : (nat.dport ?? orig.sport),
      }),
    );
}

const labelsArb = fc.integer({ min: 1, max: 16 }).chain((words) => fc.oneof(fc.uint8Array({ minLength: 4 * words, maxLength: 4 * words }), fc.constant(new Uint8Array(4 * words)))).map((b) => Buffer.from(b));
const natBits = fc.constantFrom(0, Status.SRC_NAT_DONE, Status.DST_NAT_DONE, Status.SRC_NAT_DONE | Status.DST_NAT_DONE);

const kernelFlowArb: fc.Arbitrary<Flow> = fc.tuple(fc.constantFrom(2, 10), fc.constantFrom(1, 6, 17, 33, 47, 58, 132, 136)).chain(([family, proto]) =>
  tupleArb(family, proto).chain((orig) =>
    fc
      .record({
        reply: replyArb(family, orig),
        status: opt(fc.tuple(u32, natBits).map(([s, nat]) => (s & ~(Status.SRC_NAT_DONE | Status.DST_NAT_DONE)) | nat)),
        mark: opt(u32),
        zone: opt(u16),
        id: opt(u32),
        use: opt(u32),
        tcp: proto === 6 ? opt(fc.record({ state: opt(u8), wscaleOrig: opt(u8), wscaleReply: opt(u8) })) : fc.constant(undefined),
        sctp: proto === 132 ? opt(fc.record({ state: opt(u8), vtagOrig: opt(u32), vtagReply: opt(u32) })) : fc.constant(undefined),
        dccp: proto === 33 ? opt(fc.record({ state: opt(u8), role: opt(u8) })) : fc.constant(undefined),
        master: opt(fc.constantFrom(6, 17, 1).chain((p) => tupleArb(family, p))),
        seqAdjOrig: opt(fc.record({ correctionPos: u32, offsetBefore: u32, offsetAfter: u32 })),
        seqAdjReply: opt(fc.record({ correctionPos: u32, offsetBefore: u32, offsetAfter: u32 })),
        helper: opt(fc.array(fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-'), { minLength: 1, maxLength: 15 }).map((cs) => cs.join(''))),
        labels: opt(labelsArb),
        synproxy: opt(fc.record({ its: u32, isn: u32, tsoff: u32 })),
      })
      .map((rest) => clean({ family, orig, ...rest }) as Flow),
  ),
);

/** Drops undefined members (recursively): the kernel sends no attribute for them. */
function clean<T>(o: T): T {
  if (o === null || typeof o !== 'object' || Buffer.isBuffer(o)) return o;
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined).map(([k, v]) => [k, clean(v)])) as T;
}

/** The attributes `write` appends, or the refusal. */
function written(write: (w: AttrWriter) => void): Buffer | 'refused' {
  const w = new AttrWriter(0);
  try {
    write(w);
  } catch (err) {
    if (err instanceof SyncEncodeError) return 'refused';
    throw err;
  }
  return w.finish();
}

const OPTIONS: FlowEncodeOptions[] = [{}, { omitTimeout: true }, { windowTracking: true }];

describe('sync attributes from a cache record', () => {
  it('are the bytes the Flow codec writes for the decoded record, or both refuse the flow', () => {
    let refused = 0;
    let carried = 0;
    fc.assert(
      fc.property(kernelFlowArb, opt(u32), (flow, timeout) => {
        const cache = new FlowCache(4, 4, () => 0);
        cache.update(wireEntry(flow));
        const [cached] = [...cache.values()];
        assert.ok(cached, 'the entry is cached');
        if (timeout !== undefined) cache.noteTimeout(cached.slot, timeout === 0 ? 1 : timeout);
        const decoded = { ...cached.flow(), timeout: cache.timeoutOf(cached.slot) };
        for (const opts of OPTIONS) {
          const fromRecord = written((w) => cache.writeSyncAttributes(cached.slot, w, opts));
          const fromFlow = written((w) => encodeFlowAttributes(w, decoded, opts));
          assert.deepEqual(fromRecord, fromFlow);
          if (fromRecord === 'refused') refused++;
          else carried++;
        }
      }),
      { numRuns: 2000 },
    );
    // Both outcomes were exercised.
    assert.ok(refused > 0 && carried > refused, `${carried} carried, ${refused} refused`);
  });
});
