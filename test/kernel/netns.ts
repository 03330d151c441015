/**
 * Throw-away network namespaces for the kernel and differential test tiers.
 *
 * Every namespace is created with `ip netns add`, so its conntrack table, its
 * sysctls, its nftables ruleset and its loopback device are private to one
 * test: tests can run in parallel and never touch the host's table. The test
 * process itself stays in the host namespace; commands run inside with
 * `ip netns exec NAME ...` (conntrack caches nothing per namespace, and
 * /proc/sys/net follows the namespace of the process that opens it).
 *
 * Cleanup is layered: `withNetns(t)` destroys in the test's after() hook, a
 * process-wide registry destroys whatever is left on exit, SIGINT and SIGTERM,
 * and the first createNetns() of a process removes `ctts-*` namespaces left
 * behind by test processes that died (their pid is part of the name).
 *
 * Network rule: all traffic made here stays on the loopback device of the
 * namespace (127.0.0.1 and ::1).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface ExecResult {
  stdout: Buffer;
  stderr: Buffer;
  status: number | null;
  signal: NodeJS.Signals | null;
  /** True when the child was killed because it outlived ExecOptions.timeoutMs. */
  timedOut: boolean;
}

export interface ExecOptions {
  /** Written to the child's stdin, which is then closed. Without it stdin is /dev/null. */
  input?: string | Buffer;
  /** Extra environment; the child always gets LC_ALL=C so libc messages are stable. */
  env?: NodeJS.ProcessEnv;
  /** Kill the child (SIGKILL) after this many milliseconds. Default 60 000. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 60_000;
const NAME_PREFIX = 'ctts-';

/**
 * Runs `cmd args` and collects everything; never rejects because of the exit status.
 *
 * `input` is handed over as a regular file, not a pipe: Node's stdio pipes are
 * socketpairs, and programs that open /dev/stdin (conntrack -R -) cannot open
 * a socket by path (ENXIO).
 */
export async function run(cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const stdin = opts.input === undefined ? 'ignore' : await inputFile(opts.input);
  let child: ChildProcess;
  try {
    child = spawn(cmd, args, { stdio: [stdin, 'pipe', 'pipe'], env: childEnv(opts.env) });
  } finally {
    if (typeof stdin === 'number') closeSync(stdin);
  }
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on('data', (b: Buffer) => out.push(b));
  child.stderr!.on('data', (b: Buffer) => err.push(b));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  try {
    const [status, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
    return { stdout: Buffer.concat(out), stderr: Buffer.concat(err), status, signal, timedOut };
  } finally {
    clearTimeout(timer);
  }
}

/** Like run(), but a non-zero exit is an error that quotes the command and its stderr. */
export async function runOk(cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const r = await run(cmd, args, opts);
  if (r.status !== 0) {
    throw new Error(
      `command failed (status ${r.status}, signal ${r.signal}${r.timedOut ? ', timed out' : ''}): ` +
        `${[cmd, ...args].join(' ')}\n` +
        r.stderr.toString() + r.stdout.toString(),
    );
  }
  return r;
}

/** An open read-only descriptor of an already unlinked file holding `data`. */
async function inputFile(data: string | Buffer): Promise<number> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ctts-input-'));
  const file = path.join(dir, 'stdin');
  try {
    await writeFile(file, data);
    return openSync(file, 'r');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function childEnv(extra: NodeJS.ProcessEnv | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C', ...extra };
  // The debug switch of our library prints decoded traffic: never inside a comparison.
  delete env.NFCT_DEBUG;
  return env;
}

export class Netns {
  private readonly children = new Set<ChildProcess>();
  private destroyed = false;

  constructor(readonly name: string) {}

  /** Runs `cmd args` inside the namespace (`ip netns exec NAME cmd args`). */
  exec(cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    return run('ip', ['netns', 'exec', this.name, cmd, ...args], opts);
  }

  /** exec() that throws unless the command exits 0. */
  execOk(cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    return runOk('ip', ['netns', 'exec', this.name, cmd, ...args], opts);
  }

  /**
   * Starts a long-lived process inside the namespace (stdin and stdout piped).
   * It is killed by destroy(); a namespace holding a live process would
   * otherwise outlive `ip netns del`.
   */
  spawn(cmd: string, args: readonly string[]): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.name, cmd, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: childEnv(undefined),
    });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** Writes /proc/sys/<key with dots as slashes> as seen from inside the namespace. */
  async sysctl(key: string, value: string | number): Promise<void> {
    const file = `/proc/sys/${key.replace(/\./g, '/')}`;
    await this.execOk('sh', ['-c', `echo "$1" > "$2"`, 'sysctl', String(value), file]);
  }

  /** Loads an nftables ruleset (nft -f -) into the namespace. */
  async nft(ruleset: string): Promise<void> {
    await this.execOk('nft', ['-f', '-'], { input: ruleset });
  }

  /** Kills the namespace's processes and deletes it. Idempotent. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    registry.delete(this);
    await Promise.all(
      [...this.children].map(async (child) => {
        const exited = waitExit(child);
        child.kill('SIGKILL');
        await exited;
      }),
    );
    await run('ip', ['netns', 'del', this.name]);
  }

  /** The synchronous variant for process exit handlers. */
  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    registry.delete(this);
    for (const child of this.children) child.kill('SIGKILL');
    spawnSync('ip', ['netns', 'del', this.name], { stdio: 'ignore' });
  }
}

