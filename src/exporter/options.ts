/**
 * conntrack-exporter's command line, spelled as Prometheus exporters spell
 * theirs (kingpin flags: `--web.listen-address=:9466` or with a space,
 * `--no-FLAG` for a boolean's false). One table drives the parser and
 * `--help`.
 */

export interface ExporterOptions {
  /** Host (empty: every address) and port to serve on. */
  listen: { host: string | undefined; port: number };
  telemetryPath: string;
  /** Namespaces to watch, as names under /run/netns or paths; [] = the exporter's own. */
  netns: string[];
  /** conntrackd control sockets to read statistics from. */
  conntrackdSockets: string[];
  /** Sources with the most entries to export per namespace; 0 = none (the default: one series per source). */
  topSources: number;
  /** Per-CPU statistics labelled by CPU (default), or summed over CPUs. */
  statPerCpu: boolean;
  /** Seconds between reconciling dumps of each table. */
  reconcileInterval: number;
  /** Receive buffer of each event listener in bytes; undefined: the library's default. */
  eventBufferSize: number | undefined;
}

/** A bad command line: main prints it on one line and exits 2. */
export class UsageError extends Error {}

/** `--help` was asked for: main prints USAGE and exits 0. */
export class HelpRequest extends Error {}

export const DEFAULT_PORT = 9466;

interface Flag {
  name: string;
  value: string | undefined;
  help: string;
  set(opts: ExporterOptions, value: string): void;
}

const FLAGS: readonly Flag[] = [
  {
    name: 'web.listen-address', value: 'ADDR:PORT', help: `address to serve on (default :${DEFAULT_PORT}, every address)`,
    set: (o, v) => (o.listen = listenAddress(v)),
  },
  { name: 'web.telemetry-path', value: 'PATH', help: 'path of the metrics (default /metrics)', set: (o, v) => (o.telemetryPath = telemetryPath(v)) },
  { name: 'netns', value: 'NAME', help: 'network namespace to watch (repeat for several; default: our own)', set: (o, v) => o.netns.push(v) },
  { name: 'conntrackd.socket', value: 'PATH', help: 'conntrackd control socket to read statistics from (repeatable)', set: (o, v) => o.conntrackdSockets.push(v) },
  {
    name: 'collector.top-sources', value: 'K', help: 'export the K sources with the most entries (default 0: off, one series per source)',
    set: (o, v) => (o.topSources = count(v, 'collector.top-sources')),
  },
  { name: 'collector.stat.per-cpu', value: undefined, help: 'per-CPU statistics by CPU (default); --no-collector.stat.per-cpu sums them', set: (o, v) => (o.statPerCpu = v === 'true') },
  {
    name: 'reconcile.interval', value: 'SECONDS', help: 'seconds between reconciling dumps of each table (default 60)',
    set: (o, v) => (o.reconcileInterval = seconds(v)),
  },
  {
    name: 'events.buffer-size', value: 'BYTES', help: 'receive buffer of each event listener (default: the library\'s; a smaller one overruns sooner)',
    set: (o, v) => (o.eventBufferSize = bytes(v)),
  },
];

export const USAGE = `usage: conntrack-exporter [FLAGS]
${FLAGS.map((f) => `  --${f.name}${f.value ? `=${f.value}` : ''}\n      ${f.help}`).join('\n')}
  -h, --help`;

function count(text: string, name: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 10_000) throw new UsageError(`--${name} wants a whole number up to 10000, not '${text}'`);
  return n;
}

function bytes(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 2 ** 31 - 1) throw new UsageError(`--events.buffer-size wants a number of bytes from 1 to 2147483647, not '${text}'`);
  return n;
}

function seconds(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--reconcile.interval wants a positive number of seconds, not '${text}'`);
  return n;
}

function telemetryPath(text: string): string {
  if (!text.startsWith('/') || text === '/') throw new UsageError(`--web.telemetry-path wants a path other than / (landing page), not '${text}'`);
  return text;
}

/** `:9466`, `127.0.0.1:9466`, `[::1]:9466`, `localhost:9466`. */
export function listenAddress(text: string): ExporterOptions['listen'] {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new UsageError(`--web.listen-address wants [HOST]:PORT, not '${text}'`);
  return { host: m[1] ?? (m[2] || undefined), port };
}

export function parseExporterOptions(argv: readonly string[]): ExporterOptions {
  const opts: ExporterOptions = {
    listen: { host: undefined, port: DEFAULT_PORT }, telemetryPath: '/metrics', netns: [], conntrackdSockets: [],
    topSources: 0, statPerCpu: true, reconcileInterval: 60, eventBufferSize: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '-h' || word === '--help') throw new HelpRequest(USAGE);
    if (!word.startsWith('--')) throw new UsageError(`unexpected argument '${word}' (flags start with --; see --help)`);
    const eq = word.indexOf('=');
    const name = word.slice(2, eq < 0 ? undefined : eq);
    const negated = name.startsWith('no-') ? FLAGS.find((f) => f.value === undefined && f.name === name.slice(3)) : undefined;
    const flag = negated ?? FLAGS.find((f) => f.name === name);
    if (!flag) throw new UsageError(`unknown flag '--${name}' (see --help)`);
    if (flag.value === undefined) {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      flag.set(opts, negated ? 'false' : 'true');
      continue;
    }
    const value = eq >= 0 ? word.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    flag.set(opts, value);
  }
  return opts;
}
