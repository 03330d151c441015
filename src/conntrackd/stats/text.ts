/**
 * The `-s` texts of conntrackd 1.4.7, byte for byte: monitoring scripts and
 * keepalived notify scripts grep them, so headings, tabs, widths and blank
 * lines are kept exactly. Pure: a snapshot in, a string out.
 *
 * A kind the running mode does not have prints nothing, as in 1.4.7: with
 * no mode only `runtime` and `process` print; Stats mode adds `ct` and
 * `cache`; `rsqueue` is FTFW's; `expect` needs `ExpectationSync`.
 */
import type {
  CacheCounters, ChannelCounters, Counter64, ExternalCounters, InternalCounters, LinkCounters, NetworkCounters,
  QueueCounters, ResendQueueEntry, StatsSnapshot, SyncSnapshot, TrafficCounters,
} from './counters';
import type { StatsKind } from './requests';

/** The text 1.4.7 answers the `kind` request with, given the daemon's counters. */
export function formatStats(kind: StatsKind, snapshot: StatsSnapshot): string {
  switch (kind) {
    case 'runtime':
      return runtimeText(snapshot);
    case 'process':
      return snapshot.processes.map((p) => `PID=${p.pid} type=${p.type}\n`).join('');
    case 'ct':
      if (snapshot.mode === 'stats') return cacheSummary('stats', snapshot.cache) + trafficText(snapshot.traffic);
      return snapshot.mode === 'sync' ? syncSummary(snapshot, snapshot.internal, snapshot.external) : '';
    case 'cache':
      if (snapshot.mode === 'stats') return cacheDetails('stats', snapshot.cache);
      return snapshot.mode === 'sync' ? internalText(snapshot.internal, cacheDetails) + externalText(snapshot.external, cacheDetails) : '';
    case 'expect':
      return snapshot.mode === 'sync' && snapshot.expectations
        ? syncSummary(snapshot, snapshot.expectations.internal, snapshot.expectations.external)
        : '';
    case 'network':
      return snapshot.mode === 'sync' ? networkText(snapshot.network) + activeLinkText(snapshot) : '';
    case 'link':
      return snapshot.mode === 'sync' ? snapshot.links.map(linkText).join('') : '';
    case 'rsqueue':
      return snapshot.mode === 'sync' && snapshot.resendQueue ? resendQueueText(snapshot.resendQueue) : '';
    case 'queue':
      return snapshot.mode === 'sync' ? queuesText(snapshot.queueNodes, snapshot.queues) : '';
  }
}

/**
 * `daemon uptime:`'s value: "[N day(s) ][H h ]M min", the format of procps'
 * uptime that 1.4.7 borrowed (no seconds, hours only when not zero).
 */
export function formatUptime(seconds: number): string {
  const days = Math.floor(seconds / 86400);
  const minutes = Math.floor(seconds / 60);
  const hours = Math.floor(minutes / 60) % 24;
  const prefix = days ? `${days} day${days !== 1 ? 's' : ''} ` : '';
  return prefix + (hours ? `${hours} h ${minutes % 60} min` : `${minutes % 60} min`);
}

/** 1.4.7 keeps these counters in 32 bits: print what it would print after a wrap. */
function u32(n: number): number {
  return n % 0x1_0000_0000;
}

/** `%12u` */
function n12(n: number): string {
  return String(u32(n)).padStart(12);
}

/** `%20u` */
function n20u(n: number): string {
  return String(u32(n)).padStart(20);
}

/** `%20llu` */
function n20(n: Counter64): string {
  return String(n).padStart(20);
}

/** The `-s` block of one cache. */
function cacheSummary(name: string, c: CacheCounters): string {
  return `cache ${name}:\n` +
    `current active connections:\t${n12(c.active)}\n` +
    `connections created:\t\t${n12(c.addOk)}\tfailed:\t${n12(c.addFail)}\n` +
    `connections updated:\t\t${n12(c.updOk)}\tfailed:\t${n12(c.updFail)}\n` +
    `connections destroyed:\t\t${n12(c.delOk)}\tfailed:\t${n12(c.delFail)}\n\n`;
}

