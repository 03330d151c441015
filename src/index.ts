/**
 * conntrack-ts: the Linux connection tracking table over ctnetlink.
 *
 * ```ts
 * import { Conntrack } from 'conntrack-ts';
 * const ct = Conntrack.open();
 * for await (const flow of ct.dump({ orig: { proto: 6, dport: 443 } })) console.log(flow.orig.src);
 * ct.close();
 * ```
 *
 * Importing has no side effects: the native socket addon loads on first use.
 */
export { Conntrack, type ConntrackOptions, type CpuStats, type DumpOptions } from './api/conntrack';
export type { Table } from './ctnetlink/requests';
export type { FlowFilter, NatFilter, NatMatch } from './ctnetlink/filter';
export type {
  Counters,
  DccpInfo,
  Flow,
  NatRange,
  SctpInfo,
  SeqAdjust,
  Synproxy,
  TcpFlags,
  TcpInfo,
  Timestamps,
  Tuple,
} from './ctnetlink/flow';
export { Status, STATUS_NAMES } from './ctnetlink/status';
export { DumpInterruptedError, NetlinkError, ProtocolError } from './netlink/errors';
