/**
 * Long-lived TCP connections between two namespaces, for fail-over tests:
 * an echo server in one namespace, a client holding N connections to it in
 * another, and rounds in which every open connection sends a token and
 * waits for it to come back. A connection that survives a fail-over echoes
 * its token on the SAME socket (a TCP socket cannot reconnect by itself);
 * one the network lost is reset or stays silent until the round's deadline.
 *
 * Both ends are Node processes started inside their namespaces, driven by
 * lines on stdin and answering with one JSON line each.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import type { Netns } from './netns';

/*
 * argv: server HOST PORT | client HOST PORT COUNT.
 * server: prints {"listening":true}; each stdin line → {"accepted":N,"open":N}.
 * client: opens COUNT connections (CONCURRENCY connects at a time), prints
 * {"connected":N,"failed":N}; each line "round TOKEN MS" → {"token","echoed","closed","silent"}
 * once every open connection echoed TOKEN or MS passed.
 */
const SCRIPT = String.raw`
const net = require('node:net');
const readline = require('node:readline');
const [role, host, port, count] = process.argv.slice(1);
const say = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const lines = readline.createInterface({ input: process.stdin });
lines.on('close', () => process.exit(0));
if (role === 'server') {
  let accepted = 0, open = 0;
  const server = net.createServer((s) => {
    accepted++; open++;
    s.setNoDelay(true);
    s.on('data', (d) => s.write(d));
    s.on('error', () => {});
    s.on('close', () => open--);
  });
  server.listen({ host, port: Number(port), backlog: 4096 }, () => say({ listening: true }));
  lines.on('line', () => say({ accepted, open }));
} else {
  const CONCURRENCY = 256;
  const conns = [];
  let failed = 0, next = 0;
  const connectOne = () => new Promise((resolve) => {
    const c = { socket: net.connect(Number(port), host), closed: false, text: '', waiting: undefined };
    c.socket.setNoDelay(true);
    c.socket.on('connect', () => { conns.push(c); resolve(); });
    c.socket.on('error', () => {});
    c.socket.on('close', () => { if (!conns.includes(c)) { failed++; resolve(); } c.closed = true; c.waiting?.(); });
    c.socket.on('data', (d) => { c.text += d; c.waiting?.(); });
  });
  const worker = async () => { while (next < Number(count)) { next++; await connectOne(); } };
  Promise.all(Array.from({ length: CONCURRENCY }, worker)).then(() => {
    say({ connected: conns.length, failed });
    let queue = Promise.resolve();
    lines.on('line', (line) => { queue = queue.then(() => round(...line.split(' '))); });
  });
  async function round(_, token, ms) {
    const live = conns.filter((c) => !c.closed);
    let echoed = 0;
    const deadline = new Promise((r) => setTimeout(r, Number(ms)));
    await Promise.all(live.map((c) => {
      c.text = '';
      c.socket.write(token + '\n');
      return Promise.race([deadline, new Promise((resolve) => {
        c.waiting = () => {
          if (c.text.includes(token + '\n')) { echoed++; c.waiting = undefined; resolve(); }
          else if (c.closed) { c.waiting = undefined; resolve(); }
        };
      })]);
    }));
    for (const c of live) c.waiting = undefined;
    const closed = conns.filter((c) => c.closed).length;
    say({ token, echoed, closed, silent: conns.length - echoed - closed });
  }
}
`;

/** A process of this module: JSON lines out, command lines in. */
class Endpoint {
  private buffered = '';
  private readonly waiters: ((line: string) => void)[] = [];
  private readonly lines: string[] = [];

  constructor(private readonly child: ChildProcess) {
    const errors: Buffer[] = [];
    child.stderr!.on('data', (b: Buffer) => errors.push(b));
    child.stdout!.on('data', (b: Buffer) => {
      this.buffered += b.toString();
      for (let nl = this.buffered.indexOf('\n'); nl >= 0; nl = this.buffered.indexOf('\n')) {
        const line = this.buffered.slice(0, nl);
        this.buffered = this.buffered.slice(nl + 1);
        const waiter = this.waiters.shift();
        if (waiter) waiter(line);
        else this.lines.push(line);
      }
    });
    child.once('close', (code) => {
      for (const waiter of this.waiters.splice(0)) waiter(JSON.stringify({ exited: code, stderr: Buffer.concat(errors).toString() }));
    });
  }

  /** Whether an answer arrived that nobody has read yet. */
  get answered(): boolean {
    return this.lines.length > 0;
  }

  send(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }

  /** The next JSON line (the process's exit, as {exited, stderr}, if it ends first). */
  next<T>(): Promise<T & { exited?: number; stderr?: string }> {
    const line = this.lines.shift();
    if (line !== undefined) return Promise.resolve(JSON.parse(line));
    return new Promise((resolve) => this.waiters.push((l) => resolve(JSON.parse(l))));
  }

  close(): void {
    this.child.stdin!.end();
  }
}

export interface RoundResult {
  token: string;
  echoed: number;
  /** Reset or closed by the network. */
  closed: number;
  /** Open, but the token did not come back before the deadline. */
  silent: number;
}

export class EchoServer {
  private constructor(private readonly end: Endpoint) {}

  static async start(ns: Netns, host: string, port: number): Promise<EchoServer> {
    const end = new Endpoint(ns.spawn(process.execPath, ['-e', SCRIPT, 'server', host, String(port)]));
    const ready = await end.next<{ listening?: boolean }>();
    assert.ok(ready.listening, `echo server: ${JSON.stringify(ready)}`);
    return new EchoServer(end);
  }

  /** Connections accepted so far, and how many are open. */
  async counts(): Promise<{ accepted: number; open: number }> {
    this.end.send('counts');
    return this.end.next();
  }
}

export class EchoClients {
  private rounds = 0;

  private constructor(
    private readonly end: Endpoint,
    readonly connected: number,
  ) {}

  /** Opens `count` connections to host:port from `ns`; all must connect. */
  static async connect(ns: Netns, host: string, port: number, count: number): Promise<EchoClients> {
    const end = new Endpoint(ns.spawn(process.execPath, ['-e', SCRIPT, 'client', host, String(port), String(count)]));
    const r = await end.next<{ connected: number; failed: number }>();
    assert.equal(r.connected, count, `echo clients: ${JSON.stringify(r)}`);
    return new EchoClients(end, r.connected);
  }

  /** Starts a round (every open connection sends a token); `result()` waits for its outcome. */
  start(deadlineMs: number): void {
    this.end.send(`round t${++this.rounds} ${deadlineMs}`);
  }

  /** Whether the round started last has ended (all echoed, or the deadline passed). */
  get ended(): boolean {
    return this.end.answered;
  }

  result(): Promise<RoundResult> {
    return this.end.next<RoundResult>();
  }

  /** One whole round. */
  async round(deadlineMs: number): Promise<RoundResult> {
    this.start(deadlineMs);
    return this.result();
  }

  close(): void {
    this.end.close();
  }
}