const registry = new Set<Netns>();
let counter = 0;
let processHooksInstalled = false;

function installProcessHooks(): void {
  if (processHooksInstalled) return;
  processHooksInstalled = true;
  process.on('exit', destroyAllSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      destroyAllSync();
      // Default action again, so the exit status still says "killed by SIGNAL".
      process.kill(process.pid, signal);
    });
  }
  removeOrphans();
}

function destroyAllSync(): void {
  for (const ns of [...registry]) ns.destroySync();
}

/** Deletes `ctts-*` namespaces whose creating process is gone. */
function removeOrphans(): void {
  const list = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  for (const line of (list.stdout ?? '').split('\n')) {
    const name = line.split(' ')[0];
    const m = /^ctts-.*-(\d+)-\d+$/.exec(name);
    if (m && !processAlive(Number(m[1]))) spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Creates `ctts-<prefix>-<pid>-<n>` with loopback up and conntrack events on
 * (`net.netfilter.nf_conntrack_events=1`, so -E sees entries made by others).
 * Throws with a clear message when namespaces cannot be made (not root, no
 * iproute2): a kernel test must fail then, not skip.
 */
export async function createNetns(prefix: string): Promise<Netns> {
  installProcessHooks();
  const ns = new Netns(`${NAME_PREFIX}${prefix}-${process.pid}-${counter++}`);
  const added = await run('ip', ['netns', 'add', ns.name]);
  if (added.status !== 0) {
    throw new Error(
      `cannot create network namespace ${ns.name} (need root and iproute2): ${added.stderr.toString().trim()}`,
    );
  }
  registry.add(ns);
  try {
    await runOk('ip', ['-n', ns.name, 'link', 'set', 'lo', 'up']);
    await ns.sysctl('net.netfilter.nf_conntrack_events', 1);
  } catch (e) {
    await ns.destroy();
    throw e;
  }
  return ns;
}

/** The part of node:test's TestContext / SuiteContext that withNetns needs. */
export interface AfterHookContext {
  after(fn: () => Promise<void> | void): void;
}

/** createNetns() whose namespace is destroyed in the test's after() hook. */
export async function withNetns(t: AfterHookContext, prefix: string): Promise<Netns> {
  const ns = await createNetns(prefix);
  t.after(() => ns.destroy());
  return ns;
}

// ---------------------------------------------------------------------------
// Conntrack state

/** Path of the reference conntrack-tools 1.4.7 binary (env CT_REFERENCE overrides). */
export const REFERENCE_CONNTRACK = process.env.CT_REFERENCE ?? '/usr/sbin/conntrack';

/**
 * Creates conntrack entries with the reference tool: each entry is the argument
 * list of one `conntrack -I` (the `-I` may be omitted) or of another command
 * that `-R` accepts (-A, -U, -D, -F). All lines go through ONE `conntrack -R -`
 * run, which parses every line before executing any, so a typo fails loudly
 * with nothing created.
 */
export async function ctFill(ns: Netns, entries: readonly (readonly string[])[]): Promise<void> {
  if (entries.length === 0) return;
  const lines = entries.map((words) => {
    const argv = /^-[IAUDF]$/.test(words[0] ?? '') ? words : ['-I', ...words];
    return argv.map(quoteLoadFileWord).join(' ');
  });
  await ns.execOk(REFERENCE_CONNTRACK, ['-R', '-'], { input: lines.join('\n') + '\n' });
}

/** Quotes a word for the `-R` tokenizer ("..." groups, \x yields x). */
function quoteLoadFileWord(word: string): string {
  if (word !== '' && !/[\s"\\#]/.test(word)) return word;
  return `"${word.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

// ---------------------------------------------------------------------------
// Real traffic

/**
 * A stateful nftables ruleset: every packet on input and output is looked up
 * by conntrack, so loopback traffic creates real, kernel-made entries. Without
 * a rule using `ct`, a fresh namespace does not track anything at all.
 */
export const CT_STATE_RULESET = `table inet ctts {
  chain in {
    type filter hook input priority 0; policy accept;
    ct state established,related accept
    ct state new accept
  }
  chain out {
    type filter hook output priority 0; policy accept;
    ct state established,related,new accept
  }
}
`;

export interface TrafficOptions {
  /** Real TCP connections (127.0.0.1 and, with ipv6, ::1); closed ones end in TIME_WAIT. Default true. */
  tcp?: boolean;
  /** A UDP request/response (SEEN_REPLY). Default true. */
  udp?: boolean;
  /** `ping -c1` (icmp / icmpv6 echo). Default true. */
  icmp?: boolean;
  /** Also over ::1. Default true. */
  ipv6?: boolean;
  /** Keep one TCP connection per family open (ESTABLISHED, ASSURED) until close(). Default false. */
  keepOpen?: boolean;
  /** Load CT_STATE_RULESET first (false: the caller loaded a `ct` ruleset itself). Default true. */
  ruleset?: boolean;
  /** Repeat the TCP and UDP exchanges, with fresh sockets, for this long: a table that keeps changing. Default 0 (once). */
  repeatForMs?: number;
}

/** The flows made, as the kernel saw them (ports are chosen by the kernel). */
export interface TrafficFlow {
  proto: 'tcp' | 'udp';
  src: string;
  dst: string;
  sport: number;
  dport: number;
  open: boolean;
}

export interface Traffic {
  flows: TrafficFlow[];
  /** Ends the process that holds the open connections (destroy() does it too). */
  close(): Promise<void>;
}

/*
 * Runs inside the namespace (node -e). argv: JSON options. Prints one JSON line
 * with the flows once they exist, then holds the open sockets until stdin ends.
 */
const TRAFFIC_SCRIPT = String.raw`
const net = require('node:net');
const dgram = require('node:dgram');
const { once } = require('node:events');
const opts = JSON.parse(process.argv[1]);
const flows = [];
const held = [];

async function tcp(host, keep) {
  const server = net.createServer((s) => {
    s.on('data', (d) => s.write('pong:' + d));
    s.on('end', () => s.end());
    s.on('error', () => {});
  });
  server.listen(0, host);
  await once(server, 'listening');
  const c = net.connect(server.address().port, host);
  await once(c, 'connect');
  c.write('ping');
  await once(c, 'data');
  flows.push({ proto: 'tcp', src: host, dst: host, sport: c.localPort, dport: server.address().port, open: keep });
  if (keep) { held.push(c, server); return; }
  c.end();
  await once(c, 'close');
  server.close();
}

async function udp(host, type) {
  const server = dgram.createSocket(type);
  server.on('message', (m, r) => server.send('pong:' + m, r.port, r.address));
  server.bind(0, host);
  await once(server, 'listening');
  const c = dgram.createSocket(type);
  c.bind(0, host);
  await once(c, 'listening');
  c.send('ping', server.address().port, host);
  await once(c, 'message');
  flows.push({ proto: 'udp', src: host, dst: host, sport: c.address().port, dport: server.address().port, open: false });
  c.close();
  server.close();
}

(async () => {
  const hosts = [['127.0.0.1', 'udp4']];
  if (opts.ipv6) hosts.push(['::1', 'udp6']);
  const until = Date.now() + opts.repeatForMs;
  do {
    for (const [host, type] of hosts) {
      if (opts.tcp) await tcp(host, false);
      if (opts.tcp && opts.keepOpen) await tcp(host, true);
      if (opts.udp) await udp(host, type);
    }
  } while (Date.now() < until);
  const done = held.length === 0;
  // Exit only once the line is out: a pipe takes a long line in several writes.
  process.stdout.write(JSON.stringify(flows) + '\n', () => done && process.exit(0));
  if (done) return;
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
})().catch((e) => { console.error(e); process.exit(1); });
`;

/**
 * Makes kernel-created conntrack entries by real loopback traffic inside the
 * namespace: loads CT_STATE_RULESET (once per namespace), then runs TCP and
 * UDP exchanges in a Node process started INSIDE the namespace, and pings.
 * Resolves when every flow exists in the table.
 */
export async function makeTraffic(ns: Netns, options: TrafficOptions = {}): Promise<Traffic> {
  const opts = { tcp: true, udp: true, icmp: true, ipv6: true, keepOpen: false, ruleset: true, repeatForMs: 0, ...options };
  if (opts.ruleset) await ensureCtRuleset(ns);
  const child = ns.spawn(process.execPath, ['-e', TRAFFIC_SCRIPT, JSON.stringify(opts)]);
  const stderr: Buffer[] = [];
  child.stderr!.on('data', (b: Buffer) => stderr.push(b));
  const flows = await readFirstLine(child).then(
    (line) => JSON.parse(line) as TrafficFlow[],
    (e: Error) => {
      throw new Error(`traffic generator failed in ${ns.name}: ${e.message}\n${Buffer.concat(stderr)}`);
    },
  );
  if (opts.icmp) {
    await ns.execOk('ping', ['-n', '-q', '-c', '1', '-W', '2', '127.0.0.1']);
    if (opts.ipv6) await ns.execOk('ping', ['-n', '-q', '-6', '-c', '1', '-W', '2', '::1']);
  }
  if (!opts.keepOpen) await waitExit(child);
  return {
    flows,
    close: async () => {
      child.stdin!.end();
      await waitExit(child);
    },
  };
}

function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return once(child, 'exit').then(() => {});
}

const rulesetLoaded = new WeakSet<Netns>();

/** Loads CT_STATE_RULESET into the namespace unless this process already did. */
export async function ensureCtRuleset(ns: Netns): Promise<void> {
  if (rulesetLoaded.has(ns)) return;
  await ns.nft(CT_STATE_RULESET);
  rulesetLoaded.add(ns);
}

function readFirstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (b: Buffer) => {
      buf += b.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        cleanup();
        resolve(buf.slice(0, nl));
      }
    };
    const onExit = (code: number | null, signal: string | null) => {
      cleanup();
      reject(new Error(`exited (status ${code}, signal ${signal}) before reporting its flows`));
    };
    const cleanup = () => {
      child.stdout!.off('data', onData);
      child.off('close', onExit);
    };
    child.stdout!.on('data', onData);
    // 'close', not 'exit': the line may still sit in the pipe when the child has exited.
    child.on('close', onExit);
  });
}
