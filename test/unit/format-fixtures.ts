/**
 * Readable builders of `Flow` objects for the presenter tests, and the loader
 * of the frozen live capture in test/fixtures/format (see flows.json "about").
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Family, Proto } from '../../src/ctnetlink/constants';
import type { Counters, Flow, Tuple } from '../../src/ctnetlink/flow';
import type { EventType } from '../../src/format/text';
import { Status } from '../../src/ctnetlink/status';

/** What most entries created by `conntrack -I` carry. */
export const CONFIRMED = Status.CONFIRMED;
/** A flow that saw traffic both ways and is assured. */
export const REPLIED_ASSURED = Status.CONFIRMED | Status.SEEN_REPLY | Status.ASSURED;

/** Layer-4 part of a tuple: ports (or GRE keys), or the ICMP fields, and a direction zone. */
export interface L4 {
  sport?: number;
  dport?: number;
  type?: number;
  code?: number;
  id?: number;
  zone?: number;
}

/** One direction: `tuple('10.0.0.1', '10.0.0.2', { sport: 1111, dport: 80 })`. */
export function tuple(src: string, dst: string, l4: L4 = {}): Omit<Tuple, 'proto'> {
  return {
    src,
    dst,
    sport: l4.sport,
    dport: l4.dport,
    icmpType: l4.type,
    icmpCode: l4.code,
    icmpId: l4.id,
    zone: l4.zone,
  };
}

export type FlowSpec = Omit<Flow, 'family' | 'orig' | 'reply'> & {
  proto: number;
  orig: Omit<Tuple, 'proto'>;
  /** Default: the original direction mirrored (addresses and ports swapped, no zone). */
  reply?: Omit<Tuple, 'proto'>;
  /** Default: IPv6 when the original source contains a colon. */
  family?: number;
};

/** The reply tuple the kernel derives for an un-NATed flow. */
function mirror(t: Omit<Tuple, 'proto'>): Omit<Tuple, 'proto'> {
  return { ...t, src: t.dst, dst: t.src, sport: t.dport, dport: t.sport, zone: undefined };
}

/**
 * A flow as the decoder would deliver it: both tuples carry the protocol and
 * the family follows the addresses unless given.
 */
export function makeFlow(spec: FlowSpec): Flow {
  const { proto, orig, reply, family, ...rest } = spec;
  return {
    ...rest,
    family: family ?? (orig.src?.includes(':') ? Family.INET6 : Family.INET),
    orig: { ...orig, proto },
    reply: { ...(reply ?? mirror(orig)), proto },
  };
}

export function counters(packets: number | bigint, bytes: number | bigint): Counters {
  return { packets: BigInt(packets), bytes: BigInt(bytes) };
}

/** Nanoseconds of a wall-clock second (kernel timestamps are u64 ns). */
export function ns(seconds: number, nanos = 0): bigint {
  return BigInt(seconds) * 1000000000n + BigInt(nanos);
}

/** A label bitmap (CTA_LABELS, 16 bytes as the kernel sends it) with the given bits set. */
export function labelBits(...bits: number[]): Buffer {
  const b = Buffer.alloc(16);
  for (const bit of bits) b[bit >> 3]! |= 1 << (bit & 7);
  return b;
}

/** A label-name lookup as a loaded connlabel.conf provides it. */
export function labelMap(names: Record<number, string>): (bit: number) => string | undefined {
  return (bit) => names[bit];
}


// ---------------------------------------------------------------------------
// The frozen live capture.

const FIXTURES = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'format');

interface RawCounters {
  packets: string;
  bytes: string;
}

/** flows.json as written by the capture (u64 values as decimal strings, labels as hex). */
interface RawFlow extends Omit<Flow, 'countersOrig' | 'countersReply' | 'timestamp' | 'labels'> {
  countersOrig?: RawCounters;
  countersReply?: RawCounters;
  timestamp?: { start?: string; stop?: string };
  labels?: string;
}

