/**
 * The fuzz properties, shared by the short run in the unit tier
 * (fuzz.test.ts) and the long run (tools/fuzz.ts): what must hold for any
 * datagram the kernel (or anything pretending to be it) could send, and for
 * every encoder with a decoder.
 *
 * For any datagram:
 * - the decoders return or throw ProtocolError, nothing else (MessageCursor,
 *   AttributeCursor, decodeFlow, decodeExpectation, decodeStats, decodeEvent,
 *   decodeExpectationMessage, WireEntry.index, the wire prefilter);
 * - what they make of it never depends on the bytes after the datagram (the
 *   receive buffer is reused, so stale bytes lie there): nothing reads past
 *   the entry it was given;
 * - writeTextLine, once the entry is indexed, prints exactly what formatText
 *   prints for the decoded entry, and the presenters never throw on a decoded
 *   entry;
 * - a delete request built from the undecoded entry names the same tuple,
 *   zone and id as the decoded one;
 * - the prefilter never rejects an entry its filter accepts.
 */
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { formatIPv4, formatIPv6 } from '../../src/ctnetlink/address';
import { CtMsg, Proto } from '../../src/ctnetlink/constants';
import { decodeEvent, type EventType } from '../../src/ctnetlink/event';
import type { Expectation } from '../../src/ctnetlink/expect';
import { decodeExpectation, decodeExpectationMessage, encodeExpectation } from '../../src/ctnetlink/expect-codec';
import type { FlowFilter } from '../../src/ctnetlink/filter';
import { compileFilter } from '../../src/ctnetlink/filter-match';
import { compileWirePrefilter } from '../../src/ctnetlink/filter-wire';
import type { Flow, NatRange, Tuple } from '../../src/ctnetlink/flow';
import { decodeFlow, encodeFlow } from '../../src/ctnetlink/flow-codec';
import { writeDeleteFor } from '../../src/ctnetlink/requests';
import { decodeStats } from '../../src/ctnetlink/stats-codec';
import { decodeTuple, encodeTuple } from '../../src/ctnetlink/tuple-codec';
import { WireEntry } from '../../src/ctnetlink/wire-entry';
import { formatExpectationJson } from '../../src/format/json-expect';
import { formatJson } from '../../src/format/json';
import { formatSave } from '../../src/format/save';
import { formatText, type TextOptions } from '../../src/format/text';
import { TextBuffer } from '../../src/format/text-buffer';
import { formatExpectationText } from '../../src/format/text-expect';
import { writeTextLine } from '../../src/format/text-wire';
import { formatExpectationXml } from '../../src/format/xml-expect';
import { formatXml } from '../../src/format/xml';
import { AttributeCursor, MessageWriter } from '../../src/netlink/attributes';
import { MessageFlags, NLMSG_HDRLEN } from '../../src/netlink/constants';
import { DumpInterruptedError, NetlinkError, ProtocolError } from '../../src/netlink/errors';
import { NetlinkChannel } from '../../src/netlink/channel';
import { MessageCursor } from '../../src/netlink/messages';
import { beginNfMessage, messageType, NFGENMSG_LEN, Subsystem } from '../../src/nfnetlink/header';
import { eventMessage } from './event-fixtures';
import { ackMessage, doneMessage, FakeKernel, PORTID } from './fake-kernel';
import { buildDatagram, datagramRecipe, type DatagramRecipe } from './fuzz-datagrams';

/** A broken invariant (as opposed to the ProtocolError a decoder may throw). */
export class FuzzViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FuzzViolation';
  }
}

function describeError(err: unknown): string {
  return err instanceof Error ? (err.stack ?? String(err)) : String(err);
}

/** Runs a decoder: its value, or undefined after a ProtocolError (logged); anything else is a violation. */
function decoded<T>(what: string, log: unknown[], fn: () => T): T | undefined {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ProtocolError) {
      log.push(`${what}: ProtocolError`);
      return undefined;
    }
    throw new FuzzViolation(`${what} threw ${describeError(err)}`);
  }
}

