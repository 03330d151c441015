/**
 * Differential testing of conntrackd: the reference conntrackd 1.4.7 and the
 * daemon under test run the same scenario on the same kernel state, inside
 * one throw-away network namespace, and their client outputs, statistics,
 * caches, log files and resulting kernel tables must agree after a small,
 * explicit set of masks (maskDaemonText).
 *
 * Two ways to run a scenario:
 *
 *  - side by side (startPair): both daemons run at the same time in the same
 *    namespace, each with its own config, lock, socket and log files. Every
 *    kernel event reaches both, so their caches, counters and destroyed-flow
 *    logs follow the same history, even with real traffic whose ports the
 *    kernel chooses. Requests that only read or change a daemon's own cache
 *    run here, with all four client/daemon pairings (assertPairings).
 *  - one at a time (observeAlone): for requests that change the KERNEL table
 *    (-F, -t), which the other daemon would see too. The state is rebuilt
 *    before each run, as test/diff/framework.ts does for mutating conntrack
 *    commands, and the runs are compared afterwards (Observation).
 *
 * Env: CTD_UNDER_TEST="cmd args..." replaces the daemon under test (default:
 * `node <repo>/bin/conntrackd.js`); CTD_UNDER_TEST=/usr/sbin/conntrackd runs
 * every case reference-vs-reference, which validates the harness itself.
 * CTD_REFERENCE overrides the reference binary path.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Conntrack } from '../../src/api/conntrack';
import { Request, REQUEST_LEN } from '../../src/conntrackd/control/codes';
import type { Flow, Tuple } from '../../src/ctnetlink/flow';
import { runOk, type ExecResult, type Netns } from '../kernel/netns';
import { REPO_ROOT, liftTicks, resetState, snapshot } from './framework';

/** Path of the reference conntrackd 1.4.7 (env CTD_REFERENCE overrides). */
export const REFERENCE_CONNTRACKD = process.env.CTD_REFERENCE ?? '/usr/sbin/conntrackd';

/** A conntrackd implementation: the same program is the daemon and its client. */
export interface Conntrackd {
  name: string;
  argv: readonly string[];
}

export const referenceConntrackd: Conntrackd = { name: 'C', argv: [REFERENCE_CONNTRACKD] };

let cachedSubject: Conntrackd | undefined;

/** The daemon under test. Throws (the case fails, it is not skipped) when ours has not been built. */
export function subjectConntrackd(): Conntrackd {
  if (cachedSubject) return cachedSubject;
  const override = process.env.CTD_UNDER_TEST?.trim();
  if (override) {
    cachedSubject = { name: 'subject', argv: override.split(/\s+/) };
  } else {
    const script = path.join(REPO_ROOT, 'bin/conntrackd.js');
    if (!existsSync(script)) {
      throw new Error(
        `the daemon under test does not exist: ${script} (build conntrack-ts first; ` +
          'CTD_UNDER_TEST=/usr/sbin/conntrackd checks the harness against the reference)',
      );
    }
    cachedSubject = { name: 'ours', argv: [process.execPath, script] };
  }
  return cachedSubject;
}

// ---------------------------------------------------------------------------
// Configuration

export interface DaemonConfig {
  /** `stats` (default): a Stats section; `none`: neither Stats nor Sync; `sync`: a Sync section. */
  mode?: 'stats' | 'none' | 'sync';
  /** Extra lines inside General { }: a Filter block, NetlinkOverrunResync, … */
  general?: string;
  /** The body of the Sync section (mode `sync`). */
  sync?: string;
  /** Whether Stats { LogFile } names a destroyed-flow log (default true). */
  statsLog?: boolean;
}

/** Where one daemon keeps its files: all under a temporary directory of its own. */
export interface DaemonPaths {
  dir: string;
  config: string;
  lock: string;
  socket: string;
  log: string;
  statsLog: string;
}

