/**
 * Captures real kernel ctnetlink messages as golden fixtures for the codec tests.
 *
 * In a throw-away network namespace it makes conntrack state with the
 * reference tool (`conntrack -I`) and with real loopback traffic (TCP, UDP,
 * ping, and an FTP exchange through the ftp helper), dumps it through our own
 * socket and writes every message into test/fixtures/ctnetlink/:
 *
 *   NAME.hex  `#` lines saying how the state was made, then the whole netlink
 *             message (nlmsghdr included) as hex, 16 bytes a line
 *   NAME.txt  what the reference tool printed for the same state (`conntrack -L`,
 *             `-L expect`, `-S`, `-C`), when it prints anything for it
 *
 * The text is taken between two identical dumps, so it matches the bytes
 * (timeouts tick every second). Needs root, iproute2, nft, ping and the
 * reference conntrack 1.4.7. Run from anywhere:
 *
 *   node dist/tools/capture-fixtures.js [OUTPUT_DIR]
 *
 * Network rule: every packet stays on the namespace's loopback device; the
 * entries made with `conntrack -I` carry other addresses but send nothing.
 */
import { once } from 'node:events';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { decodeFlow } from '../src/ctnetlink/flow-codec';
import { CtMsg, ExpMsg } from '../src/ctnetlink/constants';
import type { Flow } from '../src/ctnetlink/flow';
import { l3Name, l4Name, tcpStateName } from '../src/format/names';
import { MessageWriter } from '../src/netlink/attributes';
import { MessageFlags, MessageType } from '../src/netlink/constants';
import { NetlinkError } from '../src/netlink/errors';
import { MessageCursor } from '../src/netlink/messages';
import { NetlinkSocket } from '../src/netlink/socket';
import { beginNfMessage, Group, messageType, NFGENMSG_LEN, Subsystem } from '../src/nfnetlink/header';
import { createNetns, ctFill, makeTraffic, REFERENCE_CONNTRACK, type Netns } from '../test/kernel/netns';

const EAGAIN = 11;
const DUMP = MessageFlags.REQUEST | MessageFlags.DUMP;