/** Runs what must not throw at all (a presenter given a decoded object). */
function must<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new FuzzViolation(`${what} threw ${describeError(err)}`);
  }
}

const show = (v: unknown): string => JSON.stringify(v, (_, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x)) ?? 'undefined';

const now = (): number => 1795424651;
const labelName = (bit: number): string | undefined => (bit % 3 === 0 ? `label${bit}` : undefined);
const TEXT_OPTIONS: TextOptions[] = [
  { nowSeconds: now },
  { extended: true, id: true, ktimestamp: true, labelName, event: 'update', nowSeconds: now },
];

/** Filters the wire prefilter can test (family, layer-4 protocol per direction). */
const PREFILTERS = ([
  { family: 2 },
  { orig: { proto: 6 } },
  { family: 10, reply: { proto: 17 } },
  { orig: { proto: 1, type: 8 }, reply: { proto: 1 } },
] as FlowFilter[]).map((f) => ({ filter: f, pass: compileWirePrefilter(f)!, match: compileFilter(f) }));

const out = new TextBuffer(256);

const entry = new WireEntry();

/**
 * What the decoders make of a message goes to `log`, to compare with what
 * they make of the same bytes with other bytes after them. `present` also
 * runs the presenters and the comparisons between decoders, once per input.
 */
function examineWireEntry(buf: Buffer, start: number, end: number, family: number, flow: Flow | undefined, log: unknown[], present: boolean): void {
  entry.set(buf, start, end, family);
  if (!decoded('WireEntry.index', log, () => entry.index())) return;
  for (const opts of TEXT_OPTIONS) {
    out.length = 0;
    must('writeTextLine', () => writeTextLine(out, entry, opts));
    const line = out.buf.toString('utf8', 0, out.length);
    if (flow && present) {
      const expected = must('formatText', () => formatText(flow, opts)) + '\n';
      if (line !== expected) throw new FuzzViolation(`writeTextLine printed\n  ${show(line)}\nformatText printed\n  ${show(expected)}`);
    }
    log.push(line);
  }
  for (const { filter, pass, match } of PREFILTERS) {
    const passed = must('wire prefilter', () => pass(entry));
    if (!passed && flow && present && must('compileFilter', () => match(flow))) {
      throw new FuzzViolation(`the wire prefilter rejected an entry ${show(filter)} accepts`);
    }
    log.push(passed);
  }
  const request = must('writeDeleteFor', () => {
    const w = new MessageWriter();
    writeDeleteFor(w, 1, entry);
    return w.view();
  });
  if (flow && present) {
    const sent = must('decoding the delete request', () => decodeFlow(request, NLMSG_HDRLEN + NFGENMSG_LEN, request.length, family));
    const named = { orig: sent.orig, zone: sent.zone, id: sent.id };
    if (!isDeepStrictEqual(named, { orig: flow.orig, zone: flow.zone, id: flow.id })) {
      throw new FuzzViolation(`the delete request names ${show(named)} for ${show(flow)}`);
    }
  }
  log.push(Buffer.from(request));
}

function examineMessage(m: MessageCursor, log: unknown[], present: boolean): void {
  log.push(decoded('decodeEvent', log, () => decodeEvent(m)));
  log.push(decoded('decodeExpectationMessage', log, () => decodeExpectationMessage(m)));
  if (m.end - m.payload < NFGENMSG_LEN) return;
  const { buf, end } = m;
  const start = m.payload + NFGENMSG_LEN;
  const family = buf[m.payload]!;
  const flow = decoded('decodeFlow', log, () => decodeFlow(buf, start, end, family));
  log.push(flow);
  if (flow && present) {
    must('formatXml', () => formatXml(flow, { ktimestamp: true, labelName, nowSeconds: now }));
    must('formatJson', () => formatJson(flow, { labelName, portid: 1 }));
    must('formatSave', () => formatSave(flow, '-D'));
  }
  const exp = decoded('decodeExpectation', log, () => decodeExpectation(buf, start, end, family));
  log.push(exp);
  if (exp && present) {
    must('formatExpectationText', () => formatExpectationText(exp, { event: 'new' }));
    must('formatExpectationXml', () => formatExpectationXml(exp));
    must('formatExpectationJson', () => formatExpectationJson(exp));
  }
  log.push(decoded('decodeStats', log, () => decodeStats(buf, start, end)));
  examineWireEntry(buf, start, end, family, flow, log, present);
}

