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
export { Conntrack, type AbortOptions, type ConntrackOptions, type CpuStats, type DumpOptions } from './api/conntrack';
export type { Table } from './ctnetlink/requests';
export type { ExpectationLookup, NewExpectation } from './api/expectations';
export { EventStream, isLost, type EventsLost, type EventStreamOptions } from './api/event-stream';
export { defaultEventBufferSize, type EventOptions, type RawConntrackEvent, type RawEventOptions } from './api/events';
export { EventMask, type ConntrackEvent, type EventType } from './ctnetlink/event';
export { compileListFilter, type ListedNetwork, type ListFilter, type ListTest } from './ctnetlink/filter-bpf';
export type { Expectation, ExpectationEvent, ExpectationEventType, ExpectationNat } from './ctnetlink/expect';
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
export { STATUS_NAMES } from './ctnetlink/status';
export { DccpState, Family, Protocol, SctpState, Status, TcpState, type ProtocolName } from './api/constants';
export type { FlowChange, FlowFilterInput, FlowInput, ProtocolInput, TupleInput } from './api/input';
export type { BulkResult } from './api/bulk-change';
export { flowToJson, type JsonOptions } from './format/json';
export { DumpInterruptedError, NetlinkError, ProtocolError } from './api/errors';
export { invertTuple, translatedReply } from './ctnetlink/tuple';
export { sendUnixDatagram } from './api/unix-datagram';
export { prefault } from './api/prefault';
export { forceSocketBuffers, receiveDrops, type SocketBufferResult, type SocketBufferSizes } from './api/socket-buffers';
export { FLOW_KEYS, NO_PORT, UNTRACKED_STATE, type FlowKey, type FlowKeyName } from './api/flow-keys';
export { TableSummary, type Reconciliation, type TableSummaryEvents, type TableSummaryOptions } from './api/table-summary';
export { TableTally, type GroupCount, type PassResult } from './api/table-tally';
