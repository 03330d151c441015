import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { compileEventFilter } from '../../src/ctnetlink/filter-bpf';
import type { FlowFilter } from '../../src/ctnetlink/filter';
import { compileFilter } from '../../src/ctnetlink/filter-match';
import type { Flow, Tuple } from '../../src/ctnetlink/flow';
import { decodeFlow } from '../../src/ctnetlink/flow-codec';
import { Status } from '../../src/ctnetlink/status';
import { invertTuple } from '../../src/ctnetlink/tuple';
import { runClassicBpf } from './bpf-vm';
import { flowFixtureNames, loadMessage, randomInt, seededRandom } from './ctnetlink-fixtures';
import { eventMessage } from './event-fixtures';

/*
 * The kernel filter may only narrow the event stream to a superset of what
 * the userspace predicate accepts (the listener re-checks every event), and
 * for the fields it compiles exactly it must narrow to exactly that set.
 * Checked on every captured kernel message and on seeded random entries,
 * against seeded random filters drawn from the same small value pools so
 * that matches are frequent.
 */

const TCP = 6;
const UDP = 17;
const ICMP = 1;
const ICMPV6 = 58;
const SCTP = 132;
const GRE = 47;

const V4 = ['10.0.0.1', '10.0.0.2', '10.0.1.7', '192.168.5.1'];
const V6 = ['2001:db8::1', '2001:db8::2', '2001:db8:0:1::7', 'fe80::1'];
const PORTS = [53, 80, 443, 1024];
const PROTOS = [TCP, UDP, ICMP, ICMPV6, SCTP, GRE, 200];

interface Message {
  flow: Flow;
  bytes: Buffer;
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[randomInt(random, items.length)]!;
}

function maybe<T>(random: () => number, p: number, value: () => T): T | undefined {
  return random() < p ? value() : undefined;
}

function randomTuple(random: () => number, family: number, proto: number): Tuple {
  const pool = family === 2 ? V4 : V6;
  const t: Tuple = { l3: family, src: pick(random, pool), dst: pick(random, pool), proto };
  if (proto === ICMP || proto === ICMPV6) {
    t.icmpType = pick(random, proto === ICMP ? [0, 8] : [128, 129]);
    t.icmpCode = 0;
    t.icmpId = pick(random, PORTS);
  } else if (proto !== 200) {
    t.sport = pick(random, PORTS);
    t.dport = pick(random, PORTS);
  }
  const zone = maybe(random, 0.2, () => pick(random, [0, 3, 5]));
  if (zone !== undefined) t.zone = zone;
  return t;
}

function randomFlow(random: () => number): Flow {
  const family = pick(random, [2, 10]);
  const proto = pick(random, PROTOS.filter((p) => (family === 2 ? p !== ICMPV6 : p !== ICMP)));
  const orig = randomTuple(random, family, proto);
  const reply = random() < 0.7 ? { ...invertTuple(orig), zone: orig.zone } : randomTuple(random, family, proto);
  if (reply.zone === undefined) delete reply.zone;
  const flow: Flow = { family, orig, reply, status: pick(random, [Status.CONFIRMED, Status.CONFIRMED | Status.SEEN_REPLY | Status.ASSURED]) };
  const optional: Partial<Flow> = {
    mark: maybe(random, 0.6, () => pick(random, [0, 1, 5, 0x105])),
    zone: maybe(random, 0.3, () => pick(random, [0, 3, 5])),
    id: maybe(random, 0.8, () => pick(random, [1, 2, 3])),
    timeout: 100,
  };
  for (const [key, value] of Object.entries(optional)) if (value !== undefined) Object.assign(flow, { [key]: value });
  if (random() < 0.2) delete flow.status;
  if (proto === TCP && random() < 0.8) flow.tcp = { state: pick(random, [1, 3, 7]) };
  if (proto === SCTP && random() < 0.8) flow.sctp = { state: pick(random, [3, 4]) };
  return flow;
}

/** A filter direction with a few fields of the pools; addresses carry their family as the CLI sets it. */
function randomFilterTuple(random: () => number, family: number): Tuple | undefined {
  const pool = family === 2 ? V4 : V6;
  const t: Tuple = {};
  const src = maybe(random, 0.3, () => pick(random, pool));
  const dst = maybe(random, 0.2, () => pick(random, pool));
  if (src !== undefined) t.src = src;
  if (dst !== undefined) t.dst = dst;
  if (src !== undefined || dst !== undefined) t.l3 = family;
  const proto = maybe(random, 0.5, () => pick(random, PROTOS));
  if (proto !== undefined) {
    t.proto = proto;
    if (random() < 0.4) t.sport = pick(random, PORTS);
    if (random() < 0.4) t.dport = pick(random, PORTS);
    if (proto === ICMP || proto === ICMPV6) {
      if (random() < 0.4) t.icmpType = pick(random, [0, 8, 128]);
      if (random() < 0.3) t.icmpId = pick(random, PORTS);
    }
  }
  if (random() < 0.15) t.zone = pick(random, [0, 3]);
  return Object.keys(t).length > 0 ? t : undefined;
}

function randomFilter(random: () => number): FlowFilter {
  const family = pick(random, [2, 10]);
  const f: FlowFilter = {};
  if (random() < 0.3) f.family = family;
  const orig = randomFilterTuple(random, family);
  const reply = random() < 0.4 ? randomFilterTuple(random, family) : undefined;
  if (orig) f.orig = orig;
  if (reply) f.reply = reply;
  if (random() < 0.2) f.mark = { value: pick(random, [0, 1, 5]), mask: pick(random, [0xffffffff, 0xff]) };
  if (random() < 0.15) f.zone = pick(random, [0, 3]);
  if (random() < 0.15) f.id = pick(random, [1, 2]);
  if (random() < 0.15) f.status = { value: Status.ASSURED, mask: Status.ASSURED };
  if (random() < 0.15 && f.orig?.proto === TCP) f.state = pick(random, [3, 7]);
  if (random() < 0.15 && f.orig?.src !== undefined) {
    f.family = family;
    f.srcMask = family === 2 ? '255.255.255.0' : 'ffff:ffff:ffff:ffff::';
  }
  return f;
}

