import type { FlowFilter } from './filter';
import { Slot, TupleField, type WireEntry } from './wire-entry';

/**
 * A necessary condition of compileFilter(filter), tested on the undecoded
 * entry: entries it rejects the predicate would reject too, so a dump the
 * kernel could not narrow decodes only the entries that may match
 * (`conntrack -D -p udp` decodes one entry in ten instead of all).
 * Undefined when the filter has nothing it can test. The predicate still
 * runs on every entry that passes.
 *
 * Only the cheapest tests that mean exactly what filter-match.ts means:
 * the family (nfgen_family), and each direction's layer-4 protocol, which
 * the predicate compares strictly (an entry lacking it fails).
 */
export function compileWirePrefilter(filter: FlowFilter): ((entry: WireEntry) => boolean) | undefined {
  const family = filter.family;
  const origProto = filter.orig?.proto;
  const replyProto = filter.reply?.proto;
  if (family === undefined && origProto === undefined && replyProto === undefined) return undefined;
  return (e) =>
    (family === undefined || e.family === family) &&
    (origProto === undefined || protoIs(e.index(), Slot.ORIG + TupleField.PROTO, origProto)) &&
    (replyProto === undefined || protoIs(e.index(), Slot.REPLY + TupleField.PROTO, replyProto));
}

function protoIs(e: WireEntry, slot: Slot, proto: number): boolean {
  return e.has(slot) && e.u8(slot) === proto;
}
