import type { Flow } from '../ctnetlink/flow';
import { Status } from '../ctnetlink/status';
import type { WireEntry } from '../ctnetlink/wire-entry';
import { FLOW_KEYS, UNTRACKED_STATE, type FlowKeyName } from '../api/flow-keys';
import { flowKeyText } from '../format/flow-key-text';
import { tcpStateName } from '../format/names';

/** What `--group-by` (and the live view's group mode) can gather entries by. */
export const GROUP_KEYS = ['src', 'dst', 'dport', 'src/24', 'proto', 'state', 'zone', 'mark'] as const satisfies readonly FlowKeyName[];
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

/** A dumped TCP entry always carries its state; the fallback only keeps the type a Map key. */
export const KEY_READERS = Object.fromEntries(
  GROUP_KEYS.map((key): [GroupKey, KeyReader] => [
    key,
    { raw: (e) => FLOW_KEYS[key](e) ?? UNTRACKED_STATE.UNREPLIED, text: (raw) => flowKeyText(key, raw) },
  ]),
) as Readonly<Record<GroupKey, KeyReader>>;

/** The state column of a flow: its TCP state, else whether a reply was seen. */
export function stateOf(flow: Flow): string {
  if (flow.tcp?.state !== undefined) return tcpStateName(flow.tcp.state);
  return (flow.status ?? 0) & Status.SEEN_REPLY ? 'REPLIED' : 'UNREPLIED';
}