function capturedMessages(): Message[] {
  return flowFixtureNames().map((name) => {
    const m = loadMessage(name);
    return { flow: decodeFlow(m.buf, m.start, m.end, m.family), bytes: m.buf };
  });
}

function randomMessages(random: () => number, n: number): Message[] {
  return Array.from({ length: n }, () => {
    const flow = randomFlow(random);
    const bytes = eventMessage(flow, pick(random, ['new', 'update', 'destroy'] as const));
    // Decoded from the bytes, as a listener sees it: absent attributes stay absent.
    return { flow: decodeFlow(bytes, 20, bytes.length, flow.family), bytes };
  });
}

/** Filters whose every field the program tests exactly (no ICMP fields, state or networks). */
function compiledExactly(f: FlowFilter): boolean {
  const icmp = (t: Tuple | undefined) => t?.icmpType !== undefined || t?.icmpId !== undefined;
  const l3Only = (t: Tuple | undefined) => t?.l3 !== undefined && t.src === undefined && t.dst === undefined;
  return f.state === undefined && f.srcMask === undefined && !icmp(f.orig) && !icmp(f.reply) && !l3Only(f.orig) && !l3Only(f.reply);
}

test('the event filter accepts every event the predicate accepts, and exactly those for exact fields', () => {
  const random = seededRandom(4);
  const messages = [...capturedMessages(), ...randomMessages(random, 400)];
  let narrowed = 0;
  let exactFilters = 0;
  for (let i = 0; i < 600; i++) {
    const filter = randomFilter(random);
    const program = compileEventFilter(filter);
    const match = compileFilter(filter);
    if (!program) continue;
    const exact = compiledExactly(filter);
    if (exact) exactFilters++;
    for (const { flow, bytes } of messages) {
      const kernel = runClassicBpf(program, bytes) !== 0;
      const user = match(flow);
      if (user) assert.ok(kernel, `kernel filter dropped an event the predicate keeps\nfilter ${inspect(filter)}\nflow ${inspect(flow, { depth: 4 })}`);
      else if (!kernel) narrowed++;
      else if (exact) assert.fail(`kernel filter passed an event the predicate drops\nfilter ${inspect(filter)}\nflow ${inspect(flow, { depth: 4 })}`);
    }
  }
  assert.ok(exactFilters > 300, `only ${exactFilters} exactly compiled filters were drawn`);
  assert.ok(narrowed > 50_000, `the kernel filter rejected only ${narrowed} events`);
});

test('filters the kernel cannot narrow compile to no program', () => {
  assert.equal(compileEventFilter({}), undefined);
  assert.equal(compileEventFilter({ nat: { src: {} } }), undefined);
  assert.equal(compileEventFilter({ timeout: 5 }), undefined);
});

test('a missing attribute passes where the predicate gives it meaning and fails where it is strict', () => {
  const flow: Flow = {
    family: 2,
    orig: { l3: 2, src: '10.0.0.1', dst: '10.0.0.2', proto: UDP, sport: 1, dport: 2 },
    reply: { l3: 2, src: '10.0.0.2', dst: '10.0.0.1', proto: UDP, sport: 2, dport: 1 },
  };
  const bytes = eventMessage(flow, 'destroy');
  const verdict = (filter: FlowFilter) => runClassicBpf(compileEventFilter(filter)!, bytes) !== 0;
  // 1.4.7: an event without CTA_MARK fails every mark filter, -m 0 included.
  assert.equal(verdict({ mark: { value: 0, mask: 0xffffffff } }), false);
  // Zones are compared non-strictly: no CTA_ZONE is zone 0.
  assert.equal(verdict({ zone: 0 }), true);
  assert.equal(verdict({ zone: 3 }), false);
  assert.equal(verdict({ orig: { zone: 0 } }), true);
  assert.equal(verdict({ reply: { zone: 3 } }), false);
  assert.equal(verdict({ id: 1 }), false);
  assert.equal(verdict({ status: { value: 0, mask: 0 } }), false);
});

test('the largest filter keeps every jump within 8 bits', () => {
  const v6: Tuple = { l3: 10, src: '2001:db8::1', dst: '2001:db8::2', proto: TCP, sport: 1, dport: 2, zone: 4 };
  const program = compileEventFilter({
    family: 10,
    orig: v6,
    reply: { ...invertTuple(v6), zone: 4 },
    srcMask: 'ffff:ffff::',
    dstMask: 'ffff:ffff::',
    mark: { value: 1, mask: 3 },
    zone: 9,
    id: 7,
    status: { value: Status.ASSURED, mask: Status.ASSURED },
    state: 3,
  })!;
  assert.ok(program.length / 8 < 4096, 'within BPF_MAXINSNS');
  const flow: Flow = { family: 10, orig: v6, reply: { ...invertTuple(v6), zone: 4 }, mark: 1, zone: 9, id: 7, status: Status.ASSURED, tcp: { state: 3 } };
  assert.notEqual(runClassicBpf(program, eventMessage(flow)), 0);
  assert.equal(runClassicBpf(program, eventMessage({ ...flow, zone: 8 })), 0);
});
