/**
 * Names printed for protocol numbers, tracker states and status bits, exactly
 * as conntrack-tools 1.4.7 and libnetfilter_conntrack 1.0.9 spell them.
 *
 * Three state tables exist in C and they disagree at the edges, which is
 * visible in the output:
 *  - the library's tables (default text format): TCP 0..9, SCTP 0..9 including
 *    the HEARTBEAT states, DCCP 0..9; a value past the end prints `NONE`;
 *  - the library's XML printer indexes the TCP table for all three protocols
 *    (SCTP ESTABLISHED = 4 prints `FIN_WAIT`);
 *  - the tool's own tables (`-o save`): its SCTP table stops at
 *    SHUTDOWN_ACK_SENT, and printf renders the missing entries as `(null)`.
 */

import { DccpState, Family, Proto, SctpState, TcpState } from '../ctnetlink/constants';
import { Status } from '../ctnetlink/status';

/** Layer-3 name of an nfgen_family value: `ipv4`, `ipv6`, else `unknown`. */
export function l3Name(family: number): string {
  switch (family) {
    case Family.INET:
      return 'ipv4';
    case Family.INET6:
      return 'ipv6';
    default:
      return 'unknown';
  }
}

/**
 * The all-zero address that C prints when a tuple of an IPv4/IPv6 entry lacks
 * an address (its struct is zeroed); `undefined` for the other families, whose
 * addresses libnetfilter_conntrack does not print at all.
 */
export function unspecifiedAddress(family: number): string | undefined {
  switch (family) {
    case Family.INET:
      return '0.0.0.0';
    case Family.INET6:
      return '::';
    default:
      return undefined;
  }
}

/** Layer-4 name of a protocol number; protocols without a tracker print `unknown`. */
export function l4Name(proto: number): string {
  switch (proto) {
    case Proto.TCP:
      return 'tcp';
    case Proto.UDP:
      return 'udp';
    case Proto.UDPLITE:
      return 'udplite';
    case Proto.ICMP:
      return 'icmp';
    case Proto.ICMPV6:
      return 'icmpv6';
    case Proto.SCTP:
      return 'sctp';
    case Proto.GRE:
      return 'gre';
    case Proto.DCCP:
      return 'dccp';
    default:
      return 'unknown';
  }
}

/**
 * How a tuple's layer-4 fields are shown, shared by every format: ports for
 * the port-based trackers, the GRE keys (carried in the port attributes), the
 * ICMP type/code/id, or nothing for protocols without a tracker.
 */
export const enum L4Layout {
  NONE,
  PORTS,
  GRE_KEYS,
  ICMP,
}

export function l4Layout(proto: number | undefined): L4Layout {
  switch (proto) {
    case Proto.TCP:
    case Proto.UDP:
    case Proto.UDPLITE:
    case Proto.SCTP:
    case Proto.DCCP:
      return L4Layout.PORTS;
    case Proto.GRE:
      return L4Layout.GRE_KEYS;
    case Proto.ICMP:
    case Proto.ICMPV6:
      return L4Layout.ICMP;
    default:
      return L4Layout.NONE;
  }
}

/**
 * Concatenates `open + name + close` for every set label bit that has a
 * non-empty name, in bit order (libnetfilter_conntrack's __snprintf_connlabels).
 * Bit n of CTA_LABELS is bit n % 8 of byte n / 8.
 */
export function namedLabels(
  labels: Buffer,
  labelName: (bit: number) => string | undefined,
  open: string,
  close: string,
): string {
  let out = '';
  for (let i = 0; i < labels.length; i++) {
    const byte = labels[i]!;
    if (byte === 0) continue;
    for (let b = 0; b < 8; b++) {
      if (!(byte & (1 << b))) continue;
      const name = labelName(i * 8 + b);
      if (name) out += open + name + close;
    }
  }
  return out;
}

/** TCP states by number (enum tcp_conntrack); 9 is SYN_SENT2, formerly LISTEN. */
export const TCP_STATES: readonly string[] = [
  'NONE', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK',
  'TIME_WAIT', 'CLOSE', 'SYN_SENT2',
];

/** SCTP states by number (enum sctp_conntrack). */
export const SCTP_STATES: readonly string[] = [
  'NONE', 'CLOSED', 'COOKIE_WAIT', 'COOKIE_ECHOED', 'ESTABLISHED', 'SHUTDOWN_SENT',
  'SHUTDOWN_RECD', 'SHUTDOWN_ACK_SENT', 'HEARTBEAT_SENT', 'HEARTBEAT_ACKED',
];

/** DCCP states by number (enum ct_dccp_states). */
export const DCCP_STATES: readonly string[] = [
  'NONE', 'REQUEST', 'RESPOND', 'PARTOPEN', 'OPEN', 'CLOSEREQ', 'CLOSING', 'TIMEWAIT',
  'IGNORE', 'INVALID',
];

/** The `--role` words of `-o save` (DCCP_CONNTRACK_ROLE_CLIENT / _SERVER). */
export const DCCP_ROLES: readonly string[] = ['client', 'server'];

/** Default-format TCP state: values the table does not know (≥ 10) print `NONE`. */
export function tcpStateName(state: number): string {
  return state < TcpState.MAX ? TCP_STATES[state]! : 'NONE';
}

/** Default-format SCTP state, HEARTBEAT_SENT/ACKED included; ≥ 10 prints `NONE`. */
export function sctpStateName(state: number): string {
  return state < SctpState.MAX ? SCTP_STATES[state]! : 'NONE';
}

/** Default-format DCCP state; ≥ 10 prints `NONE`. */
export function dccpStateName(state: number): string {
  return state < DccpState.MAX ? DCCP_STATES[state]! : 'NONE';
}

/**
 * `<state>` of the XML format for any of TCP, SCTP and DCCP: libnetfilter_conntrack
 * looks every protocol up in the TCP table (all three MAX values are 10, so the
 * bound is the same).
 */
export const xmlStateName = tcpStateName;

/** conntrack-tools' own SCTP table for `-o save`: it ends at SHUTDOWN_ACK_SENT. */
export const SAVE_SCTP_STATES: readonly string[] = SCTP_STATES.slice(0, SctpState.HEARTBEAT_SENT);

/**
 * A `-o save` state or role word: conntrack-tools indexes its own table without
 * a bound check and glibc prints a NULL string as `(null)` — what SCTP
 * HEARTBEAT_SENT gets. Values past every table (which no kernel sends) make C
 * read out of bounds; `(null)` is our stable stand-in for those.
 */
export function saveName(table: readonly string[], value: number): string {
  return table[value] ?? '(null)';
}

/** The status bits `-u` can set, in bit order: the only ones `-o save` names. */
const SAVE_STATUS_BITS: readonly (readonly [number, string])[] = [
  [Status.EXPECTED, 'EXPECTED'],
  [Status.SEEN_REPLY, 'SEEN_REPLY'],
  [Status.ASSURED, 'ASSURED'],
  [Status.FIXED_TIMEOUT, 'FIXED_TIMEOUT'],
];

/** The `-u` list of `-o save`: comma-separated names, or `UNSET` when none is set. */
export function saveStatusList(status: number): string {
  let list = '';
  for (const [bit, name] of SAVE_STATUS_BITS) {
    if (status & bit) list += list === '' ? name : ',' + name;
  }
  return list === '' ? 'UNSET' : list;
}
