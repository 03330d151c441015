/**
 * The daemon's process life beyond what 1.4.7 can be compared on: a stale
 * lock file taken over, a stale socket replaced, the socket's mode, clean
 * exits on SIGTERM and SIGINT, `-d` (detached, ready when the parent exits,
 * stopped by -k) and systemd's READY/WATCHDOG/STOPPING notifications. Each
 * test runs our daemon (no mode: nothing but the shell) in its own namespace
 * with its own files.
 */
import { strict as assert } from 'node:assert';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { sendUnixDatagram } from '../../src/api/unix-datagram';
import { Request } from '../../src/conntrackd/control/codes';
import { syslogSink } from '../../src/conntrackd/daemon/syslog';
import { configText, controlRequest, subjectConntrackd, type DaemonPaths } from '../diff/conntrackd-harness';
import { withNetns, type Netns } from './netns';
import { until } from './wait';

interface Setup {
  ns: Netns;
  paths: DaemonPaths;
  /** `node bin/conntrackd.js -C <config> ...args`, run in the namespace (env: extra variables). */
  argv(args?: readonly string[], env?: Record<string, string>): [string, string[]];
}

async function setup(t: TestContext, name: string): Promise<Setup> {
  const ns = await withNetns(t, name);
  const dir = await mkdtemp(path.join(tmpdir(), 'ctd-proc-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const paths: DaemonPaths = {
    dir,
    config: path.join(dir, 'conntrackd.conf'),
    lock: path.join(dir, 'lock'),
    socket: path.join(dir, 'ctl.sock'),
    log: path.join(dir, 'conntrackd.log'),
    statsLog: path.join(dir, 'stats.log'),
  };
  await writeFile(paths.config, configText(paths, { mode: 'none' }));
  const [program, ...rest] = subjectConntrackd().argv;
  return {
    ns,
    paths,
    argv: (args = [], env = {}) => ['env', [...Object.entries(env).map(([k, v]) => `${k}=${v}`), program!, ...rest, '-C', paths.config, ...args]],
  };
}

const answers = (socket: string): Promise<boolean> => controlRequest(socket, Request.STATS, 2000).then(() => true, () => false);

/** Starts the foreground daemon and waits until its control socket answers. */
async function start(s: Setup, env?: Record<string, string>): Promise<ChildProcess> {
  const [cmd, args] = s.argv([], env);
  const child = s.ns.spawn(cmd, args);
  const output: Buffer[] = [];
  child.stdout!.on('data', (b: Buffer) => output.push(b));
  child.stderr!.on('data', (b: Buffer) => output.push(b));
  assert.ok(await until(() => answers(s.paths.socket), 15_000), `the daemon did not start:\n${Buffer.concat(output)}`);
  return child;
}

async function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const [code] = (await once(child, 'exit')) as [number | null];
  return code;
}

/** A pid that was alive a moment ago and is not any more. */
async function deadPid(): Promise<number> {
  const { spawn } = await import('node:child_process');
  const child = spawn('true');
  await once(child, 'exit');
  return child.pid!;
}

test("a dead daemon's lock file is taken over, saying so; the new one holds our pid", async (t) => {
  const s = await setup(t, 'ctd-proc-lock');
  const dead = await deadPid();
  await writeFile(s.paths.lock, `${dead}\n`);
  const child = await start(s);
  const log = await readFile(s.paths.log, 'utf8');
  assert.match(log, new RegExp(`\\[warning\\] lockfile \`${s.paths.lock}' was left by process ${dead}, which is no longer running: taken over`));
  const owner = Number((await readFile(s.paths.lock, 'utf8')).trim());
  assert.notEqual(owner, dead);
  process.kill(owner, 0); // the owner is the running daemon
  child.kill('SIGTERM');
  assert.equal(await exitOf(child), 0);
});

test('a stale socket file is replaced; the socket is 0600; SIGTERM removes socket and lock', async (t) => {
  const s = await setup(t, 'ctd-proc-sock');
  await writeFile(s.paths.socket, 'left behind by a crash');
  const child = await start(s);
  const st = await stat(s.paths.socket);
  assert.ok(st.isSocket(), 'a socket now');
  assert.equal(st.mode & 0o777, 0o600);
  assert.equal((await stat(s.paths.lock)).mode & 0o777, 0o600);
  child.kill('SIGTERM');
  assert.equal(await exitOf(child), 0);
  assert.deepEqual([existsSync(s.paths.socket), existsSync(s.paths.lock)], [false, false]);
  assert.match(await readFile(s.paths.log, 'utf8'), /\[notice\] ---- shutdown received ----\n$/);
});

test('SIGINT stops the daemon as cleanly', async (t) => {
  const s = await setup(t, 'ctd-proc-int');
  const child = await start(s);
  child.kill('SIGINT');
  assert.equal(await exitOf(child), 0);
  assert.deepEqual([existsSync(s.paths.socket), existsSync(s.paths.lock)], [false, false]);
});

test('SIGUSR1 ends the daemon as it ends 1.4.7 (no debugger opens)', async (t) => {
  const s = await setup(t, 'ctd-proc-usr1');
  const child = await start(s);
  child.kill('SIGUSR1');
  assert.ok(await until(() => child.signalCode !== null || child.exitCode !== null, 5_000), 'still running after SIGUSR1');
  assert.equal(child.signalCode, 'SIGUSR1');
});