/** Everything the decoders make of the first `length` bytes of `buf`, one line per observation. */
function examineDatagram(buf: Buffer, length: number, present: boolean): unknown[] {
  const log: unknown[] = [];
  const m = new MessageCursor(buf, length);
  let last = 0;
  while (decoded('MessageCursor.next', log, () => m.next())) {
    if (m.start < last || m.payload !== m.start + NLMSG_HDRLEN || m.end < m.payload || m.end > length) {
      throw new FuzzViolation(`MessageCursor gave a message at ${m.start}..${m.end} (payload ${m.payload}) in ${length} bytes`);
    }
    last = m.end;
    log.push(m.start, m.end);
    examineMessage(m, log, present);
  }
  return log;
}

/**
 * Every decoder on `datagram`, twice: alone, and followed by stale bytes
 * (a copy of itself, as a reused receive buffer holds them). Throws
 * FuzzViolation when an invariant breaks.
 */
export function checkDatagram(datagram: Buffer): void {
  const alone = examineDatagram(datagram, datagram.length, true);
  const withStale = examineDatagram(Buffer.concat([datagram, datagram, STALE]), datagram.length, false);
  if (!isDeepStrictEqual(alone, withStale)) {
    const i = alone.findIndex((seen, n) => !isDeepStrictEqual(seen, withStale[n]));
    throw new FuzzViolation(`the bytes after the datagram changed what was decoded:\n  ${show(alone[i])}\n  ${show(withStale[i])}`);
  }
}

const STALE = Buffer.alloc(64, 0xff);

const CT_NEW = messageType(Subsystem.CTNETLINK, CtMsg.NEW);

/** One conntrack message (nlmsghdr, nfgenmsg) around arbitrary attribute bytes. */
export function messageAround(attrs: Uint8Array, family = 2, type = CT_NEW): Buffer {
  const w = new MessageWriter();
  const start = beginNfMessage(w, Subsystem.CTNETLINK, type & 0xff, 0, 0, family);
  w.raw(attrs);
  w.endMessage(start);
  // raw() padded the bytes; the message ends where they do.
  const message = w.toBuffer().subarray(0, start + NLMSG_HDRLEN + NFGENMSG_LEN + attrs.length);
  message.writeUInt32LE(message.length, 0);
  message.writeUInt16LE(type, 4);
  return message;
}

/*
 * Objects for the round trips: everything each encoder can send, with the
 * consistency the wire format implies (addresses of the tuple's family,
 * both ports for port protocols, text without NUL).
 */

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const ipv4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => formatIPv4(b, 0));
/** Words of 0 and ffff often, so that :: runs and v4-mapped tails come up. */
const ipv6 = fc.array(fc.oneof(fc.constant(0), fc.constant(0xffff), u16), { minLength: 8, maxLength: 8 }).map((words) => {
  const b = Buffer.alloc(16);
  words.forEach((w, i) => b.writeUInt16BE(w, 2 * i));
  return formatIPv6(b, 0);
});
const address = (family: number): fc.Arbitrary<string> => (family === 10 ? ipv6 : ipv4);
const text = fc.string({ unit: 'grapheme', maxLength: 20 }).filter((s) => !s.includes('\0'));
const bytes = fc.uint8Array({ maxLength: 16 }).map((b) => Buffer.from(b));