/** One entry made with `conntrack -I` per fixture; the name says what it is. */
const INSERTED: ReadonlyArray<{ name: string; args: string[]; accounting?: boolean }> = [
  {
    name: 'tcp-ipv4-established-assured-mark',
    args: ['-p', 'tcp', '-s', '10.0.0.1', '-d', '10.0.0.2', '--sport', '1111', '--dport', '80', '--state', 'ESTABLISHED', '-t', '600', '-u', 'ASSURED,SEEN_REPLY', '-m', '1'],
  },
  {
    name: 'udp-ipv4-unreplied',
    args: ['-p', 'udp', '-s', '10.0.0.1', '-d', '10.0.0.3', '--sport', '2222', '--dport', '53', '-t', '600', '-m', '2'],
  },
  {
    name: 'udplite-ipv4',
    args: ['-p', 'udplite', '-s', '10.0.0.1', '-d', '10.0.0.13', '--sport', '5', '--dport', '6', '-t', '600'],
  },
  {
    name: 'icmp-ipv4-echo',
    args: ['-p', 'icmp', '-s', '10.0.0.1', '-d', '10.0.0.4', '--icmp-type', '8', '--icmp-code', '0', '--icmp-id', '77', '-t', '600'],
  },
  {
    name: 'icmpv6-echo',
    args: ['-p', 'icmpv6', '-s', '2001:db8::1', '-d', '2001:db8::2', '--icmpv6-type', '128', '--icmpv6-code', '0', '--icmpv6-id', '99', '-t', '600'],
  },
  {
    name: 'tcp-ipv6-syn-sent',
    args: ['-p', 'tcp', '-s', '2001:db8:0:1::10', '-d', 'fe80::1:0:0:2', '--sport', '40000', '--dport', '443', '--state', 'SYN_SENT', '-t', '120'],
  },
  {
    name: 'udp-ipv6-v4mapped',
    args: ['-p', 'udp', '-s', '::ffff:192.0.2.1', '-d', '::ffff:192.0.2.2', '--sport', '1000', '--dport', '2000', '-t', '600'],
  },
  {
    name: 'sctp-ipv4-established-vtags',
    args: ['-p', 'sctp', '-s', '10.0.0.1', '-d', '10.0.0.5', '--sport', '3333', '--dport', '3868', '--state', 'ESTABLISHED', '--orig-vtag', '1', '--reply-vtag', '2', '-t', '600'],
  },
  {
    name: 'gre-ipv4-keys',
    args: ['-p', 'gre', '-s', '10.0.0.1', '-d', '10.0.0.7', '--srckey', '16', '--dstkey', '32', '-t', '600'],
  },
  {
    name: 'generic-ipv4-proto200',
    args: ['-p', '200', '-s', '10.0.0.1', '-d', '10.0.0.11', '-t', '600'],
  },
  {
    name: 'dccp-ipv4-untracked',
    args: ['-p', 'dccp', '-s', '10.0.0.1', '-d', '10.0.0.14', '--sport', '5', '--dport', '6', '--state', 'OPEN', '--role', 'client', '-t', '600'],
  },
  {
    name: 'udp-ipv4-orig-zone',
    args: ['-p', 'udp', '-s', '10.0.0.1', '-d', '10.0.0.12', '--sport', '7', '--dport', '7', '-t', '600', '--orig-zone', '3'],
  },
  {
    name: 'udp-ipv4-reply-zone',
    args: ['-p', 'udp', '-s', '10.0.0.1', '-d', '10.0.0.15', '--sport', '7', '--dport', '7', '-t', '600', '--reply-zone', '4'],
  },
  {
    name: 'udp-ipv4-zone',
    args: ['-p', 'udp', '-s', '10.0.0.1', '-d', '10.0.0.9', '--sport', '7', '--dport', '7', '-t', '600', '-w', '5'],
  },
  {
    name: 'tcp-ipv4-snat',
    args: ['-p', 'tcp', '-s', '192.168.1.10', '-d', '198.51.100.8', '--sport', '4000', '--dport', '80', '--state', 'ESTABLISHED', '-t', '600', '--src-nat', '203.0.113.1'],
  },
  {
    name: 'tcp-ipv4-dnat-port',
    args: ['-p', 'tcp', '-s', '198.51.100.4', '-d', '203.0.113.1', '--sport', '5000', '--dport', '8080', '--state', 'ESTABLISHED', '-t', '600', '--dst-nat', '192.168.1.20:80'],
  },
  {
    name: 'tcp-ipv6-dnat',
    args: ['-p', 'tcp', '-s', '2001:db8::1', '-d', '2001:db8::2', '--sport', '4000', '--dport', '80', '--state', 'ESTABLISHED', '-t', '600', '--dst-nat', '2001:db8::99'],
  },
  {
    name: 'tcp-ipv4-accounting',
    args: ['-p', 'tcp', '-s', '10.0.0.1', '-d', '10.0.0.20', '--sport', '1234', '--dport', '22', '--state', 'TIME_WAIT', '-t', '100', '-m', '4294967295'],
    accounting: true,
  },
  {
    name: 'udp-ipv6-accounting',
    args: ['-p', 'udp', '-s', '2001:db8::1', '-d', '2001:db8::3', '--sport', '53', '--dport', '53', '-t', '30', '-u', 'SEEN_REPLY'],
    accounting: true,
  },
];

/** The helper, a mark and two labels (bits 3 and 100) for the FTP control connection. */
const FTP_RULESET = `table inet ctts_fixture {
  ct helper ftp-standard { type "ftp" protocol tcp; l3proto inet; }
  chain out {
    type filter hook output priority 0; policy accept;
    tcp dport 21 ct helper set "ftp-standard"
    tcp dport 21 ct mark set 7
    tcp dport 21 ct label set 3
    tcp dport 21 ct label set 100
  }
}
`;

/*
 * Runs inside the namespace (node -e): an FTP control connection to
 * 127.0.0.1:21 whose PORT command makes the ftp helper expect a data
 * connection to 127.0.0.1:10000. The helper ignores the first line a client
 * sends (it only parses lines that follow a newline it has seen), hence USER. Prints "expecting", waits for a line on
 * stdin, opens the data connection, prints "connected" and holds every socket
 * until stdin ends.
 */
