import type { Flow } from '../ctnetlink/flow';
import { Status } from '../ctnetlink/status';
import { CtAttr } from '../ctnetlink/constants';
import { attrMask, Slot, TupleField, type WireEntry } from '../ctnetlink/wire-entry';
import { tcpStateName } from '../format/names';
import { flowKeyText } from '../format/flow-key-text';
import { FLOW_KEYS, UNTRACKED_STATE, type FlowKeyName } from '../api/flow-keys';

/** What `--group-by` (and the live view's group mode) can gather entries by. */
export const GROUP_KEYS = ['src', 'dst', 'dport', 'src/24', 'proto', 'state', 'zone', 'mark'] as const satisfies readonly FlowKeyName[];
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

const be32 = (b: Buffer, o: number): number => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;

const number = (key: Uint32Array, value: number): void => {
  key[0] = Kind.NUMBER;
  key[1] = value;
  key[2] = key[3] = key[4] = 0;
};

/**
 * The address, or its network (/24, /64) when `network`, as words rather
 * than FLOW_KEYS' latin1 string: a string per entry is what made grouping a
 * million entries slow.
 */
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

/** A binary key back in FLOW_KEYS' form, to be shown by the library's flowKeyText. */
function text(name: GroupKey, key: ArrayLike<number>): string {
  if (key[0] === Kind.NONE) return flowKeyText(name, '');
  if (key[0] === Kind.NUMBER) return flowKeyText(name, key[1]!);
  const b = Buffer.alloc(16);
  for (let i = 0; i < 4; i++) b.writeUInt32BE(key[i + 1]!, 4 * i);
  return flowKeyText(name, b.toString('latin1'));
}

const TUPLE = attrMask(CtAttr.TUPLE_ORIG);

const address = (name: GroupKey, slot: Slot, network: boolean): KeyReader => ({
  attrs: TUPLE,
  read: (e, key) => readAddress(e, slot, network, key),
  text: (key) => text(name, key),
});

/** A key that is one number: FLOW_KEYS' own (a dumped TCP entry always carries its state). */
const numeric = (name: GroupKey, attrs: number): KeyReader => ({
  attrs,
  read: (e, key) => number(key, (FLOW_KEYS[name](e) as number | undefined) ?? UNTRACKED_STATE.UNREPLIED),
  text: (key) => text(name, key),
});

export const KEY_READERS: Readonly<Record<GroupKey, KeyReader>> = {
  src: address('src', ORIG_SRC, false),
  dst: address('dst', ORIG_DST, false),
  'src/24': address('src/24', ORIG_SRC, true),
  dport: numeric('dport', TUPLE),
  proto: numeric('proto', TUPLE),
  state: numeric('state', attrMask(CtAttr.PROTOINFO, CtAttr.STATUS)),
  zone: numeric('zone', attrMask(CtAttr.ZONE)),
  mark: numeric('mark', attrMask(CtAttr.MARK)),
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
