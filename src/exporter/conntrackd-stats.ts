/**
 * conntrackd's statistics as metrics, read from its control socket the way
 * `conntrackd -s`, `-s link` and `-s runtime` read them: the same texts
 * from conntrackd 1.4.7 and from ours (which keeps them byte for byte), so
 * one parser serves both daemons.
 *
 * Two counters have no text in 1.4.7, so our daemon reports them only in
 * its JSON statistics (the text request's code + 256): FTFW's resent
 * messages (`-s network --json`) and the last commit (`-s runtime
 * --json`). 1.4.7 answers those codes with nothing, which leaves them
 * undefined, so their metrics are absent for the C daemon.
 *
 * Wire: connect to the UNIX stream socket, write the request code as a
 * 4-byte little-endian int, read text until the daemon closes.
 */
import { connect } from 'node:net';

/** 1.4.7's request codes (its STATS, STATS_RUNTIME and STATS_LINK). */
const STATS = 21;
const STATS_RUNTIME = 30;
const STATS_LINK = 31;
const STATS_NETWORK = 28;
/** Added to a text request's code to ask our daemon for the same statistic as JSON. */
const JSON_REQUEST_OFFSET = 256;

/** A daemon that accepts but does not answer must not hold a scrape. */
const REPLY_TIMEOUT_MS = 2000;

/** One cache's counters (`cache internal:`, `cache external:`, `cache stats:`), or external inject's. */
export interface CacheStats {
  cache: string;
  /** Entries in the cache (`current active connections`); undefined for external inject, which has no cache. */
  active: number | undefined;
  created: number;
  createFailed: number;
  updated: number;
  updateFailed: number;
  destroyed: number;
  destroyFailed: number;
}

/** One direction of a link: sync messages (the daemon's "Pckts"), their bytes, and errors. */
export interface LinkDirection {
  messages: number;
  bytes: number;
  errors: number;
}

/** One dedicated link (`-s link`). */
export interface LinkStats {
  kind: string;
  device: string;
  /** 1 up, 0 down, as the daemon says `status=`. */
  status: number;
  /** The link messages go out on now (ACTIVE), or a standby one (BACKUP). */
  active: boolean;
  sent: LinkDirection;
  received: LinkDirection;
}

/** The daemon's last `-c`, as our daemon's JSON statistics give it. */
export interface LastCommit {
  /** Unix time in seconds. */
  endedAt: number;
  durationSeconds: number;
  committed: number;
  failed: number;
}

export interface ConntrackdStats {
  caches: CacheStats[];
  /** Message tracking (Sync mode): malformed messages received, and sequence numbers skipped (messages lost). */
  messagesMalformed: number | undefined;
  messagesLost: number | undefined;
  links: LinkStats[];
  /** `-s runtime`'s netlink block. */
  eventsReceived: number | undefined;
  netlinkOverruns: number | undefined;
  resyncs: number | undefined;
  /** FTFW: messages sent again at the peer's request; our daemon's JSON only. */
  messagesResent: number | undefined;
  /** Our daemon's JSON only, once it has committed. */
  lastCommit: LastCommit | undefined;
}

/** The reply to `code`; rejects when the socket cannot be reached or stays silent. */
export function controlRequest(path: string, code: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect({ path });
    socket.setTimeout(REPLY_TIMEOUT_MS, () => socket.destroy(new Error(`no reply within ${REPLY_TIMEOUT_MS} ms`)));
    socket.on('connect', () => {
      const request = Buffer.alloc(4);
      request.writeInt32LE(code);
      socket.write(request);
    });
    socket.on('data', (b: Buffer) => chunks.push(b));
    socket.on('error', reject);
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
  });
}

const CACHE_BLOCK =
  /^cache (\w+):\ncurrent active connections:\s+(\d+)\nconnections created:\s+(\d+)\tfailed:\s+(\d+)\nconnections updated:\s+(\d+)\tfailed:\s+(\d+)\nconnections destroyed:\s+(\d+)\tfailed:\s+(\d+)$/gm;
const INJECT_BLOCK =
  /^external inject:\nconnections created:\s+(\d+)\tfailed:\s+(\d+)\nconnections updated:\s+(\d+)\tfailed:\s+(\d+)\nconnections destroyed:\s+(\d+)\tfailed:\s+(\d+)$/m;