interface RawCapture {
  capturedAt: number;
  tz: string;
  labelMap: Record<string, string>;
  flows: RawFlow[];
}

function toFlow(raw: RawFlow): Flow {
  const { countersOrig, countersReply, timestamp, labels, ...rest } = raw;
  const flow: Flow = { ...rest };
  if (countersOrig) flow.countersOrig = counters(BigInt(countersOrig.packets), BigInt(countersOrig.bytes));
  if (countersReply) flow.countersReply = counters(BigInt(countersReply.packets), BigInt(countersReply.bytes));
  if (timestamp) {
    flow.timestamp = {
      start: timestamp.start === undefined ? undefined : BigInt(timestamp.start),
      stop: timestamp.stop === undefined ? undefined : BigInt(timestamp.stop),
    };
  }
  if (labels !== undefined) flow.labels = Buffer.from(labels, 'hex');
  return flow;
}

export interface Capture {
  /** The wall-clock second in which every file was captured: `delta-time`'s "now". */
  capturedAt: number;
  tz: string;
  labelName: (bit: number) => string | undefined;
  flows: Flow[];
  /** The lines of one captured output file, without the final empty line. */
  lines(file: string): string[];
}

export function loadCapture(): Capture {
  const raw = JSON.parse(readFileSync(join(FIXTURES, 'flows.json'), 'utf8')) as RawCapture;
  return {
    capturedAt: raw.capturedAt,
    tz: raw.tz,
    labelName: (bit) => raw.labelMap[bit],
    flows: raw.flows.map(toFlow),
    lines: (file) => readFileSync(join(FIXTURES, file), 'utf8').replace(/\n$/, '').split('\n'),
  };
}

let oracle: Map<string, string> | undefined;

/**
 * A transcript of libnetfilter_conntrack 1.0.9 itself for an edge case the
 * kernel cannot produce on demand (test/fixtures/format/oracle-edge-cases.txt):
 * `T` the default format, `X` the XML format.
 */
export function oracleTranscript(name: string, format: 'T' | 'X'): string {
  if (oracle === undefined) {
    oracle = new Map();
    for (const line of readFileSync(join(FIXTURES, 'oracle-edge-cases.txt'), 'utf8').split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      const [caseName, kind, output] = line.split('\t');
      oracle.set(caseName + '\t' + kind, output!);
    }
  }
  const transcript = oracle.get(name + '\t' + format);
  if (transcript === undefined) throw new Error('no oracle transcript ' + name + ' ' + format);
  return transcript;
}

/** The wall-clock second at which the ts-* oracle transcripts were printed. */
export const ORACLE_TS_NOW = 1795424651;

/** The label map of the oracle cases. */
export const ORACLE_LABELS = labelMap({ 1: 'one', 5: 'five-5', 9: 'nine' });

/** One oracle edge case: the flow and the printer flags it was printed with. */
export interface OracleCase {
  name: string;
  flow: Flow;
  event?: EventType;
  /** NFCT_OF_SHOW_LAYER3 (`-o extended`). */
  extended?: boolean;
  /** NFCT_OF_ID (`-o id`; the XML format prints the id regardless). */
  id?: boolean;
  /** NFCT_OF_TIMESTAMP (`-o ktimestamp`). */
  ktimestamp?: boolean;
  /** Printed with {@link ORACLE_LABELS} loaded. */
  labels?: boolean;
}

/** The setter-built objects: udp 10.0.0.1:1 -> 10.0.0.5:2 unless the case says otherwise. */
function setterFlow(extra: Partial<Flow> & { proto?: number }): Flow {
  const { proto = Proto.UDP, ...rest } = extra;
  return makeFlow({ proto, orig: tuple('10.0.0.1', '10.0.0.5', { sport: 1, dport: 2 }), ...rest });
}

