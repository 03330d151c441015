/**
 * conntrackd's statistics as plain data: the engine keeps these objects,
 * bumps their members as things happen, and hands a `StatsSnapshot` to the
 * formatters (text.ts for the `-s` texts, json.ts for the JSON form) when a
 * client asks. Nothing here knows about sockets or the kernel.
 *
 * Every counter is a non-negative safe integer that only grows (except the
 * gauges documented as such). Where 1.4.7 keeps a 32-bit counter the text
 * form prints it modulo 2^32, as 1.4.7 does once it wraps; the JSON form
 * prints the true value.
 */
import type { ChannelKind, SyncMode } from '../config/config';

/**
 * One flow cache: Stats mode's cache, Sync mode's internal (this node's
 * flows) or external (the peer's flows) cache, or their expectation twins.
 */
export interface CacheCounters {
  /** Gauge: objects that are not dead ("current active connections"). */
  active: number;
  /**
   * Gauge: every object in the cache, dead ones included. FTFW keeps a
   * destroyed flow as a dead object until the peer has acknowledged its
   * deletion, so this can exceed `active`.
   */
  total: number;
  /** Objects added. */
  addOk: number;
  /** Additions that failed, for any reason (the next two included). */
  addFail: number;
  /** Additions that failed for lack of memory. */
  addFailNoMemory: number;
  /** Additions refused because the cache holds `HashLimit` objects. */
  addFailNoSpace: number;
  updOk: number;
  /** Updates that failed, for any reason (the next one included). */
  updFail: number;
  /** Updates of an object the cache does not hold. */
  updFailNotFound: number;
  /** Objects deleted (1.4.7's text calls them "deletion created"). */
  delOk: number;
  /** Deletions that failed, for any reason (the next one included). */
  delFail: number;
  /** Deletions of an object the cache does not hold. */
  delFailNotFound: number;
}

/**
 * `DisableInternalCache`: kernel events are sent to the peer as they come,
 * without a cache; these count the events passed through.
 */
export interface BypassCounters {
  new: number;
  updated: number;
  destroyed: number;
}

/**
 * `DisableExternalCache`: messages from the peer are applied to the kernel
 * table directly ("external inject"); these count the kernel requests.
 */
export interface InjectCounters {
  addOk: number;
  addFail: number;
  updOk: number;
  updFail: number;
  delOk: number;
  delFail: number;
}

/** The internal side of Sync mode: a cache, or the bypass when it is disabled. */
export type InternalCounters = { cache: CacheCounters } | { bypass: BypassCounters };
/** The external side of Sync mode: a cache, or direct injection when it is disabled. */
export type ExternalCounters = { cache: CacheCounters } | { inject: InjectCounters };

/**
 * A 64-bit counter: a bigint as the library reports kernel counters, or a
 * number. The JSON form writes either as a JSON number (a bigint above 2^53
 * loses precision there, never in the text).
 */
export type Counter64 = number | bigint;

/**
 * Bytes and packets of the flows this node saw destroyed ("traffic
 * processed"), both directions summed, from the kernel's accounting
 * counters (all zero without `nf_conntrack_acct=1`).
 */
export interface TrafficCounters {
  bytes: Counter64;
  packets: Counter64;
}

/** What went through one sync link's socket. */
export interface ChannelCounters {
  bytesSent: number;
  bytesReceived: number;
  packetsSent: number;
  packetsReceived: number;
  /** Failed sends. */
  sendErrors: number;
  /** Failed receives. */
  receiveErrors: number;
  /**
   * Datagrams (UDP) or connections (TCP) from an address other than the
   * configured peer, dropped unread. 1.4.7 accepts sync traffic from anyone.
   */
  receiveForeign: number;
}

/** Carrier state of a link's interface, in 1.4.7's words. */
export type LinkStatus = 'RUNNING' | 'NO-CARRIER' | 'DOWN';
/** A TCP link's connection state, in 1.4.7's words. */
export type TcpConnectionState = 'connected' | 'disconnected';

/** One `UDP`, `Multicast` or `TCP` block of the config, as it runs. */
export interface LinkCounters {
  kind: ChannelKind;
  /** The `Interface` of the block. */
  device: string;
  status: LinkStatus;
  /** The link messages are currently sent on (the others are backups). */
  active: boolean;
  /** TCP only: the accepting side (our listening socket) and the connecting side. */
  tcp?: { server: TcpConnectionState; client: TcpConnectionState };
  traffic: ChannelCounters;
}

/** Problems with received and sent sync messages. */
export interface NetworkCounters {
  /** Received messages dropped as malformed, for any reason (the next six included). */
  receiveMalformed: number;
  receiveBadVersion: number;
  receiveBadHeader: number;
  receiveBadPayload: number;
  receiveBadType: number;
  receiveTruncated: number;
  receiveBadSize: number;
  /** Messages we failed to build. */
  sendMalformed: number;
  /** FTFW: sent messages the peer asked for again (NACK), queued to go out once more. */
  sendResent: number;
  /** Sequence tracking: messages the sequence numbers say we missed. */
  sequenceLost: number;
  /** Sequence tracking: messages older than the last one seen. */
  sequenceBefore: number;
}

