import { formatIPv4, formatIPv6 } from '../ctnetlink/address';
import type { Flow } from '../ctnetlink/flow';
import { Status } from '../ctnetlink/status';
import { Slot, TupleField, type WireEntry } from '../ctnetlink/wire-entry';
import { l4Name, tcpStateName } from '../format/names';

/** What `--group-by` (and the live view's group mode) can gather entries by. */
export const GROUP_KEYS = ['src', 'dst', 'dport', 'src/24', 'proto', 'state', 'zone', 'mark'] as const;
export type GroupKey = (typeof GROUP_KEYS)[number];

export function isGroupKey(word: string): word is GroupKey {
  return (GROUP_KEYS as readonly string[]).includes(word);
}

/**
 * How one key reads an entry: `raw` is a cheap Map key taken from the entry
 * where it lies in the receive buffer (a number for IPv4 addresses, ports,
 * states; 16 bytes as a latin1 string for IPv6), and `text` turns a raw key
 * into what is shown, once per group at the end instead of once per entry.
 * On a million-entry dump that difference is most of the run time.
 */
export interface KeyReader {
  raw(e: WireEntry): number | string;
  text(raw: number | string): string;
}

const ORIG_SRC = Slot.ORIG + TupleField.SRC;
const ORIG_DST = Slot.ORIG + TupleField.DST;
const ORIG_PROTO = Slot.ORIG + TupleField.PROTO;
const ORIG_DPORT = Slot.ORIG + TupleField.DPORT;
/** Raw state keys above any TCP state number: entries of protocols without one. */
const UNREPLIED = 1000;
const REPLIED = 1001;

/** The address, or its network (/24, /64) when `network`. */
function addressRaw(e: WireEntry, slot: Slot, network: boolean): number | string {
  if (e.at[slot]! < 0) return '';
  if (e.len[slot] === 4) return network ? (e.u32(slot) & 0xffffff00) >>> 0 : e.u32(slot);
  return e.buf.toString('latin1', e.at[slot]!, e.at[slot]! + (network ? 8 : 16));
}

function addressText(raw: number | string, network: boolean): string {
  if (raw === '') return '?';
  if (typeof raw === 'number') {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(raw);
    return network ? `${formatIPv4(b, 0)}/24` : formatIPv4(b, 0);
  }
  const b = Buffer.alloc(16);
  b.write(raw, 'latin1');
  return network ? `${formatIPv6(b, 0)}/64` : formatIPv6(b, 0);
}

const address = (slot: Slot, network: boolean): KeyReader => ({
  raw: (e) => addressRaw(e, slot, network),
  text: (raw) => addressText(raw, network),
});

const u = (e: WireEntry, slot: Slot, read: 'u8' | 'u16' | 'u32'): number => (e.at[slot]! < 0 ? 0 : e[read](slot));

export const KEY_READERS: Readonly<Record<GroupKey, KeyReader>> = {
  src: address(ORIG_SRC, false),
  dst: address(ORIG_DST, false),
  'src/24': address(ORIG_SRC, true),
  dport: {
    raw: (e) => u(e, ORIG_PROTO, 'u8') * 65536 + (e.at[ORIG_DPORT]! < 0 ? 65536 * 256 : e.u16(ORIG_DPORT)),
    text: (raw) => {
      const n = raw as number;
      const port = n % 65536;
      return n >= 65536 * 256 ? '-' : `${port}/${l4Name(Math.floor(n / 65536))}`;
    },
  },
  proto: { raw: (e) => u(e, ORIG_PROTO, 'u8'), text: (raw) => l4Name(raw as number) },
  state: {
    raw: (e) => (e.at[Slot.TCP_STATE]! >= 0 ? e.u8(Slot.TCP_STATE) : u(e, Slot.STATUS, 'u32') & Status.SEEN_REPLY ? REPLIED : UNREPLIED),
    text: (raw) => (raw === REPLIED ? 'REPLIED' : raw === UNREPLIED ? 'UNREPLIED' : tcpStateName(raw as number)),
  },
  zone: { raw: (e) => u(e, Slot.ZONE, 'u16'), text: String },
  mark: { raw: (e) => u(e, Slot.MARK, 'u32'), text: String },
};

/** The state column of a flow: its TCP state, else whether a reply was seen. */
export function stateOf(flow: Flow): string {
  if (flow.tcp?.state !== undefined) return tcpStateName(flow.tcp.state);
  return (flow.status ?? 0) & Status.SEEN_REPLY ? 'REPLIED' : 'UNREPLIED';
}