const PORT_PROTOS = [Proto.TCP, Proto.UDP, Proto.UDPLITE, Proto.SCTP, Proto.DCCP, Proto.GRE];
const PROTOS = [...PORT_PROTOS, Proto.ICMP, Proto.ICMPV6, 0, 200];

/** A tuple of `family` and `proto`; ICMP has every field, as the encoder always sends them. */
function tuple(family: number, proto: number): fc.Arbitrary<Tuple> {
  const l4: Record<string, fc.Arbitrary<number>> = {};
  const required = ['l3', 'src', 'dst', 'proto'];
  if (PORT_PROTOS.includes(proto)) {
    Object.assign(l4, { sport: u16, dport: u16 });
    required.push('sport', 'dport');
  } else if (proto === Proto.ICMP || proto === Proto.ICMPV6) {
    Object.assign(l4, { icmpType: u8, icmpCode: u8, icmpId: u16 });
    required.push('icmpType', 'icmpCode', 'icmpId');
  }
  const model = { l3: fc.constant(family), src: address(family), dst: address(family), proto: fc.constant(proto), ...l4, zone: u16 };
  return fc.record(model, { requiredKeys: required as Array<keyof typeof model>, noNullPrototype: true }) as fc.Arbitrary<Tuple>;
}

const familyAndProto = fc.record({ family: fc.constantFrom(2, 10), proto: fc.constantFrom(...PROTOS) });

function natRange(family: number): fc.Arbitrary<NatRange> {
  return fc.record({ minIp: address(family), maxIp: address(family), minPort: u16, maxPort: u16 }, { requiredKeys: [], noNullPrototype: true });
}

const seqAdj = fc.record({ correctionPos: u32, offsetBefore: u32, offsetAfter: u32 }, { noNullPrototype: true });
const tcpFlags = fc.record({ flags: u8, mask: u8 }, { noNullPrototype: true });

/** A flow with any subset of what encodeFlow sends. */
const flowArbitrary: fc.Arbitrary<Flow> = familyAndProto.chain(({ family, proto }) =>
  fc
    .record(
      {
        family: fc.constant(family),
        orig: tuple(family, proto),
        reply: tuple(family, proto),
        master: tuple(family, proto),
        status: u32,
        timeout: u32,
        mark: u32,
        zone: u16,
        id: u32,
        tcp: fc.record({ state: u8, wscaleOrig: u8, wscaleReply: u8, flagsOrig: tcpFlags, flagsReply: tcpFlags }, { requiredKeys: [], noNullPrototype: true }),
        sctp: fc.record({ state: u8, vtagOrig: u32, vtagReply: u32 }, { requiredKeys: [], noNullPrototype: true }),
        dccp: fc.record({ state: u8, role: u8, handshakeSeq: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) }, { requiredKeys: [], noNullPrototype: true }),
        natSrc: natRange(family),
        natDst: natRange(family),
        helper: text,
        labels: bytes,
        labelsMask: bytes,
        seqAdjOrig: seqAdj,
        seqAdjReply: seqAdj,
        synproxy: fc.record({ isn: u32, its: u32, tsoff: u32 }, { noNullPrototype: true }),
      },
      { requiredKeys: ['family', 'orig', 'reply'], noNullPrototype: true },
    )
    .map((f) => f as Flow),
);

/** An expectation with complete tuples (encodeExpectation completes them anyway) and any optional field. */
const expectationArbitrary: fc.Arbitrary<Expectation> = familyAndProto.chain(({ family, proto }) =>
  fc.record(
    {
      family: fc.constant(family),
      master: tuple(family, proto),
      tuple: tuple(family, proto),
      mask: tuple(family, proto),
      timeout: u32,
      id: u32,
      helper: text,
      zone: u16,
      flags: u32,
      class: u32,
      nat: fc.record({ dir: u32, tuple: tuple(family, proto) }, { requiredKeys: [], noNullPrototype: true }),
      fn: text,
    },
    { requiredKeys: ['family', 'master', 'tuple', 'mask'], noNullPrototype: true },
  ),
);

