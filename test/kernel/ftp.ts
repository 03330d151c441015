/**
 * Real FTP control connections inside a test namespace, so the kernel's ftp
 * helper creates real expectations: an nftables ruleset assigns the helper
 * to every TCP connection to port 21 (a `ct helper` object, `ct helper set`
 * on the output path, which is the path of loopback traffic), and a tiny FTP
 * server and clients run in one Node process inside the namespace.
 *
 * A PORT command (`PORT 127,0,0,1,39,16`) or EPRT (`EPRT |2|::1|10001|`)
 * makes the helper expect a data connection to that address and port, with
 * the control connection as master. Client ports are fixed by the caller,
 * so the expectations print the same in every run; connections end with RST,
 * which leaves no TIME_WAIT behind, so the same ports can be used again at
 * once (the differential tests rebuild the state for every mutating case).
 *
 * Network rule: everything stays on the namespace's loopback device.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface, type Interface } from 'node:readline';
import type { Netns } from './netns';

/** The ftp helper on every connection to TCP port 21; with `zone`, those connections live in that conntrack zone. */
export function ftpHelperRuleset(zone?: number): string {
  const zoned = zone === undefined ? '' : `
  chain zone {
    type filter hook output priority raw; policy accept;
    tcp dport 21 ct zone set ${zone}
    tcp sport 21 ct zone set ${zone}
  }`;
  return `table inet ctts_ftp {
  ct helper ftp-standard { type "ftp" protocol tcp; l3proto inet; }${zoned}
  chain helper {
    type filter hook output priority 0; policy accept;
    tcp dport 21 ct helper set "ftp-standard"
  }
}
`;
}

/*
 * Runs inside the namespace (node -e). Reads one JSON request per stdin line
 * and answers each with one line: "ok" or "error: …".
 *   {"op":"connect","host":"127.0.0.1","port":40000}  control connection from that port to host:21
 *   {"op":"send","host":"127.0.0.1","port":40000,"line":"PORT 127,0,0,1,39,16"}  one command, waits for the reply
 *   {"op":"reset"}  every connection ends with RST, the servers close
 * An FTP server per host answers 220 on connect and 200 to every line.
 */
const FTP_LAB_SCRIPT = String.raw`
const net = require('node:net');
const { once } = require('node:events');
const readline = require('node:readline');
const servers = new Map();
const clients = new Map();

async function serverFor(host) {
  if (!servers.has(host)) {
    const server = net.createServer((control) => {
      control.on('error', () => {});
      control.write('220 ready\r\n');
      control.on('data', () => control.write('200 ok\r\n'));
    });
    server.listen(21, host);
    await once(server, 'listening');
    servers.set(host, server);
  }
}

const ops = {
  async connect({ host, port }) {
    await serverFor(host);
    const client = net.connect({ host, port: 21, localPort: port });
    client.on('error', () => {});
    await once(client, 'data');
    clients.set(host + ' ' + port, client);
  },
  async send({ host, port, line }) {
    const client = clients.get(host + ' ' + port);
    client.write(line + '\r\n');
    await once(client, 'data');
  },
  async reset() {
    for (const client of clients.values()) client.resetAndDestroy();
    clients.clear();
    for (const server of servers.values()) server.close();
    servers.clear();
  },
};

(async () => {
  for await (const line of readline.createInterface({ input: process.stdin })) {
    const req = JSON.parse(line);
    try {
      await ops[req.op](req);
      process.stdout.write('ok\n');
    } catch (e) {
      process.stdout.write('error: ' + e.message + '\n');
    }
  }
})();
`;

/** FTP control connections in one namespace; see the file comment. */
export class FtpLab {
  private readonly answers: AsyncIterableIterator<string>;
  private readonly lines: Interface;

  private constructor(private readonly child: ChildProcess) {
    this.lines = createInterface({ input: child.stdout! });
    this.answers = this.lines[Symbol.asyncIterator]();
  }

  /**
   * Loads the helper ruleset (once per namespace) and starts the FTP
   * process. A lab still running in the namespace is reset and ended first,
   * so its ports are free again.
   */
  static async start(ns: Netns, options: { zone?: number } = {}): Promise<FtpLab> {
    await labs.get(ns)?.stop();
    if (!rulesets.has(ns)) {
      await ns.nft(ftpHelperRuleset(options.zone));
      rulesets.add(ns);
    }
    const lab = new FtpLab(ns.spawn(process.execPath, ['-e', FTP_LAB_SCRIPT]));
    labs.set(ns, lab);
    return lab;
  }

  /** Opens a control connection from `clientPort` to host:21 (127.0.0.1 or ::1) and waits for the greeting. */
  async connect(host: string, clientPort: number): Promise<void> {
    await this.call({ op: 'connect', host, port: clientPort });
  }

  /** Sends commands on the connection from host:`clientPort`, each after the reply to the previous one. */
  async send(host: string, clientPort: number, ...commands: string[]): Promise<void> {
    for (const line of commands) await this.call({ op: 'send', host, port: clientPort, line });
  }

  /** A control connection that announced a data connection: the helper then expects it. */
  async announce(host: string, clientPort: number, command: string): Promise<void> {
    await this.connect(host, clientPort);
    // The helper only parses a line that follows a newline it has seen.
    await this.send(host, clientPort, 'USER anonymous', command);
  }

  /**
   * Waits out the client's delayed ACK of the last server reply (Linux
   * delays at most 200 ms). Until that ACK, conntrack keeps the control
   * connection on its 300 s "unacknowledged" timeout instead of the
   * established one, which would make two builds of the same state differ.
   */
  async settle(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, DELAYED_ACK_MAX_MS + 50));
  }

  /** Resets every connection and ends the process. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    await this.call({ op: 'reset' });
    const exited = once(this.child, 'exit');
    this.child.stdin!.end();
    // A socket left open would keep it alive: never wait for it long.
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  private async call(request: Record<string, unknown>): Promise<void> {
    this.child.stdin!.write(`${JSON.stringify(request)}\n`);
    const { value, done } = await this.answers.next();
    if (done || value !== 'ok') throw new Error(`ftp lab: ${JSON.stringify(request)} -> ${done ? 'the process ended' : value}`);
  }
}

/** TCP_DELACK_MAX. */
const DELAYED_ACK_MAX_MS = 200;

const labs = new WeakMap<Netns, FtpLab>();
const rulesets = new WeakSet<Netns>();

/** PORT for an IPv4 data connection to 127.0.0.1:`port`. */
export function portCommand(port: number): string {
  return `PORT 127,0,0,1,${port >> 8},${port & 255}`;
}

/** EPRT for an IPv6 data connection to [::1]:`port`. */
export function eprtCommand(port: number): string {
  return `EPRT |2|::1|${port}|`;
}