const FTP_SCRIPT = String.raw`
const net = require('node:net');
const { once } = require('node:events');
const readline = require('node:readline');
const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
(async () => {
  const server = net.createServer((control) => {
    control.write('220 ready\r\n');
    control.on('data', () => control.write('200 ok\r\n'));
  });
  server.listen(21, '127.0.0.1');
  await once(server, 'listening');
  const dataListener = net.createServer();
  dataListener.listen(10000, '127.0.0.1');
  await once(dataListener, 'listening');
  const client = net.connect(21, '127.0.0.1');
  await once(client, 'data');
  for (const command of ['USER anonymous', 'PORT 127,0,0,1,39,16']) {
    client.write(command + '\r\n');
    await once(client, 'data');
  }
  process.stdout.write('expecting\n');
  await lines.next();
  const accepted = once(dataListener, 'connection');
  const data = net.connect({ port: 10000, host: '127.0.0.1' });
  await once(data, 'connect');
  const [peer] = await accepted;
  data.write('listing');
  await once(peer, 'data');
  process.stdout.write('connected\n');
  await lines.next();
  process.exit(0);
})().catch((e) => { console.error(e); process.exit(1); });
`;

let seq = 0;

/**
 * Sends one request and returns copies of its reply messages: up to
 * NLMSG_DONE for a dump, else the one reply (which the kernel flags
 * NLM_F_MULTI all the same, so the flag tells nothing).
 */
function request(sock: NetlinkSocket, subsys: Subsystem, msg: number, flags: number): Buffer[] {
  const w = new MessageWriter();
  const mySeq = ++seq;
  w.endMessage(beginNfMessage(w, subsys, msg, flags, mySeq, 0));
  const sent = sock.send([w.toBuffer()]);
  if (sent < 0) throw new NetlinkError(sent, 'sendmsg');
  const dump = (flags & MessageFlags.DUMP) === MessageFlags.DUMP;
  const out: Buffer[] = [];
  const deadline = Date.now() + 5000;
  for (;;) {
    const m = nextDatagram(sock);
    if (!m) {
      if (Date.now() > deadline) throw new Error('no reply from the kernel within 5 s');
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
      continue;
    }
    while (m.next()) {
      if (m.seq !== mySeq) continue;
      if (m.type === MessageType.DONE) return out;
      if (m.type === MessageType.ERROR) {
        const errno = m.buf.readInt32LE(m.payload);
        if (errno === 0) return out;
        throw new NetlinkError(errno, 'capture request');
      }
      out.push(Buffer.from(m.buf.subarray(m.start, m.end)));
      if (!dump) return out;
    }
  }
}

/** Copies of the event messages queued on a multicast socket (they have no end marker). */
function drainEvents(sock: NetlinkSocket): Buffer[] {
  const out: Buffer[] = [];
  for (let m = nextDatagram(sock); m; m = nextDatagram(sock)) {
    while (m.next()) out.push(Buffer.from(m.buf.subarray(m.start, m.end)));
  }
  return out;
}

/** The next datagram, or undefined when none is queued. */
function nextDatagram(sock: NetlinkSocket): MessageCursor | undefined {
  const buf = Buffer.alloc(1 << 16);
  const n = sock.recv(buf);
  if (n === -EAGAIN) return undefined;
  if (n < 0) throw new NetlinkError(n, 'recvmsg');
  if (n > buf.length) throw new Error(`datagram of ${n} bytes truncated`);
  return new MessageCursor(buf, n);
}

function dumpFlows(sock: NetlinkSocket): Buffer[] {
  return request(sock, Subsystem.CTNETLINK, CtMsg.GET, DUMP);
}

function decode(message: Buffer): Flow {
  return decodeFlow(message, 16 + NFGENMSG_LEN, message.length, message[16]!);
}

/** The attribute bytes of a set of messages: nlmsghdr (sequence, port id) left out. */
function payloads(messages: Buffer[]): Buffer {
  return Buffer.concat(messages.map((m) => m.subarray(16)));
}

function sameMessages(a: Buffer[], b: Buffer[]): boolean {
  return a.length === b.length && payloads(a).equals(payloads(b));
}

async function ct(ns: Netns, args: string[]): Promise<string> {
  return (await ns.execOk(REFERENCE_CONNTRACK, args)).stdout.toString();
}

function outputLines(text: string): string[] {
  return text.split('\n').filter((line) => line !== '');
}

/**
 * Dumps the table and asks the reference tool for its `-L` lines in between;
 * retries until both dumps agree, so the text shows the dumped timeouts.
 * Returns each message with the line printed for it (matched through `-o id`).
 */
