/**
 * Real `conntrack -o json` output against its schema
 * (schema/conntrack-json.v1.json): entries of real TCP, UDP and ICMP traffic
 * over IPv4 and IPv6 plus entries of every tracker loaded with `-I`, with
 * accounting and kernel timestamps on; listed (`-L`, with every filter, and
 * the dying and unconfirmed lists), fetched (`-G`), updated (`-U`), deleted
 * (`-D`), followed (`-E`), and the expectations of real FTP connections
 * (`-L expect`, `-E expect`). Every line must validate, every filter must
 * select with `-o json` what it selects in the default format, and the run
 * must have printed each member the schema documents for these commands.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { test } from 'node:test';
import { loadOutputSchema, SchemaValidator } from '../unit/json-schema-validator';
import { eprtCommand, FtpLab, portCommand } from './ftp';
import { ctFill, makeTraffic, REFERENCE_CONNTRACK, withNetns, type Netns } from './netns';

const OURS = path.join(__dirname, '..', '..', '..', 'bin', 'conntrack.js');
const LIBRARY = path.join(__dirname, '..', '..', 'src', 'index.js');

/** Entries the traffic cannot make: the other trackers, NAT, zones, marks. */
const LOADED: string[][] = [
  '-s 10.0.0.1 -d 10.0.0.5 -p sctp --sport 3333 --dport 3868 --state ESTABLISHED --orig-vtag 1 --reply-vtag 2 -t 6000',
  '-s 10.0.0.1 -d 10.0.0.6 -p dccp --sport 1 --dport 2 --state OPEN --role client -t 6000',
  '-s 10.0.0.1 -d 10.0.0.7 -p gre --srckey 0x10 --dstkey 0x20 -t 6000',
  '-s 10.0.0.1 -d 10.0.0.8 -p udplite --sport 7 --dport 8 -t 6000',
  '-s 10.0.0.1 -d 10.0.0.11 -p 200 -t 6000',
  '-s 192.168.1.10 -d 8.8.8.8 -p tcp --sport 4000 --dport 80 --state ESTABLISHED --src-nat 203.0.113.1 -m 3 -t 6000',
  '-s 8.8.4.4 -d 203.0.113.1 -p tcp --sport 5000 --dport 8080 --state SYN_SENT --dst-nat 192.168.1.20:80 -t 6000',
  '-s 10.0.0.1 -d 10.0.0.12 -p udp --sport 7 --dport 7 --orig-zone 3 -t 6000',
  '-s 10.0.0.1 -d 10.0.0.13 -p udp --sport 7 --dport 7 --reply-zone 4 -t 6000',
  '-s 10.0.0.1 -d 10.0.0.9 -p udp --sport 7 --dport 7 -w 5 -u SEEN_REPLY,ASSURED -t 6000',
  '-s 2001:db8::10 -d 2001:db8:1::20 -p udp --sport 5353 --dport 53 -m 7 -t 6000',
  '-s 2001:db8::10 -d 2001:db8:1::30 -p tcp --sport 40000 --dport 22 --state TIME_WAIT --src-nat 2001:db8::99 -t 6000',
].map((line) => line.split(' '));

/** Filters whose selection `-o json` must keep (each runs as `-L FILTER`). */
const FILTERS: string[] = [
  '', '-f ipv4', '-f ipv6', '-p tcp', '-p udp', '-p icmp', '-p icmpv6', '-p sctp', '-p dccp', '-p gre', '-p udplite',
  '-p 200', '-p tcp --state ESTABLISHED', '-p udp --dport 53', '-s 10.0.0.1', '-d 2001:db8:1::/48',
  '-r 8.8.8.8', '-q 10.0.0.1', '-m 3', '-m 0x4/0x4', '-u ASSURED', '-u SEEN_REPLY', '-n', '-n 203.0.113.1', '-g',
  '-g 192.168.1.20:80', '-j', '-w 5', '--orig-zone 3', '--reply-zone 4', '-s 10.0.0.0/8 -p udp', '-c 0',
].map((f) => f.trim());

