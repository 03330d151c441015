import { formatIPv4, formatIPv6 } from '../ctnetlink/address';
import type { Flow } from '../ctnetlink/flow';
import { Status } from '../ctnetlink/status';
import { CtAttr } from '../ctnetlink/constants';
import { attrMask, Slot, TupleField, type WireEntry } from '../ctnetlink/wire-entry';
import { l4Name, tcpStateName } from '../format/names';

/** What `--group-by` (and the live view's group mode) can gather entries by. */
export const GROUP_KEYS = ['src', 'dst', 'dport', 'src/24', 'proto', 'state', 'zone', 'mark'] as const;
export type GroupKey = (typeof GROUP_KEYS)[number];

export function isGroupKey(word: string): word is GroupKey {
  return (GROUP_KEYS as readonly string[]).includes(word);
}

/**
 * A group's key in binary: KEY_WORDS unsigned words, word 0 saying what the
 * others hold (Kind), so any key fits one row of a Uint32Array and compares
 * word by word. IPv6 addresses are four big-endian words, so that order is
 * address order.
 */
export const KEY_WORDS = 5;

export const enum Kind {
  /** Word 1 holds a number (an IPv4 address, a port, a state...). */
  NUMBER = 0,
  /** Words 1-4 hold an IPv6 address (a /64 network: words 3-4 are 0). */
  IPV6 = 1,
  /** The entry has no such field. */
  NONE = 2,
}

/**
 * How one key reads an entry: `read` writes the key (KEY_WORDS words) taken
 * where it lies in the receive buffer, having located only the attributes in
 * `attrs` (WireEntry.index), and `text` turns a key into what is shown, once
 * per group shown instead of once per entry. On a million-entry dump that
 * difference is most of the run time.
 */
export interface KeyReader {
  readonly attrs: number;
  read(e: WireEntry, key: Uint32Array): void;
  text(key: ArrayLike<number>): string;
}

const ORIG_SRC = Slot.ORIG + TupleField.SRC;
const ORIG_DST = Slot.ORIG + TupleField.DST;
const ORIG_PROTO = Slot.ORIG + TupleField.PROTO;
const ORIG_DPORT = Slot.ORIG + TupleField.DPORT;
/** Numbers of the state key above any TCP state number: entries of protocols without one. */
const UNREPLIED = 1000;
const REPLIED = 1001;

const be32 = (b: Buffer, o: number): number => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;

const number = (key: Uint32Array, value: number): void => {
  key[0] = Kind.NUMBER;
  key[1] = value;
  key[2] = key[3] = key[4] = 0;
};

/** The address, or its network (/24, /64) when `network`. */
function readAddress(e: WireEntry, slot: Slot, network: boolean, key: Uint32Array): void {
  const o = e.at[slot]!;
  if (o < 0) {
    key.fill(0);
    key[0] = Kind.NONE;
  } else if (e.len[slot] === 4) number(key, network ? (be32(e.buf, o) & 0xffffff00) >>> 0 : be32(e.buf, o));
  else {
    key[0] = Kind.IPV6;
    key[1] = be32(e.buf, o);
    key[2] = be32(e.buf, o + 4);
    key[3] = network ? 0 : be32(e.buf, o + 8);
    key[4] = network ? 0 : be32(e.buf, o + 12);
  }
}

function addressText(key: ArrayLike<number>, network: boolean): string {
  if (key[0] === Kind.NONE) return '?';
  if (key[0] === Kind.NUMBER) {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(key[1]!);
    return network ? `${formatIPv4(b, 0)}/24` : formatIPv4(b, 0);
  }
  const b = Buffer.alloc(16);
  for (let i = 0; i < 4; i++) b.writeUInt32BE(key[i + 1]!, 4 * i);
  return network ? `${formatIPv6(b, 0)}/64` : formatIPv6(b, 0);
}

const TUPLE = attrMask(CtAttr.TUPLE_ORIG);

const address = (slot: Slot, network: boolean): KeyReader => ({
  attrs: TUPLE,
  read: (e, key) => readAddress(e, slot, network, key),
  text: (key) => addressText(key, network),
});

const u = (e: WireEntry, slot: Slot, read: 'u8' | 'u16' | 'u32'): number => (e.at[slot]! < 0 ? 0 : e[read](slot));

/** A key that is one number, shown by `text`. */
const numeric = (attrs: number, value: (e: WireEntry) => number, text: (n: number) => string): KeyReader => ({
  attrs,
  read: (e, key) => number(key, value(e)),
  text: (key) => text(key[1]!),
});

export const KEY_READERS: Readonly<Record<GroupKey, KeyReader>> = {
  src: address(ORIG_SRC, false),
  dst: address(ORIG_DST, false),
  'src/24': address(ORIG_SRC, true),
  dport: numeric(
    TUPLE,
    (e) => u(e, ORIG_PROTO, 'u8') * 65536 + (e.at[ORIG_DPORT]! < 0 ? 65536 * 256 : e.u16(ORIG_DPORT)),
    (n) => (n >= 65536 * 256 ? '-' : `${n % 65536}/${l4Name(Math.floor(n / 65536))}`),
  ),
  proto: numeric(TUPLE, (e) => u(e, ORIG_PROTO, 'u8'), l4Name),
  state: numeric(
    attrMask(CtAttr.PROTOINFO, CtAttr.STATUS),
    (e) => (e.at[Slot.TCP_STATE]! >= 0 ? e.u8(Slot.TCP_STATE) : u(e, Slot.STATUS, 'u32') & Status.SEEN_REPLY ? REPLIED : UNREPLIED),
    (n) => (n === REPLIED ? 'REPLIED' : n === UNREPLIED ? 'UNREPLIED' : tcpStateName(n)),
  ),
  zone: numeric(attrMask(CtAttr.ZONE), (e) => u(e, Slot.ZONE, 'u16'), String),
  mark: numeric(attrMask(CtAttr.MARK), (e) => u(e, Slot.MARK, 'u32'), String),
};

/** Whether two keys are the same (the rows of a group and an entry read again). */
export function sameKey(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  for (let i = 0; i < KEY_WORDS; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The state column of a flow: its TCP state, else whether a reply was seen. */
export function stateOf(flow: Flow): string {
  if (flow.tcp?.state !== undefined) return tcpStateName(flow.tcp.state);
  return (flow.status ?? 0) & Status.SEEN_REPLY ? 'REPLIED' : 'UNREPLIED';
}