/** The `-s cache` block of one cache ("active objects" counts dead ones too). */
function cacheDetails(name: string, c: CacheCounters): string {
  return `cache:${name}\tactive objects:\t\t${n12(c.total)}\n` +
    `\tactive/total entries:\t\t${n12(c.active)}/${n12(c.total)}\n` +
    `\tcreation OK/failed:\t\t${n12(c.addOk)}/${n12(c.addFail)}\n` +
    `\t\tno memory available:\t${n12(c.addFailNoMemory)}\n` +
    `\t\tno space left in cache:\t${n12(c.addFailNoSpace)}\n` +
    `\tupdate OK/failed:\t\t${n12(c.updOk)}/${n12(c.updFail)}\n` +
    `\t\tentry not found:\t${n12(c.updFailNotFound)}\n` +
    `\tdeletion created/failed:\t${n12(c.delOk)}/${n12(c.delFail)}\n` +
    `\t\tentry not found:\t${n12(c.delFailNotFound)}\n\n`;
}

type CacheText = (name: string, c: CacheCounters) => string;

/** The internal side: its cache, or the "internal bypass" block whatever the request. */
function internalText(side: InternalCounters, cacheText: CacheText): string {
  if ('cache' in side) return cacheText('internal', side.cache);
  const b = side.bypass;
  return 'internal bypass:\n' +
    `connections new:\t\t${n12(b.new)}\n` +
    `connections updated:\t\t${n12(b.updated)}\n` +
    `connections destroyed:\t\t${n12(b.destroyed)}\n\n`;
}

/** The external side: its cache, or the "external inject" block whatever the request. */
function externalText(side: ExternalCounters, cacheText: CacheText): string {
  if ('cache' in side) return cacheText('external', side.cache);
  const i = side.inject;
  return 'external inject:\n' +
    `connections created:\t\t${n12(i.addOk)}\tfailed:\t${n12(i.addFail)}\n` +
    `connections updated:\t\t${n12(i.updOk)}\tfailed:\t${n12(i.updFail)}\n` +
    `connections destroyed:\t\t${n12(i.delOk)}\tfailed:\t${n12(i.delFail)}\n\n`;
}

function trafficText(t: TrafficCounters): string {
  return `traffic processed:\n${n20(t.bytes)} Bytes      ${n20(t.packets)} Pckts\n\n`;
}

/** `-s` / `-s expect` in Sync mode: the two sides, traffic, the active link, message tracking. */
function syncSummary(s: SyncSnapshot, internal: InternalCounters, external: ExternalCounters): string {
  return internalText(internal, cacheSummary) + externalText(external, cacheSummary) + trafficText(s.traffic) +
    activeLinkText(s) +
    `message tracking:\n${n20(s.network.receiveMalformed)} Malformed msgs ${n20(s.network.sequenceLost)} Lost msgs\n\n`;
}

const LINK_NAMES: Readonly<Record<LinkCounters['kind'], string>> = { udp: 'UDP', multicast: 'multicast', tcp: 'TCP' };

function channelText(c: ChannelCounters): string {
  return `${n20(c.bytesSent)} Bytes sent ${n20(c.bytesReceived)} Bytes recv\n` +
    `${n20(c.packetsSent)} Pckts sent ${n20(c.packetsReceived)} Pckts recv\n` +
    `${n20(c.sendErrors)} Error send ${n20(c.receiveErrors)} Error recv\n` +
    // 1.4.7 has no such counter: the line appears once there is something to show.
    (c.receiveForeign > 0 ? `${n20(c.receiveForeign)} Foreign recv\n` : '') +
    '\n';
}

/** The link messages go out on, as `-s` and `-s network` show it. */
function activeLinkText(s: SyncSnapshot): string {
  const link = s.links.find((l) => l.active);
  if (!link) return '';
  const tcp = link.tcp ? ` server=${link.tcp.server} client=${link.tcp.client}` : '';
  return `${LINK_NAMES[link.kind]} traffic (active device=${link.device})${tcp}:\n` + channelText(link.traffic);
}