/** The hand-built message of the ts-* cases. */
function messageFlow(timestamp: Flow['timestamp'], secctx?: string): Flow {
  return makeFlow({
    proto: Proto.UDP, orig: tuple('10.0.0.1', '10.0.0.2', { sport: 5000, dport: 5001 }),
    status: Status.SEEN_REPLY, countersOrig: counters(2n ** 64n - 1n, 33), countersReply: counters(1, 34),
    secctx, use: 3, timestamp,
  });
}

/** Every case of oracle-edge-cases.txt, each printed in both formats. */
export const ORACLE_CASES: readonly OracleCase[] = [
  { name: 'sctp-heartbeat-sent', flow: setterFlow({ proto: Proto.SCTP, sctp: { state: 8 }, status: 0 }) },
  { name: 'sctp-heartbeat-acked', flow: setterFlow({ proto: Proto.SCTP, sctp: { state: 9 } }) },
  { name: 'sctp-state-10', flow: setterFlow({ proto: Proto.SCTP, sctp: { state: 10 } }) },
  { name: 'dccp-open', flow: setterFlow({ proto: Proto.DCCP, dccp: { state: 4 } }) },
  { name: 'dccp-invalid', flow: setterFlow({ proto: Proto.DCCP, dccp: { state: 9 } }) },
  { name: 'dccp-state-12', flow: setterFlow({ proto: Proto.DCCP, dccp: { state: 12 } }) },
  { name: 'tcp-state-10', flow: setterFlow({ proto: Proto.TCP, tcp: { state: 10 } }) },
  {
    name: 'hw-offload-zones-helper',
    flow: setterFlow({
      orig: tuple('10.0.0.1', '10.0.0.5', { sport: 1, dport: 2, zone: 1 }),
      reply: tuple('10.0.0.5', '10.0.0.1', { sport: 2, dport: 1, zone: 2 }),
      status: Status.HW_OFFLOAD | Status.OFFLOAD | Status.ASSURED | Status.SEEN_REPLY,
      secmark: 7, zone: 3, countersOrig: counters(0, 0), helper: 'x<y>',
    }),
  },
  {
    name: 'offload-reply-counters',
    flow: setterFlow({ status: Status.OFFLOAD | Status.ASSURED | Status.SEEN_REPLY, countersReply: counters(0, 0) }),
  },
  // The setters cannot store a secctx string, so C printed its NULL; only the placement matters.
  { name: 'lone-secctx', flow: setterFlow({ secctx: '(null)' }) },
  {
    name: 'labels-named-extended-id-new', flow: setterFlow({ labels: labelBits(1, 5, 7, 9), id: 42 }),
    event: 'new', extended: true, id: true, labels: true,
  },
  { name: 'labels-unnamed-update', flow: setterFlow({ labels: labelBits(7, 100) }), event: 'update', labels: true },
  { name: 'labels-no-map-destroy', flow: setterFlow({ labels: labelBits(7, 100) }), event: 'destroy' },
  {
    name: 'unknown-family',
    flow: makeFlow({ family: 7, proto: Proto.UDP, orig: { sport: 1, dport: 2 }, reply: { sport: 2, dport: 1 }, timeout: 3 }),
    extended: true,
  },
  {
    name: 'ts-stop-after-start',
    flow: messageFlow({ start: 1795334584999999999n, stop: 1795334586000000000n }, 'a<b&c>'), ktimestamp: true,
  },
  { name: 'ts-stop-before-start', flow: messageFlow({ start: 1795334586000000000n, stop: 1795334584000000000n }), ktimestamp: true },
  { name: 'ts-stop-zero', flow: messageFlow({ start: ns(1), stop: 0n }), ktimestamp: true },
  { name: 'ts-stop-only', flow: messageFlow({ stop: ns(5) }), ktimestamp: true },
  { name: 'ts-running-no-ktimestamp', flow: messageFlow({ start: 1795334584999999999n }) },
  { name: 'ts-start-u64-max', flow: messageFlow({ start: 2n ** 64n - 1n }), ktimestamp: true },
];