/** Members the run must have printed (dotted paths; `flow.` or `expectation.` first). */
const MUST_SEE = [
  'flow.event', 'flow.time', 'flow.family', 'flow.protocol', 'flow.protonum', 'flow.timeout', 'flow.state', 'flow.status',
  'flow.orig.src', 'flow.orig.dst', 'flow.orig.sport', 'flow.orig.dport', 'flow.orig.srckey', 'flow.orig.dstkey',
  'flow.orig.type', 'flow.orig.code', 'flow.orig.id', 'flow.orig.zone', 'flow.reply.zone', 'flow.orig.packets',
  'flow.orig.bytes', 'flow.mark', 'flow.zone', 'flow.use', 'flow.id', 'flow.timestamp.start', 'flow.timestamp.stop',
  'flow.portid', 'flow.progname', 'flow.helper',
  'expectation.event', 'expectation.time', 'expectation.family', 'expectation.timeout', 'expectation.tuple.dport',
  'expectation.mask.src', 'expectation.master.sport', 'expectation.id', 'expectation.flags', 'expectation.class',
  'expectation.helper',
];

interface Printed {
  argv: string;
  lines: string[];
}

async function run(ns: Netns, argv: string, status = 0): Promise<Printed> {
  const r = await ns.exec(process.execPath, [OURS, ...argv.split(' ').filter((w) => w !== '')]);
  assert.equal(r.status, status, `conntrack ${argv}: ${r.stderr.toString()}`);
  return { argv, lines: r.stdout.toString().split('\n').filter((l) => l !== '') };
}

/** `conntrack ARGV` listening until stopped. */
class Listener {
  private readonly child: ChildProcess;
  private readonly out: Buffer[] = [];

  constructor(ns: Netns, readonly argv: string) {
    this.child = ns.spawn(process.execPath, [OURS, ...argv.split(' ')]);
    this.child.stdout!.on('data', (b: Buffer) => this.out.push(b));
  }

  get text(): string {
    return Buffer.concat(this.out).toString();
  }

  /** Waits until a line containing `marker` was printed. */
  async waitFor(marker: string, poke?: () => Promise<unknown>): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!this.text.includes(marker)) {
      assert.ok(Date.now() < deadline, `conntrack ${this.argv}: no line with ${marker}:\n${this.text}`);
      await poke?.();
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async stop(): Promise<Printed> {
    const closed = once(this.child, 'close');
    this.child.kill('SIGINT');
    await closed;
    return { argv: this.argv, lines: this.text.split('\n').filter((l) => l !== '') };
  }
}

/** Dotted paths of every member of a JSON value, below `prefix`. */
function memberPaths(value: unknown, prefix: string, into: Set<string>): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return;
  for (const [k, v] of Object.entries(value)) {
    into.add(`${prefix}.${k}`);
    memberPaths(v, `${prefix}.${k}`, into);
  }
}

