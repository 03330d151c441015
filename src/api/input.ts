import type { FlowFilter } from '../ctnetlink/filter';
import type { Flow, Tuple } from '../ctnetlink/flow';
import { Protocol, type ProtocolName } from './constants';

/**
 * What the library's methods accept where they take a flow or a filter:
 * the decoded types, with a protocol given by name as well as by number and,
 * on create, no reply direction (the inverse of `orig`, as `conntrack -I`
 * derives it).
 */

/** A layer-4 protocol: its number, or the lower-case name of one of `Protocol`. */
export type ProtocolInput = number | ProtocolName;

export type TupleInput = Omit<Tuple, 'proto'> & { proto?: ProtocolInput };

export type FlowInput = Omit<Flow, 'orig' | 'reply' | 'master'> & { orig: TupleInput; reply?: TupleInput; master?: TupleInput };

export type FlowFilterInput = Omit<FlowFilter, 'orig' | 'reply'> & { orig?: TupleInput; reply?: TupleInput };

const NUMBERS: ReadonlyMap<string, number> = new Map(Object.entries(Protocol).map(([name, number]) => [name.toLowerCase(), number]));

/** The number of a protocol given by number or name; RangeError for a name `Protocol` lacks. */
export function protocolNumber(proto: ProtocolInput): number {
  if (typeof proto === 'number') return proto;
  const number = NUMBERS.get(proto);
  if (number === undefined) throw new RangeError(`unknown protocol name '${String(proto)}' (known: ${[...NUMBERS.keys()].join(', ')})`);
  return number;
}

function toTuple(t: TupleInput): Tuple {
  // The common case, a number, is passed on as it is: no copy per request.
  return typeof t.proto === 'string' ? { ...t, proto: protocolNumber(t.proto) } : (t as Tuple);
}

/** `flow` with its protocols as numbers; a missing reply stays empty (requests derive it where needed). */
export function toFlow(flow: FlowInput): Flow {
  const out = { ...flow, orig: toTuple(flow.orig), reply: flow.reply ? toTuple(flow.reply) : {} } as Flow;
  if (flow.master) out.master = toTuple(flow.master);
  return out;
}

/** `filter` with its protocols as numbers. */
export function toFilter(filter: FlowFilterInput): FlowFilter {
  if (typeof filter.orig?.proto !== 'string' && typeof filter.reply?.proto !== 'string') return filter as FlowFilter;
  const out = { ...filter } as FlowFilter;
  if (filter.orig) out.orig = toTuple(filter.orig);
  if (filter.reply) out.reply = toTuple(filter.reply);
  return out;
}

/**
 * The attributes an update sets (updateEach): timeout, mark, status, labels,
 * protocol state...; the entry is found by its own original tuple and zone.
 */
export type FlowChange = Partial<Omit<FlowInput, 'family' | 'orig' | 'reply' | 'master' | 'zone' | 'id'>>;
