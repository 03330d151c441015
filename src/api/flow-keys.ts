/**
 * Keys that gather conntrack entries into groups (by source, by port, by
 * state …), read straight from an entry where it lies in the receive buffer:
 * what conntrack-top groups a dump by and what TableSummary counts a live
 * table by. A key is a number or a short string (16 address bytes as a
 * latin1 string for IPv6), cheap to use as a Map key; turning it into text
 * is the presenter's business, once per group rather than once per entry.
 */
import { Status } from '../ctnetlink/status';
import { Slot, TupleField, type WireEntry } from '../ctnetlink/wire-entry';

/**
 * Reads one key of an entry. `undefined`: this message does not carry what
 * the key needs (an UPDATE event without the TCP state), so a live count
 * keeps the entry where it was. Dumped entries always carry it.
 */
export type FlowKey = (entry: WireEntry) => number | string | undefined;

/** The keys of FLOW_KEYS. */
export type FlowKeyName = 'src' | 'dst' | 'src/24' | 'dport' | 'proto' | 'state' | 'zone' | 'mark';

/**
 * Values of the `state` key above any TCP state number: entries of protocols
 * without a tracked state, by whether a reply was seen.
 */
export const UNTRACKED_STATE = Object.freeze({ UNREPLIED: 1000, REPLIED: 1001 } as const);

/** `dport` keys from this value on are of protocols without ports. */
export const NO_PORT = 65536 * 256;

const ORIG_SRC = Slot.ORIG + TupleField.SRC;
const ORIG_DST = Slot.ORIG + TupleField.DST;
const ORIG_PROTO = Slot.ORIG + TupleField.PROTO;
const ORIG_DPORT = Slot.ORIG + TupleField.DPORT;
const IPPROTO_TCP = 6;

/**
 * The address as a number (IPv4) or its 16 bytes (IPv6), or its network
 * (/24, /64) when `network`; '' when the entry has none.
 */
function address(slot: Slot, network: boolean): FlowKey {
  return (e) => {
    if (e.at[slot]! < 0) return '';
    if (e.len[slot] === 4) return network ? (e.u32(slot) & 0xffffff00) >>> 0 : e.u32(slot);
    return e.buf.toString('latin1', e.at[slot]!, e.at[slot]! + (network ? 8 : 16));
  };
}

const u = (e: WireEntry, slot: Slot, read: 'u8' | 'u16' | 'u32'): number => (e.at[slot]! < 0 ? 0 : e[read](slot));

/**
 * The standard keys, on indexed entries (`entry.index()`):
 * - `src`, `dst`: the original direction's addresses; `src/24`: the source's
 *   /24 (IPv4) or /64 (IPv6) network;
 * - `dport`: protocol × 65536 + destination port, NO_PORT and up for
 *   protocols without ports;
 * - `proto`: the layer-4 protocol number;
 * - `state`: the TCP state number (`TcpState`) for TCP, else an
 *   UNTRACKED_STATE value;
 * - `zone`, `mark`: 0 when unset.
 */
export const FLOW_KEYS: Readonly<Record<FlowKeyName, FlowKey>> = {
  src: address(ORIG_SRC, false),
  dst: address(ORIG_DST, false),
  'src/24': address(ORIG_SRC, true),
  dport: (e) => u(e, ORIG_PROTO, 'u8') * 65536 + (e.at[ORIG_DPORT]! < 0 ? NO_PORT : e.u16(ORIG_DPORT)),
  proto: (e) => u(e, ORIG_PROTO, 'u8'),
  state: (e) => {
    if (e.at[Slot.TCP_STATE]! >= 0) return e.u8(Slot.TCP_STATE);
    if (u(e, ORIG_PROTO, 'u8') === IPPROTO_TCP) return undefined;
    return u(e, Slot.STATUS, 'u32') & Status.SEEN_REPLY ? UNTRACKED_STATE.REPLIED : UNTRACKED_STATE.UNREPLIED;
  },
  zone: (e) => u(e, Slot.ZONE, 'u16'),
  mark: (e) => u(e, Slot.MARK, 'u32'),
};