async function snapshotFlows(ns: Netns, sock: NetlinkSocket): Promise<Array<{ message: Buffer; flow: Flow; line: string }>> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const before = dumpFlows(sock);
    const plain = outputLines(await ct(ns, ['-L']));
    const withId = outputLines(await ct(ns, ['-L', '-o', 'id']));
    const after = dumpFlows(sock);
    if (!sameMessages(before, after) || plain.length !== before.length || withId.length !== plain.length) continue;
    const lineById = new Map<number, string>();
    let consistent = true;
    withId.forEach((line, i) => {
      const m = / id=(\d+)$/.exec(line);
      if (!m || line.replace(m[0], '') !== plain[i]) consistent = false;
      else lineById.set(Number(m[1]), plain[i]!);
    });
    if (!consistent) continue;
    return before.map((message) => {
      const flow = decode(message);
      const line = lineById.get(flow.id!);
      if (line === undefined) throw new Error(`no conntrack -L line for entry id ${flow.id}`);
      return { message, flow, line };
    });
  }
  throw new Error('the table kept changing between dumps');
}

class FixtureWriter {
  private readonly names = new Set<string>();

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    for (const file of readdirSync(dir)) {
      if (file.endsWith('.hex') || file.endsWith('.txt')) rmSync(path.join(dir, file));
    }
  }

  /** Writes NAME.hex (and NAME.txt when text is given); a taken name gets -2, -3, ... */
  write(name: string, message: Buffer, origin: string[], text?: string): void {
    let unique = name;
    for (let n = 2; this.names.has(unique); n++) unique = `${name}-${n}`;
    this.names.add(unique);
    const hex = message.toString('hex').replace(/(.{32})/g, '$1\n').trimEnd();
    const header = origin.map((line) => `# ${line}`).join('\n');
    writeFileSync(path.join(this.dir, `${unique}.hex`), `${header}\n${hex}\n`);
    if (text !== undefined) writeFileSync(path.join(this.dir, `${unique}.txt`), text);
    console.log(`${unique}${text === undefined ? '' : ' (+txt)'}`);
  }
}

async function setAccounting(ns: Netns, on: boolean): Promise<void> {
  await ns.sysctl('net.netfilter.nf_conntrack_acct', on ? 1 : 0);
  await ns.sysctl('net.netfilter.nf_conntrack_timestamp', on ? 1 : 0);
}

async function captureInserted(ns: Netns, sock: NetlinkSocket, out: FixtureWriter): Promise<void> {
  for (const entry of INSERTED) {
    await ct(ns, ['-F']);
    await setAccounting(ns, entry.accounting === true);
    await ctFill(ns, [entry.args]);
    const [only, ...more] = await snapshotFlows(ns, sock);
    if (!only || more.length > 0) throw new Error(`${entry.name}: expected exactly one entry`);
    const origin = [`${entry.accounting ? 'nf_conntrack_acct=1 nf_conntrack_timestamp=1; ' : ''}conntrack -I ${entry.args.join(' ')}`];
    out.write(entry.name, only.message, origin, `${only.line}\n`);
  }
  await setAccounting(ns, false);
}

/** A name for a kernel-made entry: protocol, family, TCP state, helper, expected. */
function realName(flow: Flow): string {
  const parts = ['real', l4Name(flow.orig.proto ?? 0), l3Name(flow.family)];
  if (flow.tcp?.state !== undefined) parts.push(tcpStateName(flow.tcp.state).toLowerCase().replace(/_/g, '-'));
  if (flow.helper) parts.push(`helper-${flow.helper}`);
  if (flow.master) parts.push('expected');
  return parts.join('-');
}

async function captureTraffic(ns: Netns, sock: NetlinkSocket, out: FixtureWriter): Promise<void> {
  await ct(ns, ['-F']);
  await setAccounting(ns, true);
  await ns.nft(FTP_RULESET);
  const traffic = await makeTraffic(ns, { keepOpen: true });
  const ftp = ns.spawn(process.execPath, ['-e', FTP_SCRIPT]);
  const stderr: Buffer[] = [];
  ftp.stderr!.on('data', (b: Buffer) => stderr.push(b));
  const lines = createInterface({ input: ftp.stdout! })[Symbol.asyncIterator]();
  const expectLine = async (want: string) => {
    const { value, done } = await lines.next();
    if (done || value !== want) throw new Error(`ftp exchange: wanted "${want}", got ${done ? 'EOF' : `"${value}"`}\n${Buffer.concat(stderr)}`);
  };
  try {
    await expectLine('expecting');
    const origin = ['ftp helper on 127.0.0.1:21, after "PORT 127,0,0,1,39,16"'];
    const expectations = request(sock, Subsystem.CTNETLINK_EXP, ExpMsg.GET, DUMP);
    const expectText = await ct(ns, ['-L', 'expect']);
    if (expectations.length !== 1) throw new Error(`expected one expectation, got ${expectations.length}`);
    out.write('expect-tcp-ipv4-ftp', expectations[0]!, origin, expectText);
    const expStats = request(sock, Subsystem.CTNETLINK_EXP, ExpMsg.GET_STATS_CPU, DUMP);
    expStats.forEach((m) => out.write(`stats-expect-cpu-${m.readUInt16BE(18)}`, m, ['conntrack -S expect']));

    ftp.stdin!.write('go\n');
    await expectLine('connected');
    const origin2 = ['nf_conntrack_acct=1 nf_conntrack_timestamp=1; real loopback traffic (TCP, UDP, ping, FTP with helper, mark 7, labels 3 and 100)'];
    for (const { message, flow, line } of await snapshotFlows(ns, sock)) {
      out.write(realName(flow), message, origin2, `${line}\n`);
    }
    await captureStats(ns, sock, out);
  } finally {
    ftp.stdin!.end();
    await traffic.close();
    if (ftp.exitCode === null) await once(ftp, 'exit');
  }
}