const TRACKING = /^message tracking:\n\s*(\d+) Malformed msgs\s+(\d+) Lost msgs$/m;
const LINK_BLOCK =
  /^(\w+) traffic device=(\S+) status=(\d+) role=(ACTIVE|BACKUP):\n\s*(\d+) Bytes sent\s+(\d+) Bytes recv\n\s*(\d+) Pckts sent\s+(\d+) Pckts recv\n\s*(\d+) Error send\s+(\d+) Error recv$/gm;

const n = (text: string | undefined): number | undefined => (text === undefined ? undefined : Number(text));
const field = (text: string, label: string): number | undefined => n(new RegExp(`^\\t${label}:\\s+(\\d+)$`, 'm').exec(text)?.[1]);

/** What the `-s network --json` and `-s runtime --json` replies add; an empty reply (1.4.7) adds nothing. Pure. */
export function parseConntrackdJson(network: string, runtime: string): Pick<ConntrackdStats, 'messagesResent' | 'lastCommit'> {
  const doc = (text: string): Record<string, unknown> => (text === '' ? {} : JSON.parse(text) as Record<string, unknown>);
  const resent = (doc(network).network as { sendResent?: unknown } | undefined)?.sendResent;
  const commit = doc(runtime).lastCommit as LastCommit | undefined;
  return {
    messagesResent: typeof resent === 'number' ? resent : undefined,
    lastCommit: commit && { endedAt: commit.endedAt, durationSeconds: commit.durationSeconds, committed: commit.committed, failed: commit.failed },
  };
}

/** The counters of `-s`, `-s link` and `-s runtime` texts. Pure. */
export function parseConntrackdStats(general: string, link: string, runtime: string): Omit<ConntrackdStats, 'messagesResent' | 'lastCommit'> {
  const caches: CacheStats[] = [...general.matchAll(CACHE_BLOCK)].map((m) => ({
    cache: m[1]!, active: Number(m[2]), created: Number(m[3]), createFailed: Number(m[4]),
    updated: Number(m[5]), updateFailed: Number(m[6]), destroyed: Number(m[7]), destroyFailed: Number(m[8]),
  }));
  const inject = INJECT_BLOCK.exec(general);
  if (inject) {
    caches.push({
      cache: 'external-inject', active: undefined, created: Number(inject[1]), createFailed: Number(inject[2]),
      updated: Number(inject[3]), updateFailed: Number(inject[4]), destroyed: Number(inject[5]), destroyFailed: Number(inject[6]),
    });
  }
  const tracking = TRACKING.exec(general);
  const links: LinkStats[] = [...link.matchAll(LINK_BLOCK)].map((m) => ({
    kind: m[1]!.toLowerCase(), device: m[2]!, status: Number(m[3]), active: m[4] === 'ACTIVE',
    sent: { bytes: Number(m[5]), messages: Number(m[7]), errors: Number(m[9]) },
    received: { bytes: Number(m[6]), messages: Number(m[8]), errors: Number(m[10]) },
  }));
  return {
    caches,
    messagesMalformed: n(tracking?.[1]),
    messagesLost: n(tracking?.[2]),
    links,
    eventsReceived: field(runtime, 'events received'),
    netlinkOverruns: field(runtime, 'netlink overrun'),
    resyncs: field(runtime, 'resync with kernel table'),
  };
}

/** Asks the daemon at `path` for its statistics. Rejects when it cannot be reached or its runtime text is not conntrackd's. */
export async function readConntrackdStats(path: string): Promise<ConntrackdStats> {
  const [general, link, runtime, networkJson, runtimeJson] = await Promise.all(
    [STATS, STATS_LINK, STATS_RUNTIME, STATS_NETWORK + JSON_REQUEST_OFFSET, STATS_RUNTIME + JSON_REQUEST_OFFSET].map((code) => controlRequest(path, code)),
  );
  const stats = parseConntrackdStats(general!, link!, runtime!);
  if (stats.eventsReceived === undefined && !runtime!.startsWith('daemon uptime:')) throw new Error('the reply to -s runtime is not conntrackd statistics');
  return { ...stats, ...parseConntrackdJson(networkJson!, runtimeJson!) };
}