/** How a property run went, with what replays a failure (seed and path) and what shrinking left of it. */
export interface FuzzResult {
  failed: boolean;
  numRuns: number;
  path?: string;
  counterexample?: string;
  error?: string;
}

export interface FuzzRun {
  seed: number;
  numRuns: number;
  /** Replays one failure (with the seed it was found with). */
  path?: string;
}

export type Check = (run: FuzzRun) => FuzzResult;

function result<Ts>(details: fc.RunDetails<Ts>): FuzzResult {
  if (!details.failed) return { failed: false, numRuns: details.numRuns };
  const e = details.errorInstance;
  return {
    failed: true,
    numRuns: details.numRuns,
    path: details.counterexamplePath ?? undefined,
    counterexample: fc.stringify(details.counterexample),
    error: e instanceof Error ? (e.stack ?? e.message) : String(e),
  };
}

function checking<Ts extends unknown[]>(property: () => fc.IProperty<Ts>): Check {
  return (run) => result(fc.check(property(), { ...run, endOnFailure: run.path !== undefined }));
}

/** encode then decode gives back what went in. */
function roundTrip<T>(arb: fc.Arbitrary<T>, through: (value: T) => unknown): fc.IPropertyWithHooks<[T]> {
  return fc.property(arb, (value) => {
    assert.deepStrictEqual(through(value), value);
  });
}

function attributesOf(write: (w: MessageWriter) => void): Buffer {
  const w = new MessageWriter(16);
  write(w);
  return w.toBuffer();
}

export type PropertyName =
  | 'damaged kernel datagrams'
  | 'random attribute bytes behind a valid header'
  | 'random bytes'
  | 'Flow round trip'
  | 'Tuple round trip'
  | 'Expectation round trip'
  | 'stats round trip'
  | 'event round trip';

/** The synchronous properties, by name: fuzz.test.ts runs each briefly, tools/fuzz.ts at length. */
export const PROPERTIES: Record<PropertyName, Check> = {
  'damaged kernel datagrams': checking(() => fc.property(datagramRecipe, (recipe) => checkDatagram(buildDatagram(recipe).datagram))),
  'random attribute bytes behind a valid header': checking(() =>
    fc.property(fc.uint8Array({ maxLength: 160 }), fc.constantFrom(0, 2, 10, 255), (attrs, family) => checkDatagram(messageAround(attrs, family))),
  ),
  'random bytes': checking(() => fc.property(fc.uint8Array({ maxLength: 96 }), (b) => checkDatagram(Buffer.from(b)))),
  'Flow round trip': checking(() =>
    roundTrip(flowArbitrary, (f) => {
      const b = attributesOf((w) => encodeFlow(w, f));
      return decodeFlow(b, 0, b.length, f.family);
    }),
  ),
  'Tuple round trip': checking(() =>
    roundTrip(familyAndProto.chain(({ family, proto }) => tuple(family, proto)), (t) => {
      const b = attributesOf((w) => encodeTuple(w, 1, t));
      const c = new AttributeCursor(b, 0, b.length);
      assert.ok(c.next());
      return decodeTuple(c);
    }),
  ),
  'Expectation round trip': checking(() =>
    roundTrip(expectationArbitrary, (e) => {
      const b = attributesOf((w) => encodeExpectation(w, e));
      return decodeExpectation(b, 0, b.length, e.family);
    }),
  ),
  'stats round trip': checking(() =>
    roundTrip(fc.array(fc.record({ type: fc.integer({ min: 0, max: 0x3fff }), value: u32 }, { noNullPrototype: true }), { maxLength: 40 }), (values) => {
      const b = attributesOf((w) => values.forEach((v) => w.u32be(v.type, v.value)));
      return decodeStats(b, 0, b.length);
    }),
  ),
  'event round trip': checking(() =>
    roundTrip(
      fc.record({ type: fc.constantFrom<EventType>('new', 'update', 'destroy'), flow: flowArbitrary, portid: u32 }, { noNullPrototype: true }),
      (e) => {
        const message = eventMessage(e.flow, e.type, e.portid);
        const m = new MessageCursor(message, message.length);
        assert.ok(m.next());
        return decodeEvent(m);
      },
    ),
  ),
};


