import type { FlowFilter } from './filter';
import { Slot, TupleField, type WireEntry } from './wire-entry';

/**
 * A necessary condition of compileFilter(filter), tested on the undecoded
 * entry: entries it rejects the predicate would reject too, so a dump the
 * kernel could not narrow decodes only the entries that may match
 * (`conntrack -D -p udp` decodes one entry in ten instead of all).
 * Undefined when the filter has nothing it can test; `exact` when it tests
 * all of the filter, so the predicate need not run at all.
 *
 * Only the cheapest tests that mean exactly what filter-match.ts means:
 * the family (nfgen_family), and each direction's layer-4 protocol, which
 * the predicate compares strictly (an entry lacking it fails).
 */
export function compileWirePrefilter(filter: FlowFilter): WirePrefilter | undefined {
  const family = filter.family;
  const origProto = filter.orig?.proto;
  const replyProto = filter.reply?.proto;
  if (family === undefined && origProto === undefined && replyProto === undefined) return undefined;
  const test = (e: WireEntry): boolean =>
    (family === undefined || e.family === family) &&
    (origProto === undefined || protoIs(e.index(), Slot.ORIG + TupleField.PROTO, origProto)) &&
    (replyProto === undefined || protoIs(e.index(), Slot.REPLY + TupleField.PROTO, replyProto));
  return { test, exact: onlyKeys(filter, ['family', 'orig', 'reply']) && onlyKeys(filter.orig, ['proto']) && onlyKeys(filter.reply, ['proto']) };
}

export interface WirePrefilter {
  test(entry: WireEntry): boolean;
  exact: boolean;
}

/** Whether `o` has no defined field but those named. */
function onlyKeys(o: object | undefined, allowed: string[]): boolean {
  if (o === undefined) return true;
  for (const [key, value] of Object.entries(o)) if (value !== undefined && !allowed.includes(key)) return false;
  return true;
}

function protoIs(e: WireEntry, slot: Slot, proto: number): boolean {
  return e.has(slot) && e.u8(slot) === proto;
}
