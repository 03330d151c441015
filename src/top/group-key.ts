import type { Flow } from '../ctnetlink/flow';
import { l4Name, tcpStateName } from '../format/names';

/** What `--group-by` (and the live view's group mode) can gather entries by. */
export const GROUP_KEYS = ['src', 'dst', 'dport', 'src/24', 'proto', 'state', 'zone', 'mark'] as const;
export type GroupKey = (typeof GROUP_KEYS)[number];

export function isGroupKey(word: string): word is GroupKey {
  return (GROUP_KEYS as readonly string[]).includes(word);
}

/** The network of an address: /24 for IPv4, /64 for IPv6 (the unit one site or one customer usually owns). */
function network(address: string): string {
  if (!address.includes(':')) return `${address.slice(0, address.lastIndexOf('.'))}.0/24`;
  const groups = expandV6(address).slice(0, 4).map((g) => g.replace(/^0+(?=.)/, ''));
  return `${groups.join(':')}::/64`;
}

/** The eight groups of an IPv6 text address, `::` expanded. */
function expandV6(address: string): string[] {
  const [head, tail] = address.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  if (tail === undefined) return left;
  const right = tail === '' ? [] : tail.split(':');
  return [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
}

/** The state column: the TCP state for TCP, else what conntrack -L shows for the entry's lifetime stage. */
export function stateOf(flow: Flow): string {
  if (flow.tcp?.state !== undefined) return tcpStateName(flow.tcp.state);
  return (flow.status ?? 0) & 2 /* IPS_SEEN_REPLY */ ? 'REPLIED' : 'UNREPLIED';
}

/** The group an entry belongs to under `key`, as the text the table shows. */
export function groupOf(flow: Flow, key: GroupKey): string {
  const o = flow.orig;
  switch (key) {
    case 'src':
      return o.src ?? '?';
    case 'dst':
      return o.dst ?? '?';
    case 'dport':
      return o.dport === undefined ? '-' : `${o.dport}/${l4Name(o.proto ?? 0)}`;
    case 'src/24':
      return o.src === undefined ? '?' : network(o.src);
    case 'proto':
      return l4Name(o.proto ?? 0);
    case 'state':
      return stateOf(flow);
    case 'zone':
      return String(flow.zone ?? 0);
    case 'mark':
      return String(flow.mark ?? 0);
  }
}