/** The daemon's kernel event socket. */
export interface NetlinkCounters {
  eventsReceived: number;
  /** Events the Filter dropped. */
  eventsFiltered: number;
  eventsUnknownType: number;
  /** Errors of the event socket other than overruns. */
  catchEventFailed: number;
  dumpUnknownType: number;
  /** Times the kernel dropped events for the event socket (ENOBUFS). */
  overruns: number;
  /** Flushes of the kernel table (`-F`, `-t`). */
  flushes: number;
  /** Re-dumps of the kernel table (`-R`, overrun resyncs, polling). */
  resyncs: number;
  /** Gauge: the event socket's receive buffer in bytes, 0 when there is no event socket. */
  bufferSize: number;
}

/** The daemon's main loop and background work. */
export interface RuntimeCounters {
  /** Background work that failed (a child that did not exit 0), the next two included. */
  childFailed: number;
  childSegfault: number;
  childTermsig: number;
  selectFailed: number;
  waitFailed: number;
  /** Control socket reads that failed. */
  localReadFailed: number;
  /** Control requests with a code the daemon does not know. */
  localUnknownRequest: number;
}

/** One queue of the sync side. */
export interface QueueCounters {
  /** `txqueue` (messages waiting to be sent), `errorq` (TCP: messages a send failed for), `rsqueue` (FTFW: sent, not yet acknowledged). */
  name: string;
  /** Gauge: elements queued now. */
  current: number;
  /** The queue's capacity. */
  maximum: number;
  /** Elements refused because the queue was full. */
  noSpace: number;
}

/** One element of FTFW's resend queue, in queue order. */
export type ResendQueueEntry =
  | { kind: 'control'; seq: number; flags: number }
  | { kind: 'object'; seq: number };

/** Background work in flight (1.4.7 forks a child for it). */
export interface ChildProcessInfo {
  pid: number;
  /** What it does, in 1.4.7's words: `flush`, `commit`, or `any` for anything else. */
  type: string;
}

/** Expectation caches of Sync mode with `ExpectationSync`. */
export interface ExpectationCounters {
  internal: InternalCounters;
  external: ExternalCounters;
}

/** What every mode has. */
interface CommonSnapshot {
  /** Whole seconds since the daemon started. */
  uptimeSeconds: number;
  netlink: NetlinkCounters;
  runtime: RuntimeCounters;
  processes: ChildProcessInfo[];
}

/** A config with neither `Sync` nor `Stats`: 1.4.7 runs with no mode at all. */
export interface NoModeSnapshot extends CommonSnapshot {
  mode: 'none';
}

export interface StatsModeSnapshot extends CommonSnapshot {
  mode: 'stats';
  cache: CacheCounters;
  traffic: TrafficCounters;
}

export interface SyncSnapshot extends CommonSnapshot {
  mode: 'sync';
  syncMode: SyncMode;
  internal: InternalCounters;
  external: ExternalCounters;
  traffic: TrafficCounters;
  /** The links in config order; exactly one is active. */
  links: LinkCounters[];
  network: NetworkCounters;
  /** Nodes allocated for queue elements. */
  queueNodes: number;
  /** txqueue, errorq, then (FTFW) rsqueue. */
  queues: QueueCounters[];
  /** FTFW only. */
  resendQueue?: ResendQueueEntry[];
  /** Only with `ExpectationSync`. */
  expectations?: ExpectationCounters;
}

/** Everything the formatters need, at one instant. */
export type StatsSnapshot = NoModeSnapshot | StatsModeSnapshot | SyncSnapshot;

/** A cache with nothing counted yet. */
export function newCacheCounters(): CacheCounters {
  return {
    active: 0, total: 0,
    addOk: 0, addFail: 0, addFailNoMemory: 0, addFailNoSpace: 0,
    updOk: 0, updFail: 0, updFailNotFound: 0,
    delOk: 0, delFail: 0, delFailNotFound: 0,
  };
}

export function newBypassCounters(): BypassCounters {
  return { new: 0, updated: 0, destroyed: 0 };
}

export function newInjectCounters(): InjectCounters {
  return { addOk: 0, addFail: 0, updOk: 0, updFail: 0, delOk: 0, delFail: 0 };
}

export function newTrafficCounters(): TrafficCounters {
  return { bytes: 0, packets: 0 };
}

export function newChannelCounters(): ChannelCounters {
  return { bytesSent: 0, bytesReceived: 0, packetsSent: 0, packetsReceived: 0, sendErrors: 0, receiveErrors: 0, receiveForeign: 0 };
}

export function newNetworkCounters(): NetworkCounters {
  return {
    receiveMalformed: 0, receiveBadVersion: 0, receiveBadHeader: 0, receiveBadPayload: 0,
    receiveBadType: 0, receiveTruncated: 0, receiveBadSize: 0,
    sendMalformed: 0, sendResent: 0, sequenceLost: 0, sequenceBefore: 0,
  };
}

export function newNetlinkCounters(): NetlinkCounters {
  return {
    eventsReceived: 0, eventsFiltered: 0, eventsUnknownType: 0, catchEventFailed: 0, dumpUnknownType: 0,
    overruns: 0, flushes: 0, resyncs: 0, bufferSize: 0,
  };
}

export function newRuntimeCounters(): RuntimeCounters {
  return { childFailed: 0, childSegfault: 0, childTermsig: 0, selectFailed: 0, waitFailed: 0, localReadFailed: 0, localUnknownRequest: 0 };
}
