/**
 * conntrackd's command line and process life against 1.4.7: usage, version,
 * unknown options, bad arguments, config errors, "can't connect", the
 * console of a foreground daemon, a second daemon refused by the lock file,
 * and requests the control socket must survive (unknown codes, a client that
 * leaves before its request is complete). Exit status, stdout and stderr
 * must be equal after masking log dates, pids and the program name.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { Request } from '../../src/conntrackd/control/codes';
import { withNetns, type ExecResult, type Netns } from '../kernel/netns';
import {
  assertSameResult,
  configText,
  controlRequest,
  referenceConntrackd,
  startPair,
  subjectConntrackd,
  type Conntrackd,
  type Daemon,
  type DaemonPaths,
} from './conntrackd-harness';

/** 1.4.7 prints argv[0] in its usage: `/usr/sbin/conntrackd` for one, a script's name for the other. */
const maskProgram = (text: string): string => text.replace(/^Usage: \S+ /m, 'Usage: PROG ');

function runBoth(ns: Netns, args: readonly string[]): Promise<[ExecResult, ExecResult]> {
  const run = (impl: Conntrackd): Promise<ExecResult> => {
    const [program, ...rest] = impl.argv;
    return ns.exec(program!, [...rest, ...args], { timeoutMs: 10_000 });
  };
  return Promise.all([run(referenceConntrackd), run(subjectConntrackd())]);
}

async function assertSameRun(ns: Netns, args: readonly string[]): Promise<ExecResult> {
  const [ref, sub] = await runBoth(ns, args);
  assertSameResult(`conntrackd ${args.join(' ')}`, ref, sub, { mask: maskProgram });
  return ref;
}

/** A directory of config files: every one names a socket and a lock file no daemon uses. */
async function configs(t: { after(fn: () => Promise<void>): void }): Promise<Record<string, string>> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ctd-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const paths = (name: string): DaemonPaths => ({
    dir,
    config: path.join(dir, `${name}.conf`),
    lock: path.join(dir, `${name}.lock`),
    socket: path.join(dir, `${name}.sock`),
    log: path.join(dir, `${name}.log`),
    statsLog: path.join(dir, `${name}.stats`),
  });
  const files: Record<string, string> = {
    ok: configText(paths('ok'), { mode: 'none' }),
    backlog: configText(paths('backlog'), { mode: 'none' }).replace('\t}', '\t\tBacklog 20\n\t}'),
    nounix: 'General {\n\tLockFile /nonexistent/lock\n}\n',
    syntax: 'General {\n\tBogus 1\n}\n',
    badlog: configText({ ...paths('badlog'), log: path.join(dir, 'missing', 'log') }, { mode: 'none' }),
    badsocket: configText({ ...paths('badsocket'), socket: path.join(dir, 'missing', 'sock') }, { mode: 'none' }),
  };
  const out: Record<string, string> = { dir, missing: path.join(dir, 'missing.conf') };
  for (const [name, text] of Object.entries(files)) {
    out[name] = path.join(dir, `${name}.conf`);
    await writeFile(out[name]!, text);
  }
  await mkdir(path.join(dir, 'subdir'));
  out.directory = path.join(dir, 'subdir');
  return out;
}

/** Arguments that never reach a config file: texts and exit codes of the parser alone. */
const PARSER_CASES = ['-h', '-v', '-Z', '--json', '-x', '-i -x -x', '-d -s', '-c foo', '-s bogus', '-f bogus', '-i xd'];

/** Each daemon of a pair has a directory of its own. */
const maskDir = (text: string): string => text.replace(/\/ctd-\w+\//g, '/ctd-DIR/');

/** Runs `check` on every item, a few at a time: each case is two process start-ups. */
async function eachConcurrently<T>(items: readonly T[], check: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const worker = async (): Promise<void> => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await check(item);
  };
  await Promise.all([worker(), worker(), worker()]);
}

test('command line errors, -h and -v: same texts and exit codes as 1.4.7', async (t) => {
  const ns = await withNetns(t, 'ctd-cli-args');
  await eachConcurrently(PARSER_CASES, async (c) => void (await assertSameRun(ns, c.split(' '))));
});

/** Client commands with no daemon behind the socket, and config files 1.4.7 refuses or warns about. */
const CLIENT_CASES = [
  'ok -s', 'ok -s m', 'ok -f e', 'ok -i -x', 'ok -i ct2', 'backlog -s', 'nounix -s', 'syntax -s', 'missing -s',
  'directory -s', 'missing', 'badlog', 'badlog -d', 'missing -d', 'badsocket',
];