/** Where a daemon under test keeps its files: all of them in `dir`. */
export function daemonPaths(dir: string): DaemonPaths {
  return {
    dir,
    config: path.join(dir, 'conntrackd.conf'),
    lock: path.join(dir, 'lock'),
    socket: path.join(dir, 'ctl.sock'),
    log: path.join(dir, 'conntrackd.log'),
    statsLog: path.join(dir, 'stats.log'),
  };
}

/**
 * The config file text. The scheduler is pinned to the lowest real-time
 * priority: without a Scheduler block 1.4.7 runs at SCHED_RR 99, which a
 * large start-up dump would turn into a stall of a shared test machine.
 */
export function configText(paths: DaemonPaths, cfg: DaemonConfig = {}): string {
  const mode = cfg.mode ?? 'stats';
  const general = [
    'General {',
    `\tLockFile ${paths.lock}`,
    `\tUNIX {\n\t\tPath ${paths.socket}\n\t}`,
    `\tLogFile ${paths.log}`,
    '\tScheduler {\n\t\tType RR\n\t\tPriority 1\n\t}',
    ...(cfg.general ? [cfg.general] : []),
    '}',
  ];
  const section =
    mode === 'stats'
      ? ['Stats {', ...(cfg.statsLog === false ? [] : [`\tLogFile ${paths.statsLog}`]), '}']
      : mode === 'sync'
        ? ['Sync {', cfg.sync ?? '', '}']
        : [];
  return [...general, ...section, ''].join('\n');
}

// ---------------------------------------------------------------------------
// Control socket

/**
 * Sends one request code on the control socket and resolves with the whole
 * reply (the daemon closes the connection when it is done). Used to wait for
 * a daemon to be ready without involving either client.
 */