/** One link as `-s link` shows it. */
function linkText(l: LinkCounters): string {
  return `${LINK_NAMES[l.kind]} traffic device=${l.device} status=${l.status} role=${l.active ? 'ACTIVE' : 'BACKUP'}:\n` +
    channelText(l.traffic);
}

function networkText(n: NetworkCounters): string {
  return 'network statistics:\n' +
    '\trecv:\n' +
    `\t\tMalformed messages:\t${n20(n.receiveMalformed)}\n` +
    `\t\tWrong protocol version:\t${n20u(n.receiveBadVersion)}\n` +
    `\t\tMalformed header:\t${n20u(n.receiveBadHeader)}\n` +
    `\t\tMalformed payload:\t${n20u(n.receiveBadPayload)}\n` +
    `\t\tBad message type:\t${n20u(n.receiveBadType)}\n` +
    `\t\tTruncated message:\t${n20u(n.receiveTruncated)}\n` +
    `\t\tBad message size:\t${n20u(n.receiveBadSize)}\n` +
    '\tsend:\n' +
    `\t\tMalformed messages:\t${n20u(n.sendMalformed)}\n` +
    // 1.4.7 has no such counter: the line appears once there is something to show.
    (n.sendResent > 0 ? `\t\tResent messages:\t${n20(n.sendResent)}\n` : '') +
    '\n' +
    'sequence tracking statistics:\n' +
    '\trecv:\n' +
    `\t\tPackets lost:\t\t${n20(n.sequenceLost)}\n` +
    `\t\tPackets before:\t\t${n20(n.sequenceBefore)}\n\n`;
}

function runtimeText({ uptimeSeconds, netlink: n, runtime: r }: StatsSnapshot): string {
  return `daemon uptime: ${formatUptime(uptimeSeconds)}\n\n` +
    'netlink stats:\n' +
    `\tevents received:\t${n20(n.eventsReceived)}\n` +
    `\tevents filtered:\t${n20(n.eventsFiltered)}\n` +
    `\tevents unknown type:\t\t${n12(n.eventsUnknownType)}\n` +
    `\tcatch event failed:\t\t${n12(n.catchEventFailed)}\n` +
    `\tdump unknown type:\t\t${n12(n.dumpUnknownType)}\n` +
    `\tnetlink overrun:\t\t${n12(n.overruns)}\n` +
    `\tflush kernel table:\t\t${n12(n.flushes)}\n` +
    `\tresync with kernel table:\t${n12(n.resyncs)}\n` +
    `\tcurrent buffer size (in bytes):\t${n12(n.bufferSize)}\n\n` +
    'runtime stats:\n' +
    `\tchild process failed:\t\t${n12(r.childFailed)}\n` +
    `\t\tchild process segfault:\t${n12(r.childSegfault)}\n` +
    `\t\tchild process termsig:\t${n12(r.childTermsig)}\n` +
    `\tselect failed:\t\t\t${n12(r.selectFailed)}\n` +
    `\twait failed:\t\t\t${n12(r.waitFailed)}\n` +
    `\tlocal read failed:\t\t${n12(r.localReadFailed)}\n` +
    `\tlocal unknown request:\t\t${n12(r.localUnknownRequest)}\n\n`;
}

function queuesText(nodes: number, queues: readonly QueueCounters[]): string {
  return `allocated queue nodes:\t\t${n12(nodes)}\n\n` +
    queues.map((q) =>
      `queue ${q.name}:\n` +
      `current elements:\t\t${n12(q.current)}\n` +
      `maximum elements:\t\t${n12(q.maximum)}\n` +
      `not enough space errors:\t${n12(q.noSpace)}\n\n`).join('');
}

function resendQueueText(entries: readonly ResendQueueEntry[]): string {
  return `resent queue (len=${entries.length})\n` +
    entries.map((e) =>
      e.kind === 'control' ? `control -> seq:${u32(e.seq)} flags:${u32(e.flags)}\n` : `object -> seq:${u32(e.seq)}\n`).join('');
}