test('-d: the parent exits once the daemon answers; it runs in its own session until -k', async (t) => {
  const s = await setup(t, 'ctd-proc-detach');
  const [cmd, args] = s.argv(['-d']);
  const parent = await s.ns.exec(cmd, args, { timeoutMs: 20_000 });
  assert.deepEqual([parent.status, parent.stdout.toString(), parent.stderr.toString()], [0, '', '']);
  // Ready means ready: no waiting between `conntrackd -d` and the first request.
  assert.ok(await answers(s.paths.socket), 'the socket answers as soon as the parent has exited');
  const pid = Number((await readFile(s.paths.lock, 'utf8')).trim());
  t.after(() => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Stopped by -k, as it should.
    }
  });
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  assert.equal(stat[3], String(pid), 'session leader (setsid)');
  assert.match(await readFile(s.paths.log, 'utf8'), /\[notice\] -- starting in daemon mode --\n/);
  const [kcmd, kargs] = s.argv(['-k']);
  assert.equal((await s.ns.exec(kcmd, kargs)).status, 0);
  assert.ok(await until(() => !existsSync(`/proc/${pid}`), 10_000), 'the daemon is gone after -k');
  assert.deepEqual([existsSync(s.paths.socket), existsSync(s.paths.lock)], [false, false]);
});

test('-d: a daemon that cannot start fails the parent with its status and message', async (t) => {
  const s = await setup(t, 'ctd-proc-detach-fail');
  await writeFile(s.paths.lock, '');
  const [cmd, args] = s.argv(['-d']);
  const parent = await s.ns.exec(cmd, args, { timeoutMs: 20_000 });
  assert.equal(parent.status, 1);
  // As 1.4.7's: with -d the lock error goes to the log only.
  assert.equal(parent.stderr.toString(), '');
  assert.match(await readFile(s.paths.log, 'utf8'), /\[ERROR\] lockfile `.*' exists, perhaps conntrackd already running\?\n/);
});

/** Receives datagrams on a UNIX socket (Node cannot bind one): python3 prints each as a JSON string line. */
function notifyListener(ns: Netns, address: string): { child: ChildProcess; messages: string[] } {
  const script = [
    'import json, socket, sys',
    's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
    "a = sys.argv[1]",
    "s.bind('\\0' + a[1:] if a.startswith('@') else a)",
    "print('bound', flush=True)",
    'while True: print(json.dumps(s.recv(4096).decode()), flush=True)',
  ].join('\n');
  const child = ns.spawn('python3', ['-c', script, address]);
  const messages: string[] = [];
  let buf = '';
  child.stdout!.on('data', (b: Buffer) => {
    buf += b.toString();
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      messages.push(line === 'bound' ? line : (JSON.parse(line) as string));
    }
  });
  return { child, messages };
}

for (const kind of ['path', 'abstract'] as const) {
  test(`NOTIFY_SOCKET (${kind}): READY=1, WATCHDOG=1 at half WATCHDOG_USEC, STOPPING=1`, async (t) => {
    const s = await setup(t, `ctd-proc-notify-${kind}`);
    const address = kind === 'path' ? path.join(s.paths.dir, 'notify.sock') : `@ctd-notify-${process.pid}-${Date.now()}`;
    const listener = notifyListener(s.ns, address);
    assert.ok(await until(() => listener.messages.includes('bound'), 10_000), 'python3 listener started');
    const child = await start(s, { NOTIFY_SOCKET: address, WATCHDOG_USEC: '200000' });
    assert.ok(await until(() => listener.messages.includes('WATCHDOG=1'), 5_000), `watchdog pings: ${listener.messages}`);
    assert.equal(listener.messages[1], 'READY=1');
    child.kill('SIGTERM');
    assert.equal(await exitOf(child), 0);
    assert.ok(await until(() => listener.messages.includes('STOPPING=1'), 5_000));
    assert.equal(listener.messages.filter((m) => m === 'READY=1').length, 1);
  });
}

test('Systemd off: no notification even with NOTIFY_SOCKET set', async (t) => {
  const s = await setup(t, 'ctd-proc-notify-off');
  await writeFile(s.paths.config, (await readFile(s.paths.config, 'utf8')).replace('General {', 'General {\n\tSystemd off'));
  const address = path.join(s.paths.dir, 'notify.sock');
  const listener = notifyListener(s.ns, address);
  assert.ok(await until(() => listener.messages.includes('bound'), 10_000));
  const child = await start(s, { NOTIFY_SOCKET: address });
  child.kill('SIGTERM');
  await exitOf(child);
  // READY=1 and STOPPING=1 would have been sent before the exit; give the listener a moment to print them.
  assert.equal(await until(() => listener.messages.length > 1, 500), false, `unexpected: ${listener.messages}`);
});

test('Syslog: one RFC 3164 datagram per line; sendUnixDatagram errors are system errors', async (t) => {
  const s = await setup(t, 'ctd-proc-syslog');
  const address = path.join(s.paths.dir, 'log.sock');
  const listener = notifyListener(s.ns, address);
  assert.ok(await until(() => listener.messages.includes('bound'), 10_000));
  syslogSink('local3', address)('ERROR', 'something failed');
  assert.ok(await until(() => listener.messages.length > 1, 5_000));
  assert.match(listener.messages[1]!, /^<155>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d conntrackd\[\d+\]: something failed$/);
  assert.throws(() => sendUnixDatagram(path.join(s.paths.dir, 'nobody'), 'x'), { code: 'ENOENT', syscall: 'sendto' });
  assert.throws(() => sendUnixDatagram(`@ctd-nobody-${process.pid}`, 'x'), { code: 'ECONNREFUSED' });
});