export function controlRequest(socket: string, code: Request, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const conn = connect(socket);
    const timer = setTimeout(() => {
      conn.destroy();
      reject(new Error(`${socket}: no complete reply to request ${code} within ${timeoutMs} ms`));
    }, timeoutMs);
    conn.on('connect', () => {
      const req = Buffer.alloc(REQUEST_LEN);
      req.writeInt32LE(code);
      conn.write(req);
    });
    conn.on('data', (b: Buffer) => chunks.push(b));
    conn.on('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
    conn.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

// ---------------------------------------------------------------------------
// Daemons

const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;
/** A client that hangs is killed after this long (and reported as hung), not after the generic 60 s. */
const CLIENT_TIMEOUT_MS = 10_000;

/** One running daemon, in the foreground (no -d) inside the namespace. */
export class Daemon {
  private readonly console: Buffer[] = [];
  private exited = false;

  private constructor(
    readonly ns: Netns,
    readonly impl: Conntrackd,
    readonly paths: DaemonPaths,
    private readonly child: ChildProcess,
  ) {
    child.stdout!.on('data', (b: Buffer) => this.console.push(b));
    child.once('exit', () => (this.exited = true));
  }

  /**
   * Writes the config, starts the daemon and resolves once its control socket
   * answers a request (1.4.7 listens only after its start-up dump of the
   * kernel table, so the cache is complete by then). Throws with the daemon's
   * own output if it exits or does not answer in time.
   */
  static async start(ns: Netns, impl: Conntrackd, cfg: DaemonConfig = {}): Promise<Daemon> {
    const paths = daemonPaths(await mkdtemp(path.join(tmpdir(), 'ctd-')));
    await writeFile(paths.config, configText(paths, cfg));
    return Daemon.launch(ns, impl, paths);
  }

  /**
   * A stopped daemon started again with the same config, so on the same
   * control socket path: a restart, as clients of the socket see it. The
   * directory is the new daemon's to dispose of.
   */
  async restart(): Promise<Daemon> {
    if (!this.exited) throw new Error('restart() wants a stopped daemon');
    return Daemon.launch(this.ns, this.impl, this.paths);
  }

  private static async launch(ns: Netns, impl: Conntrackd, paths: DaemonPaths): Promise<Daemon> {
    const [program, ...args] = impl.argv;
    // One pipe for stdout and stderr (the shell's 2>&1), so the console keeps the
    // daemon's own order of notices and warnings; two pipes read here would race.
    const daemon = new Daemon(ns, impl, paths, ns.spawn('sh', ['-c', 'exec "$@" 2>&1', 'sh', program!, ...args, '-C', paths.config]));
    const deadline = performance.now() + START_TIMEOUT_MS;
    for (;;) {
      if (daemon.exited) {
        await daemon.dispose();
        throw new Error(`${impl.name} conntrackd exited during start-up:\n${daemon.consoleText()}`);
      }
      if (existsSync(paths.socket)) {
        const ok = await controlRequest(paths.socket, Request.STATS).then(
          () => true,
          () => false,
        );
        if (ok) return daemon;
      }
      if (performance.now() > deadline) {
        await daemon.dispose();
        throw new Error(`${impl.name} conntrackd did not answer on ${paths.socket} within ${START_TIMEOUT_MS} ms:\n${daemon.consoleText()}`);
      }
      await sleep(50);
    }
  }

  /** Runs `by -C <this config> args` (by default this daemon's own client) in the namespace. */
  client(args: readonly string[], by: Conntrackd = this.impl): Promise<ExecResult> {
    const [program, ...rest] = by.argv;
    return this.ns.exec(program!, [...rest, '-C', this.paths.config, ...args], { timeoutMs: CLIENT_TIMEOUT_MS });
  }

  /** The internal cache (`-i` through this daemon's own client), one entry a line. */
  async cacheLines(): Promise<string[]> {
    const r = await this.client(['-i']);
    return r.stdout.toString('latin1').split('\n').filter((l) => l !== '');
  }

  /** What the daemon printed on stdout and stderr (its console-mode log). */
  consoleText(): string {
    return Buffer.concat(this.console).toString('latin1');
  }

  /** Contents of a file of the daemon ('' if it does not exist). */
  async file(which: 'log' | 'statsLog'): Promise<string> {
    return readFile(this.paths[which], 'latin1').catch(() => '');
  }

  /**
   * Stops the daemon with `-k` sent by `by`, waits for the process to exit by
   * itself and returns the client's result and what was left in the
   * daemon's directory besides its config and logs (1.4.7 removes its socket
   * and lock file). Throws if the process is still there after the timeout.
   */
  async stop(by: Conntrackd = this.impl): Promise<{ client: ExecResult; leftovers: string[] }> {
    const client = await this.client(['-k'], by);
    const gone = await this.waitExit(STOP_TIMEOUT_MS);
    if (!gone) {
      await this.dispose();
      throw new Error(`${this.impl.name} conntrackd still running ${STOP_TIMEOUT_MS} ms after -k (${by.name} client)`);
    }
    const leftovers = [this.paths.socket, this.paths.lock].filter((p) => existsSync(p)).map((p) => path.basename(p));
    return { client, leftovers };
  }

  /** Kills the daemon if it still runs and removes its directory. Idempotent. */
  async dispose(): Promise<void> {
    if (!this.exited) {
      this.child.kill('SIGKILL');
      await this.waitExit(STOP_TIMEOUT_MS);
    }
    await rm(this.paths.dir, { recursive: true, force: true });
  }

  private async waitExit(ms: number): Promise<boolean> {
    if (this.exited) return true;
    const timer = sleep(ms).then(() => false);
    return Promise.race([once(this.child, 'exit').then(() => true), timer]);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * Polls `check` until it returns true; resolves false (does not throw) after
 * `ms`, so that the comparison that follows reports what actually differs.
 */
export async function settle(check: () => Promise<boolean>, ms = 5000): Promise<boolean> {
  const deadline = performance.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (performance.now() > deadline) return false;
    await sleep(50);
  }
}

/** Retries an assertion until it passes, rethrowing its last failure after `ms`. */
export async function eventually(assertion: () => Promise<void>, ms = 5000): Promise<void> {
  const deadline = performance.now() + ms;
  for (;;) {
    try {
      await assertion();
      return;
    } catch (e) {
      if (performance.now() > deadline) throw e;
      await sleep(100);
    }
  }
}

// ---------------------------------------------------------------------------
// Normalization

/** `[Mon Dec  7 01:25:14 2026] (pid=6059) ` at the start of a log line. */
const LOG_PREFIX = /^\[[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}\] \(pid=\d+\) /gm;
/** The ctime() date and TAB that start a destroyed-flow log line. */
const CTIME_PREFIX = /^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}\t/gm;
const ACTIVE_SINCE = / \[active since \d+s\]/g;
const UPTIME = /^(daemon uptime: ).*$/gm;

/**
 * Masks what is a property of the moment and the process, not of the
 * behaviour: log dates and pids, the date of a destroyed-flow log line, the
 * age of a cache entry and the daemon's uptime.
 */
export function maskDaemonText(text: string): string {
  return text
    .replace(LOG_PREFIX, '[DATE] (pid=PID) ')
    .replace(CTIME_PREFIX, 'DATE\t')
    .replace(ACTIVE_SINCE, ' [active since Ns]')
    .replace(UPTIME, '$1UPTIME');
}

/**
 * Lines in sorted order: a cache dump walks a hash table whose seed differs
 * between processes, so only the set of lines is comparable.
 */
export function sortLines(text: string): string {
  const lines = text.split('\n').filter((l) => l !== '');
  return lines.length === 0 ? '' : lines.sort().join('\n') + '\n';
}

export interface CompareOptions {
  /** Compare stdout as a sorted set of lines (dumps). */
  sort?: boolean;
  /** A further mask for stdout and stderr of both sides (documents a known nondeterminism). */
  mask?: (text: string) => string;
  /** The request only reads: the four pairings may run at the same time. */
  readOnly?: boolean;
}

/** A client run's stdout, stderr and status after the masks (and sorting, if asked). */
export function normalizeResult(r: ExecResult, opts: CompareOptions = {}): { stdout: string; stderr: string; status: number | null } {
  const mask = (text: string): string => (opts.mask ?? ((s: string) => s))(maskDaemonText(text));
  const stdout = mask(r.stdout.toString('latin1'));
  return {
    stdout: opts.sort ? sortLines(stdout) : stdout,
    stderr: mask(r.stderr.toString('latin1')),
    status: r.status,
  };
}

/** Asserts that two client runs agree after normalization. */
export function assertSameResult(what: string, expected: ExecResult, actual: ExecResult, opts: CompareOptions = {}): void {
  assert.ok(!expected.timedOut && !actual.timedOut, `${what}: a client hung and was killed`);
  assert.deepEqual(normalizeResult(actual, opts), normalizeResult(expected, opts), `${what} differs`);
}

// ---------------------------------------------------------------------------
// Side by side

/** The reference daemon and the daemon under test, running in one namespace. */
export interface Pair {
  ref: Daemon;
  sub: Daemon;
}

/**
 * Starts both daemons with the same config (or one per side, e.g. for a sync
 * port each); they are killed, if still running, in the test's after() hook.
 */
export async function startPair(
  t: { after(fn: () => Promise<void>): void },
  ns: Netns,
  cfg: DaemonConfig | ((side: 'ref' | 'sub') => DaemonConfig) = {},
): Promise<Pair> {
  const configOf = typeof cfg === 'function' ? cfg : () => cfg;
  const ref = await Daemon.start(ns, referenceConntrackd, configOf('ref'));
  t.after(() => ref.dispose());
  const sub = await Daemon.start(ns, subjectConntrackd(), configOf('sub'));
  t.after(() => sub.dispose());
  return { ref, sub };
}

/**
 * Runs one client command with all four pairings — the C client and the
 * client under test, each against the C daemon and the daemon under test —
 * and asserts that every result equals the C client's against the C daemon.
 * Each daemon gets the same sequence of requests (C client first), so
 * requests that change a daemon's cache leave both in the same state;
 * read-only requests run all four at once.
 * Returns the reference result.
 */
export async function assertPairings(pair: Pair, args: readonly string[], opts: CompareOptions = {}): Promise<ExecResult> {
  const ours = pair.sub.impl;
  const pairings = [pair.ref, pair.sub].flatMap((daemon) => [referenceConntrackd, ours].map((client) => ({ daemon, client })));
  const runOne = async ({ daemon, client }: (typeof pairings)[number]): Promise<[string, ExecResult]> => [
    `${client.name} client -> ${daemon.impl.name} daemon`,
    await daemon.client(args, client),
  ];
  const runs: [string, ExecResult][] = [];
  if (opts.readOnly) runs.push(...(await Promise.all(pairings.map(runOne))));
  else for (const p of pairings) runs.push(await runOne(p));
  const [, baseline] = runs[0]!;
  for (const [who, r] of runs.slice(1)) assertSameResult(`conntrackd ${args.join(' ')} (${who})`, baseline, r, opts);
  return baseline;
}

/** Waits until the reference's cache holds `n` entries, then until the subject's cache equals it. */
export async function assertSameCache(pair: Pair, n: number): Promise<void> {
  const reached = await settle(async () => (await pair.ref.cacheLines()).length === n);
  assert.ok(reached, `the reference cache did not reach ${n} entries: ${(await pair.ref.cacheLines()).join('\n')}`);
  await eventually(async () => {
    await assertPairings(pair, ['-i'], { sort: true, readOnly: true });
  });
}

/** Asserts that a file of both daemons has the same lines (masked; sorted if asked). */
export async function assertSameFile(pair: Pair, which: 'log' | 'statsLog', opts: CompareOptions = {}): Promise<void> {
  const mask = opts.mask ?? ((s: string) => s);
  const prep = (s: string): string => (opts.sort ? sortLines(mask(maskDaemonText(s))) : mask(maskDaemonText(s)));
  assert.equal(prep(await pair.sub.file(which)), prep(await pair.ref.file(which)), `${which} differs`);
}

// ---------------------------------------------------------------------------
// One at a time

/** What one daemon run left: client results, kernel table, cache, stats and logs. */
export interface Observation {
  results: ExecResult[];
  table: string;
  cache: string;
  stats: string;
  statsLog: string;
  /** The daemon's LogFile, masked. */
  log: string;
}

export interface AloneSpec {
  cfg: DaemonConfig;
  /** Builds the kernel state before the daemon starts (called once per run, on an empty table). */
  setup: (ns: Netns) => Promise<void>;
  /** The client commands, run in order by the chosen client. */
  commands: readonly (readonly string[])[];
  /** When the commands' effect is complete (e.g. the kernel table has N entries left). */
  settled: (ns: Netns, daemon: Daemon) => Promise<boolean>;
  /** A further mask for -s and the logs (documents a known nondeterminism). */
  mask?: (text: string) => string;
}

/**
 * One run of a kernel-changing scenario: empty the table, build the state,
 * start `impl`, run the commands with `client`'s client, wait until settled,
 * observe everything, stop. Ticking timeouts in the table are masked.
 */
export async function observeAlone(ns: Netns, spec: AloneSpec, impl: Conntrackd, client: Conntrackd): Promise<Observation> {
  await resetState(ns);
  await spec.setup(ns);
  const daemon = await Daemon.start(ns, impl, spec.cfg);
  try {
    const results: ExecResult[] = [];
    for (const argv of spec.commands) results.push(await daemon.client(argv, client));
    await settle(() => spec.settled(ns, daemon));
    const mask = (text: string): string => (spec.mask ?? ((t: string) => t))(maskDaemonText(text));
    const [cache, stats] = await Promise.all([daemon.client(['-i']), daemon.client(['-s'])]);
    const obs: Observation = {
      results,
      table: liftTicks(await snapshot(ns)).text,
      cache: sortLines(mask(cache.stdout.toString('latin1'))),
      stats: mask(stats.stdout.toString('latin1')),
      statsLog: sortLines(mask(await daemon.file('statsLog'))),
      log: '',
    };
    await daemon.stop();
    obs.log = mask(await daemon.file('log'));
    return obs;
  } finally {
    await daemon.dispose();
  }
}

/** Asserts two observations agree; `what` names the run being checked. */
export function assertSameObservation(what: string, expected: Observation, actual: Observation): void {
  assert.equal(actual.results.length, expected.results.length);
  expected.results.forEach((r, i) => assertSameResult(`${what}: command #${i + 1}`, r, actual.results[i]!));
  assert.equal(actual.table, expected.table, `${what}: resulting kernel table differs`);
  assert.equal(actual.cache, expected.cache, `${what}: internal cache differs`);
  assert.equal(actual.stats, expected.stats, `${what}: -s differs`);
  assert.equal(actual.statsLog, expected.statsLog, `${what}: stats LogFile differs`);
  assert.equal(actual.log, expected.log, `${what}: LogFile differs`);
}

/**
 * Runs a kernel-changing scenario with each of the four client/daemon
 * pairings in turn and asserts the three runs involving the subject equal
 * the C client's against the C daemon.
 */
export async function assertAloneRuns(ns: Netns, spec: AloneSpec): Promise<Observation> {
  const ours = subjectConntrackd();
  const ref = await observeAlone(ns, spec, referenceConntrackd, referenceConntrackd);
  assertSameObservation('our client -> C daemon', ref, await observeAlone(ns, spec, referenceConntrackd, ours));
  assertSameObservation('C client -> our daemon', ref, await observeAlone(ns, spec, ours, referenceConntrackd));
  assertSameObservation('our client -> our daemon', ref, await observeAlone(ns, spec, ours, ours));
  return ref;
}

/** Number of entries in the namespace's kernel table. */
export async function kernelCount(ns: Netns): Promise<number> {
  const r = await ns.execOk('cat', ['/proc/sys/net/netfilter/nf_conntrack_count']);
  return Number(r.stdout.toString().trim());
}

// ---------------------------------------------------------------------------
// Flows made through our library

const TCP = 6;
const UDP = 17;
const ICMP = 1;
const ICMPV6 = 58;
const SCTP = 132;
const DCCP = 33;
const GRE = 47;
const TCP_ESTABLISHED = 3;
const TCP_SYN_SENT = 1;
const TCP_TIME_WAIT = 7;
const SCTP_ESTABLISHED = 4;
const DCCP_OPEN = 4;

/** The reply tuple of a flow nobody NATs: the original one, turned around. */
function inverse(t: Tuple): Tuple {
  if (t.icmpType !== undefined) {
    // Echo request (8 / 128) is answered by echo reply (0 / 129).
    return { ...t, src: t.dst, dst: t.src, icmpType: t.icmpType === 8 ? 0 : t.icmpType === 128 ? 129 : t.icmpType };
  }
  return { ...t, src: t.dst, dst: t.src, sport: t.dport, dport: t.sport };
}

/** A flow whose reply tuple is the inverse of `orig` (the kernel rewrites it when NAT is asked for). */
export function libraryFlow(orig: Tuple, extra: Partial<Flow> = {}): Flow {
  return { family: orig.l3 ?? 2, orig, reply: inverse(orig), timeout: 6000, ...extra };
}

const v4 = (src: string, dst: string, proto: number, sport?: number, dport?: number): Tuple => ({ l3: 2, src, dst, proto, sport, dport });
const v6 = (src: string, dst: string, proto: number, sport?: number, dport?: number): Tuple => ({ l3: 10, src, dst, proto, sport, dport });

/**
 * Flows with exactly known tuples, marks, zones, NAT and protocols: what
 * real loopback traffic cannot make. Timeouts are long so nothing expires
 * mid-case.
 */
export const LIBRARY_FLOWS: readonly Flow[] = [
  libraryFlow(v4('10.0.0.1', '10.0.0.2', TCP, 1111, 80), { tcp: { state: TCP_ESTABLISHED }, status: 0x0e, mark: 7 }),
  libraryFlow(v4('10.0.0.1', '10.0.0.3', UDP, 2222, 53), { mark: 2 }),
  libraryFlow({ l3: 2, src: '10.0.0.1', dst: '10.0.0.4', proto: ICMP, icmpType: 8, icmpCode: 0, icmpId: 77 }),
  libraryFlow(v4('10.0.0.1', '10.0.0.5', SCTP, 3333, 3868), { sctp: { state: SCTP_ESTABLISHED, vtagOrig: 1, vtagReply: 2 } }),
  libraryFlow(v4('10.0.0.1', '10.0.0.6', DCCP, 4444, 5004), { dccp: { state: DCCP_OPEN, role: 0 } }),
  libraryFlow(v4('10.0.0.1', '10.0.0.7', GRE, 0x10, 0x20)),
  libraryFlow(v4('10.0.0.1', '10.0.0.8', UDP, 7, 7), { zone: 3 }),
  libraryFlow(v4('10.0.0.1', '10.0.0.9', TCP, 9, 9), { tcp: { state: TCP_SYN_SENT } }),
  libraryFlow(v4('10.1.2.3', '10.2.0.1', TCP, 5555, 22), { tcp: { state: TCP_TIME_WAIT }, mark: 0x12 }),
  libraryFlow(v4('192.168.1.10', '8.8.8.8', TCP, 4000, 80), { tcp: { state: TCP_ESTABLISHED }, natSrc: { minIp: '203.0.113.1' } }),
  libraryFlow(v4('8.8.4.4', '203.0.113.1', TCP, 5000, 8080), {
    tcp: { state: TCP_ESTABLISHED },
    natDst: { minIp: '192.168.1.20', minPort: 80, maxPort: 80 },
  }),
  libraryFlow(v6('2001:db8::1', '2001:db8::2', TCP, 1234, 443), { tcp: { state: TCP_ESTABLISHED }, status: 0x0a }),
  libraryFlow({ l3: 10, src: '2001:db8::1', dst: '2001:db8::2', proto: ICMPV6, icmpType: 128, icmpCode: 0, icmpId: 99 }),
  libraryFlow(v6('2001:db8::10', '2001:db8:1::20', UDP, 5353, 53), { mark: 7 }),
];

/** Creates flows in the namespace's table through our library, one after the other (a known insertion order). */
export async function createFlows(ns: Netns, flows: readonly Flow[]): Promise<void> {
  const ct = Conntrack.open({ netns: ns.name });
  try {
    for (const flow of flows) await ct.create(flow);
  } finally {
    ct.close();
  }
}

/** Deletes flows (by original tuple and zone) through our library. */
export async function deleteFlows(ns: Netns, flows: readonly Flow[]): Promise<void> {
  const ct = Conntrack.open({ netns: ns.name });
  try {
    for (const flow of flows) await ct.delete(flow);
  } finally {
    ct.close();
  }
}

/** Loads the nf_conntrack helpers of the protocols LIBRARY_FLOWS uses (a no-op where they are built in). */
export async function loadProtocolModules(): Promise<void> {
  for (const mod of ['nf_conntrack', 'nf_nat', 'nf_conntrack_proto_gre']) await runOk('sh', ['-c', `modprobe ${mod} 2>/dev/null || true`]);
}