async function captureStats(ns: Netns, sock: NetlinkSocket, out: FixtureWriter): Promise<void> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const perCpu = request(sock, Subsystem.CTNETLINK, CtMsg.GET_STATS_CPU, DUMP);
    const text = outputLines(await ct(ns, ['-S']));
    const global = request(sock, Subsystem.CTNETLINK, CtMsg.GET_STATS, MessageFlags.REQUEST);
    const count = await ct(ns, ['-C']);
    const perCpuAgain = request(sock, Subsystem.CTNETLINK, CtMsg.GET_STATS_CPU, DUMP);
    if (!sameMessages(perCpu, perCpuAgain) || text.length !== perCpu.length || global.length !== 1) continue;
    perCpu.forEach((m) => {
      const cpu = m.readUInt16BE(18);
      const line = text.find((l) => new RegExp(`^cpu=${cpu}\\s`).test(l));
      out.write(`stats-cpu-${cpu}`, m, ['conntrack -S'], line === undefined ? undefined : `${line}\n`);
    });
    out.write('stats-global', global[0]!, ['conntrack -C'], count);
    return;
  }
  throw new Error('the statistics kept changing between dumps');
}

/** NEW, UPDATE and DESTROY events of one entry, with counters and timestamps on. */
async function captureEvents(ns: Netns, out: FixtureWriter): Promise<void> {
  await ct(ns, ['-F']);
  await setAccounting(ns, true);
  const groups = (1 << (Group.CONNTRACK_NEW - 1)) | (1 << (Group.CONNTRACK_UPDATE - 1)) | (1 << (Group.CONNTRACK_DESTROY - 1));
  const events = NetlinkSocket.open({ netns: ns.name, groups });
  try {
    const tuple = ['-p', 'udp', '-s', '10.0.0.1', '-d', '10.0.0.2', '--sport', '5000', '--dport', '53'];
    const steps: Array<[string, string[]]> = [
      ['new', ['-I', ...tuple, '-t', '50']],
      ['update', ['-U', ...tuple, '-m', '3']],
      ['destroy', ['-D', ...tuple]],
    ];
    for (const [kind, args] of steps) {
      await ct(ns, args);
      const received = drainEvents(events);
      const wantType = messageType(Subsystem.CTNETLINK, kind === 'destroy' ? CtMsg.DELETE : CtMsg.NEW);
      const event = received.find((m) => m.readUInt16LE(4) === wantType);
      if (!event) throw new Error(`no ${kind} event after conntrack ${args.join(' ')}`);
      out.write(`event-${kind}-udp-ipv4`, event, [`nf_conntrack_acct=1 nf_conntrack_timestamp=1; event of conntrack ${args.join(' ')}`]);
    }
  } finally {
    events.close();
    await setAccounting(ns, false);
  }
}

async function main(): Promise<void> {
  const dir = process.argv[2] ?? path.join(__dirname, '..', '..', 'test', 'fixtures', 'ctnetlink');
  const out = new FixtureWriter(dir);
  const ns = await createNetns('fix');
  try {
    const sock = NetlinkSocket.open({ netns: ns.name });
    try {
      await captureInserted(ns, sock, out);
      await captureEvents(ns, out);
      await captureTraffic(ns, sock, out);
    } finally {
      sock.close();
    }
  } finally {
    await ns.destroy();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
