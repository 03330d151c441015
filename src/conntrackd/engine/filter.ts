/**
 * `General { Filter { … } }`: which flows the daemon looks at. A flow passes
 * when it passes every configured part:
 *
 * - Protocol: its layer-4 protocol is listed (Accept) / is not (Ignore);
 * - Address: its original source or its reply source — the two real
 *   endpoints, so NAT-ed flows are matched as seen from outside — is a listed
 *   host or lies in a listed network of its family (Accept) / neither does
 *   (Ignore); a family without listed addresses lists nothing;
 * - State: a TCP flow that carries a state has a listed one (Accept) / has
 *   not (Ignore); other flows pass.
 *
 * A flow without an original source address (no layer-3 information) never
 * passes. The same predicate serves events, dumps, resyncs and `-F` (which
 * deletes what passes and keeps what the filter ignores). `From Kernelspace`
 * also compiles the lists to a socket filter for the event socket
 * (kernelFilterOf); the predicate still checks every event that gets through.
 */
import type { AddressRule, FilterConfig, FilterPolicy } from '../config/config';
import { encodeAddress } from '../../ctnetlink/address';
import { compileListFilter, type ListedNetwork } from '../../ctnetlink/filter-bpf';
import { CtAttr, Proto } from '../../ctnetlink/constants';
import { Slot, TupleField, attrMask, type WireEntry } from '../../ctnetlink/wire-entry';

export type FlowPredicate = (entry: WireEntry) => boolean;

const ORIG_SRC = Slot.ORIG + TupleField.SRC;
const REPLY_SRC = Slot.REPLY + TupleField.SRC;
const ORIG_PROTO = Slot.ORIG + TupleField.PROTO;

/** A listed network as bytes: `(address & mask) == network`. */
interface Network {
  network: Buffer;
  mask: Buffer;
}

/**
 * Compiles the filter; no filter passes every flow that has layer-3
 * information. `alsoLocated` (an attrMask): what the caller reads of the
 * entries that pass, located in the filter's one walk over the attributes.
 */
export function compileFlowFilter(filter: FilterConfig | undefined, alsoLocated = 0): FlowPredicate {
  const tests: FlowPredicate[] = [];
  // Only the attributes the tests read are located: every event and every
  // dumped entry passes here, and the others' nested walks are most of an index.
  let wanted = attrMask(CtAttr.TUPLE_ORIG) | alsoLocated;
  if (filter?.protocol) tests.push(listTest(filter.protocol.policy, protocolListed(filter.protocol.protocols)));
  if (filter?.address) {
    tests.push(listTest(filter.address.policy, addressListed(filter.address.addresses)));
    wanted |= attrMask(CtAttr.TUPLE_REPLY);
  }
  if (filter?.state) {
    tests.push(stateTest(filter.state.policy, new Set(filter.state.states)));
    wanted |= attrMask(CtAttr.PROTOINFO);
  }
  return (entry) => {
    entry.index(wanted);
    if (!entry.has(ORIG_SRC)) return false;
    for (let i = 0; i < tests.length; i++) if (!tests[i]!(entry)) return false;
    return true;
  };
}

/** The event socket's filter for `Filter From Kernelspace`; undefined otherwise. */
export function kernelFilterOf(filter: FilterConfig | undefined): Buffer | undefined {
  if (!filter?.kernelspace) return undefined;
  const accept = (policy: FilterPolicy): boolean => policy === 'accept';
  return compileListFilter({
    protocols: filter.protocol && { accept: accept(filter.protocol.policy), values: filter.protocol.protocols },
    addresses: filter.address && { accept: accept(filter.address.policy), values: filter.address.addresses.map(network) },
    tcpStates: filter.state && { accept: accept(filter.state.policy), values: filter.state.states },
  });
}

function network(rule: AddressRule): ListedNetwork {
  return { address: encodeAddress(rule.address, rule.family === 4 ? 2 : 10).bytes, prefix: rule.prefix };
}

function listTest(policy: FilterPolicy, listed: FlowPredicate): FlowPredicate {
  return policy === 'accept' ? listed : (entry) => !listed(entry);
}

function protocolListed(protocols: number[]): FlowPredicate {
  const set = new Set(protocols);
  return (entry) => entry.has(ORIG_PROTO) && set.has(entry.u8(ORIG_PROTO));
}

function stateTest(policy: FilterPolicy, states: Set<number>): FlowPredicate {
  return (entry) => {
    if (!entry.has(ORIG_PROTO) || entry.u8(ORIG_PROTO) !== Proto.TCP || !entry.has(Slot.TCP_STATE)) return true;
    return states.has(entry.u8(Slot.TCP_STATE)) === (policy === 'accept');
  };
}

function addressListed(rules: AddressRule[]): FlowPredicate {
  const byLength = new Map<number, Network[]>([
    [4, []],
    [16, []],
  ]);
  for (const rule of rules) {
    const { address, prefix } = network(rule);
    const mask = prefixMask(address.length, prefix);
    byLength.get(address.length)!.push({ network: masked(address, 0, mask), mask });
  }
  const listed = (entry: WireEntry, slot: number): boolean => {
    if (!entry.has(slot)) return false;
    const at = entry.at[slot]!;
    const networks = byLength.get(entry.len[slot]!);
    if (networks === undefined) return false;
    for (const { network, mask } of networks) {
      let i = 0;
      while (i < mask.length && (entry.buf[at + i]! & mask[i]!) === network[i]) i++;
      if (i === mask.length) return true;
    }
    return false;
  };
  return (entry) => listed(entry, ORIG_SRC) || listed(entry, REPLY_SRC);
}

function prefixMask(length: number, prefix: number): Buffer {
  const mask = Buffer.alloc(length);
  for (let bit = 0; bit < prefix && bit < length * 8; bit++) mask[bit >> 3]! |= 0x80 >> (bit & 7);
  return mask;
}

function masked(buf: Buffer, at: number, mask: Buffer): Buffer {
  const out = Buffer.alloc(mask.length);
  for (let i = 0; i < mask.length; i++) out[i] = buf[at + i]! & mask[i]!;
  return out;
}
