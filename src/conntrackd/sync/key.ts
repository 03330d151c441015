/**
 * The identity of a replicated object, as both caches compare them: a
 * flow's original tuple and zone (never its conntrack id, which differs on
 * the peer and changes when an event is lost), an expectation's master and
 * expected tuples.
 */
import type { Flow, Tuple } from '../../ctnetlink/flow';
import type { DataMessage } from './message';

function tupleKey(t: Tuple): string {
  return [t.l3, t.src, t.dst, t.proto, t.sport, t.dport, t.icmpType, t.icmpCode, t.icmpId].join('|');
}

/** The cache key of a flow. */
export function flowKey(flow: Flow): string {
  return `${tupleKey(flow.orig)}|z${flow.zone ?? 0}`;
}

/** The cache key of what a data message is about. */
export function syncKey(msg: DataMessage): string {
  if ('flow' in msg) return flowKey(msg.flow);
  return `exp|${tupleKey(msg.expectation.master)}|${tupleKey(msg.expectation.tuple)}`;
}