test('real -o json output of every command validates against the schema', { timeout: 120_000 }, async (t) => {
  const ns = await withNetns(t, 'jsonschema');
  await ns.sysctl('net.netfilter.nf_conntrack_acct', 1);
  await ns.sysctl('net.netfilter.nf_conntrack_timestamp', 1);

  // Listeners first, so they see the traffic; a probe entry tells when they listen.
  const events = new Listener(ns, '-E -o json,timestamp');
  const expectEvents = new Listener(ns, '-E expect -o json,timestamp');
  let probe = 0;
  const poke = (): Promise<unknown> =>
    ns.exec(REFERENCE_CONNTRACK, ['-I', '-s', '10.99.0.1', '-d', '10.99.0.2', '-p', 'udp', '--sport', String(++probe), '--dport', '9', '-t', '60']);
  await events.waitFor('"10.99.0.1"', poke);
  // `progname` is printed only while the process that caused an event still
  // holds its socket: one that stays until the listener has printed it (a
  // short-lived `conntrack` may be gone before its event is read).
  const holder = ns.spawn(process.execPath, [
    '-e',
    `const { Conntrack } = require(${JSON.stringify(LIBRARY)});
     Conntrack.open().create({ family: 2, orig: { l3: 2, src: '10.99.1.1', dst: '10.99.1.2', proto: 17, sport: 1, dport: 9 }, timeout: 60 });
     setTimeout(() => {}, 60_000);`,
  ]);
  await events.waitFor('"progname"');
  holder.kill();

  const traffic = await makeTraffic(ns, { keepOpen: true });
  await ctFill(ns, LOADED);
  const ftp = await FtpLab.start(ns);
  await ftp.announce('127.0.0.1', 40000, portCommand(10000));
  await ftp.announce('::1', 40001, eprtCommand(10001));
  await expectEvents.waitFor('"dport":10001');

  const printed: Printed[] = [];
  for (const filter of FILTERS) {
    const json = await run(ns, `-L -o json ${filter}`);
    const text = (await ns.execOk(REFERENCE_CONNTRACK, ['-L', ...filter.split(' ').filter((w) => w !== '')])).stdout.toString();
    assert.equal(json.lines.length, text.split('\n').length - 1, `-L ${filter}: -o json selects what the default format selects`);
    printed.push(json);
  }
  for (const argv of ['-L -o json,extended,id,ktimestamp', '-L dying -o json', '-L unconfirmed -o json', '-L expect -o json']) {
    printed.push(await run(ns, argv));
  }
  for (const flow of traffic.flows.filter((f) => f.open)) {
    printed.push(await run(ns, `-G -o json -p tcp -s ${flow.src} -d ${flow.dst} --sport ${flow.sport} --dport ${flow.dport}`));
  }
  printed.push(await run(ns, '-U -o json -p udp -m 9'));
  // ICMP entries of their own for the deletes: the traffic's live 30 s, less than this run may take on a loaded machine.
  await ctFill(ns, [
    '-p icmp -s 10.99.2.1 -d 10.99.2.2 --icmp-type 8 --icmp-code 0 --icmp-id 7 -t 600'.split(' '),
    '-p icmpv6 -s fd00:99::1 -d fd00:99::2 --icmpv6-type 128 --icmpv6-code 0 --icmpv6-id 7 -t 600'.split(' '),
  ]);
  printed.push(await run(ns, '-D -o json -p icmp'));
  printed.push(await run(ns, '-D -o json -f ipv6 -p icmpv6'));
  await ftp.stop();
  await traffic.close();
  await ns.execOk(REFERENCE_CONNTRACK, ['-F', 'expect']);
  await events.waitFor('"event":"destroy"');
  printed.push(await events.stop(), await expectEvents.stop());

  const validator = new SchemaValidator(loadOutputSchema());
  const seen = new Set<string>();
  const families = new Set<string>();
  for (const { argv, lines } of printed) {
    for (const line of lines) {
      const doc = JSON.parse(line) as Record<string, unknown>;
      assert.deepEqual(validator.validate(doc), [], `conntrack ${argv}:\n${line}`);
      memberPaths(doc, 'tuple' in doc ? 'expectation' : 'flow', seen);
      families.add(`${doc.family} ${doc.protocol}`);
    }
  }
  for (const pair of ['ipv4 tcp', 'ipv4 udp', 'ipv4 icmp', 'ipv6 tcp', 'ipv6 udp', 'ipv6 icmpv6']) assert.ok(families.has(pair), pair);
  assert.deepEqual(MUST_SEE.filter((p) => !seen.has(p)), [], 'members the run never printed');
  for (const argv of ['-D -o json -p icmp', '-U -o json -p udp -m 9', '-E expect -o json,timestamp']) {
    assert.ok(printed.find((p) => p.argv === argv)!.lines.length > 0, `conntrack ${argv} printed nothing`);
  }
});