/*
 * The request engine under damaged replies: a dump whose datagrams are
 * fuzzed (and then properly ended) must settle with its entries or a typed
 * error, never hang, and leave the channel able to serve the next request.
 */

const TYPED = [ProtocolError, NetlinkError, DumpInterruptedError];

/** Addresses the messages of a datagram to request `seq` of our port, where their headers survived. */
function addressTo(seq: number, built: { datagram: Buffer; messageStarts: number[] }): Buffer {
  for (const at of built.messageStarts) {
    built.datagram.writeUInt32LE(seq, at + 8);
    built.datagram.writeUInt32LE(PORTID, at + 12);
  }
  return built.datagram;
}

interface DumpOutcome {
  flows: Flow[];
  error?: unknown;
}

/** Dumps through a NetlinkChannel whose fake kernel answers with `reply(seq)`; rejects with FuzzViolation if it hangs. */
export async function dumpThroughChannel(reply: (seq: number) => Buffer[], timeoutMs = 2000): Promise<DumpOutcome> {
  const kernel = new FakeKernel((r) => (r.flags & MessageFlags.DUMP ? reply(r.seq) : [ackMessage(r.seq)]));
  const channel = new NetlinkChannel(kernel, { datagramSize: 128 * 1024 });
  const outcome: DumpOutcome = { flows: [] };
  let timer: NodeJS.Timeout | undefined;
  try {
    const dump = (async () => {
      const seq = channel.nextSeq();
      const request = beginAndEnd(seq, MessageFlags.REQUEST | MessageFlags.DUMP);
      try {
        for await (const batch of channel.dump(request, seq, (m) => decodeEvent(m)?.flow)) outcome.flows.push(...batch);
      } catch (err) {
        outcome.error = err;
      }
      // The channel must still serve requests.
      const next = channel.nextSeq();
      await channel.request(beginAndEnd(next, MessageFlags.REQUEST | MessageFlags.ACK), next);
    })();
    const hung = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new FuzzViolation(`the dump did not settle within ${timeoutMs} ms`)), timeoutMs);
    });
    await Promise.race([dump, hung]);
  } finally {
    clearTimeout(timer);
    channel.close();
  }
  if (outcome.error !== undefined && !TYPED.some((type) => outcome.error instanceof type)) {
    throw new FuzzViolation(`the dump failed with ${describeError(outcome.error)}`);
  }
  if (channel.inFlight !== 0) throw new FuzzViolation(`${channel.inFlight} requests left in flight`);
  return outcome;
}

function beginAndEnd(seq: number, flags: number): Buffer {
  const w = new MessageWriter();
  const start = beginNfMessage(w, Subsystem.CTNETLINK, CtMsg.GET, flags, seq, 0);
  w.endMessage(start);
  return w.toBuffer();
}

/** The async property: damaged dump datagrams, then NLMSG_DONE. */
export async function checkChannel(run: FuzzRun): Promise<FuzzResult> {
  const property = fc.asyncProperty(fc.array(datagramRecipe, { minLength: 1, maxLength: 4 }), async (recipes: DatagramRecipe[]) => {
    await dumpThroughChannel((seq) => [...recipes.map((r) => addressTo(seq, buildDatagram(r))), doneMessage(seq)]);
  });
  return result(await fc.check(property, { ...run, endOnFailure: run.path !== undefined }));
}
