/**
 * The text of a FLOW_KEYS key, as conntrack-top shows a group and
 * conntrack-exporter labels one: addresses as `conntrack -L` prints them,
 * ports as `443/tcp`, states by 1.4.7's names.
 */
import { formatIPv4, formatIPv6 } from '../ctnetlink/address';
import { NO_PORT, UNTRACKED_STATE, type FlowKeyName } from '../api/flow-keys';
import { l4Name, tcpStateName } from './names';

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

function portText(n: number): string {
  return n >= NO_PORT ? '-' : `${n % 65536}/${l4Name(Math.floor(n / 65536))}`;
}

function stateText(raw: number): string {
  return raw === UNTRACKED_STATE.REPLIED ? 'REPLIED' : raw === UNTRACKED_STATE.UNREPLIED ? 'UNREPLIED' : tcpStateName(raw);
}

/** What a raw key of FLOW_KEYS[key] reads as. */
export function flowKeyText(key: FlowKeyName, raw: number | string): string {
  switch (key) {
    case 'src':
    case 'dst':
      return addressText(raw, false);
    case 'src/24':
      return addressText(raw, true);
    case 'dport':
      return portText(raw as number);
    case 'proto':
      return l4Name(raw as number);
    case 'state':
      return stateText(raw as number);
    case 'zone':
    case 'mark':
      return String(raw);
  }
}