test("client without a daemon, config errors: can't connect, can't open, syntax error", async (t) => {
  const ns = await withNetns(t, 'ctd-cli-client');
  const files = await configs(t);
  await eachConcurrently(CLIENT_CASES, async (c) => {
    const [name, ...rest] = c.split(' ');
    const r = await assertSameRun(ns, ['-C', files[name!]!, ...rest.map((w) => (w === '""' ? '' : w))]);
    if (c === 'ok -s') assert.equal(r.status, 1, "the reference must fail with can't connect");
  });
});

/** Sends raw bytes on the control socket and resolves with the reply once the daemon closes. */
function rawRequest(socket: string, bytes: Buffer, end = false): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const conn = connect(socket, () => (end ? conn.end(bytes) : conn.write(bytes)));
    conn.on('data', (b: Buffer) => chunks.push(b));
    conn.on('error', reject);
    conn.on('close', () => resolve(Buffer.concat(chunks)));
  });
}

function code(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(n);
  return b;
}

/** Runs `impl -C <daemon's config> args` (a second daemon, say) while `daemon` runs. */
function runWith(daemon: Daemon, impl: Conntrackd, args: readonly string[]): Promise<ExecResult> {
  const [program, ...rest] = impl.argv;
  return daemon.ns.exec(program!, [...rest, '-C', daemon.paths.config, ...args], { timeoutMs: 10_000 });
}

test('a running daemon: second daemon refused, odd requests survived, console and log as 1.4.7', async (t) => {
  const ns = await withNetns(t, 'ctd-cli-daemon');
  const pair = await startPair(t, ns, { mode: 'none' });

  const second = await Promise.all([runWith(pair.ref, referenceConntrackd, []), runWith(pair.sub, pair.sub.impl, [])]);
  assert.equal(second[0].status, 1);
  assertSameResult('a second daemon with the same lock file', second[0], second[1], { mask: maskDir });

  for (const d of [pair.ref, pair.sub]) {
    // Unknown codes (27 is a hole in 1.4.7's table) get an empty reply.
    for (const n of [27, 49, 999, -1]) assert.equal((await rawRequest(d.paths.socket, code(n))).length, 0, `${d.impl.name}: code ${n}`);
    // Fewer than 4 bytes, then the client half-closes or just goes away: dropped, the daemon serves on.
    assert.equal((await rawRequest(d.paths.socket, Buffer.from([Request.STATS]), true)).length, 0);
    await new Promise<void>((resolve) => connect(d.paths.socket, function (this: ReturnType<typeof connect>) {
      this.destroy();
      resolve();
    }));
    await controlRequest(d.paths.socket, Request.STATS);
  }

  // Our JSON statistics: 1.4.7 answers the unknown code with nothing, which our client says in one line.
  const jsonFromC = await runWith(pair.ref, pair.sub.impl, ['-s', '--json']);
  assert.deepEqual([jsonFromC.status, jsonFromC.stdout.toString()], [1, '']);
  assert.match(jsonFromC.stderr.toString(), /\[ERROR\] the daemon sent no JSON: it does not know this extension/);
  const json = await runWith(pair.sub, pair.sub.impl, ['-s', 'runtime', '--json']);
  assert.equal(json.status, 0, json.stderr.toString());
  assert.equal((JSON.parse(json.stdout.toString()) as { kind: string }).kind, 'runtime');

  const ref = await pair.ref.stop(pair.sub.impl);
  const sub = await pair.sub.stop(referenceConntrackd);
  assert.deepEqual([ref.leftovers, sub.leftovers], [[], []], 'socket and lock file removed after -k');
  assertSameResult('-k', ref.client, sub.client);
  const maskLog = (text: string): string => maskDir(text.replace(/^\[.*?\] \(pid=\d+\) /gm, '[DATE] (pid=PID) '));
  assert.equal(maskLog(pair.sub.consoleText()), maskLog(pair.ref.consoleText()), 'foreground console');
  assert.equal(maskLog(await pair.sub.file('log')), maskLog(await pair.ref.file('log')), 'LogFile');
});

test('a scheduler the kernel refuses: the same warning, and the daemon runs on', async (t) => {
  const ns = await withNetns(t, 'ctd-cli-sched');
  // SCHED_FIFO has no priority 0: sched_setscheduler() fails with EINVAL.
  const pair = await startPair(t, ns, { mode: 'none', general: '\tScheduler {\n\t\tType FIFO\n\t\tPriority 0\n\t}' });
  await pair.ref.stop();
  await pair.sub.stop();
  const maskLog = (text: string): string => maskDir(text.replace(/^\[.*?\] \(pid=\d+\) /gm, '[DATE] (pid=PID) '));
  assert.match(pair.ref.consoleText(), /\[warning\] scheduler configuration failed: Invalid argument/);
  assert.equal(maskLog(pair.sub.consoleText()), maskLog(pair.ref.consoleText()), 'foreground console');
});
