/**
 * `conntrack -E` differential: the reference and ours listen at the same
 * time in one namespace while the same changes happen — entries created,
 * updated, deleted and flushed by the reference tool, and real traffic
 * through an nft ruleset — then both get SIGINT. Both receive the very same
 * event messages, so their outputs must be byte-identical after:
 *  - ` progname=NAME` removed: found only while the causing process lives,
 *    which is a race for both (the port id stays: it is the event's);
 *  - the reference's ` [USERSPACE] …` after XML flows removed (D11: 1.4.9
 *    no longer prints it there, nor do we);
 *  - the wall-clock `-o timestamp` prefixes and `<when>` elements masked;
 *  - the banner rebranded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createNetns, ctFill, makeTraffic, REFERENCE_CONNTRACK, type Netns } from '../kernel/netns';
import { rebrand, reference, subject } from './framework';

interface EventCase {
  args: readonly string[];
  /** Prints no event: a mask of no group (`-e D` is DST_NAT) or an option error. */
  silent?: boolean;
}

/** The changes every case listens to: NEW, UPDATE, DESTROY of every kind of entry the filters select. */
async function produce(ns: Netns): Promise<void> {
  await ctFill(ns, [
    ['-p', 'tcp', '-s', '10.0.0.1', '-d', '10.0.0.2', '--sport', '1111', '--dport', '80', '--state', 'ESTABLISHED', '-t', '100', '-m', '5'],
    ['-p', 'udp', '-s', '10.0.0.1', '-d', '10.0.0.9', '--sport', '7', '--dport', '53', '-t', '100', '-w', '3'],
    ['-p', 'udp', '-s', '10.0.1.5', '-d', '10.0.0.12', '--sport', '7', '--dport', '7', '-t', '100', '--orig-zone', '3'],
    ['-p', 'tcp', '-s', '2001:db8::1', '-d', '2001:db8::2', '--sport', '1', '--dport', '443', '--state', 'SYN_SENT', '-t', '100'],
    ['-p', 'icmp', '-s', '10.0.0.1', '-d', '10.0.0.4', '--icmp-type', '8', '--icmp-code', '0', '--icmp-id', '77', '-t', '100'],
    ['-p', 'tcp', '-s', '192.168.1.10', '-d', '8.8.8.8', '--sport', '4000', '--dport', '80', '--state', 'ESTABLISHED', '-t', '100', '--src-nat', '203.0.113.1'],
    ['-p', 'tcp', '-s', '8.8.4.4', '-d', '203.0.113.1', '--sport', '5000', '--dport', '8080', '--state', 'ESTABLISHED', '-t', '100', '--dst-nat', '192.168.1.20'],
  ]);
  await ns.execOk(REFERENCE_CONNTRACK, ['-U', '-s', '10.0.0.1', '-p', 'tcp', '-m', '6']);
  await makeTraffic(ns);
  await ns.execOk(REFERENCE_CONNTRACK, ['-D', '-p', 'udp', '-s', '10.0.0.1']);
  await ns.execOk(REFERENCE_CONNTRACK, ['-F']);
}

function normalize(text: string): string {
  return text
    .replace(/(<\/flow>) \[USERSPACE\][^\n]*/g, '$1')
    .replace(/( \[USERSPACE\] portid=\d+) progname=[^\n]*/g, '$1')
    .replace(/^\[\d{8,}\.\d{6}\]\t/gm, '[TIME]\t')
    .replace(/<when>.*?<\/when>/g, '<when/>');
}

function listen(ns: Netns, argv: readonly string[], args: readonly string[]): { child: ChildProcess; stdout: Buffer[]; stderr: Buffer[] } {
  const child = ns.spawn(argv[0]!, [...argv.slice(1), '-E', ...args]);
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout!.on('data', (b: Buffer) => stdout.push(b));
  child.stderr!.on('data', (b: Buffer) => stderr.push(b));
  return { child, stdout, stderr };
}

/** Waits until `n` NETLINK_NETFILTER sockets of the namespace have joined event groups (at most 5 s: `-e D` joins none). */
async function subscribed(ns: Netns, n: number): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const table = (await ns.execOk('cat', ['/proc/net/netlink'])).stdout.toString();
    const joined = table.split('\n').filter((l) => {
      const c = l.trim().split(/\s+/);
      return c[1] === '12' && c[3] !== undefined && c[3] !== '00000000';
    });
    if (joined.length >= n) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function stop(child: ChildProcess): Promise<{ status: number | null; signal: string | null }> {
  if (child.exitCode === null && child.signalCode === null) {
    const closed = once(child, 'close');
    child.kill('SIGINT');
    await closed;
  }
  return { status: child.exitCode, signal: child.signalCode };
}

async function runEventDiff(c: EventCase): Promise<void> {
  const sub = subject();
  const ns = await createNetns('evdiff');
  try {
    const ref = listen(ns, reference.argv, c.args);
    const ours = listen(ns, sub.argv, c.args);
    await subscribed(ns, 2);
    await produce(ns);
    // Both sockets received everything; give the slower reader time to print it.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const [refExit, ourExit] = await Promise.all([stop(ref.child), stop(ours.child)]);
    const what = `conntrack -E ${c.args.join(' ')}`;
    const refOut = normalize(Buffer.concat(ref.stdout).toString('latin1'));
    const ourOut = normalize(Buffer.concat(ours.stdout).toString('latin1'));
    assert.equal(ourOut, rebrand(refOut, reference, sub), `${what}: stdout differs`);
    // A filter that matched nothing would compare nothing.
    assert.equal(refOut === '', c.silent === true, `${what}: events printed:\n${refOut}`);
    const refErr = Buffer.concat(ref.stderr).toString('latin1');
    assert.equal(Buffer.concat(ours.stderr).toString('latin1'), rebrand(refErr, reference, sub), `${what}: stderr differs`);
    assert.deepEqual(ourExit, refExit, `${what}: exit differs`);
  } finally {
    await ns.destroy();
  }
}

const CASES: readonly EventCase[] = [
  { args: [] },
  { args: ['-o', 'extended,id'] },
  { args: ['-o', 'xml'] },
  { args: ['-o', 'xml,timestamp,id'] },
  { args: ['-o', 'save'] },
  { args: ['-o', 'timestamp,extended'] },
  { args: ['-o', 'userspace'] },
  { args: ['-e', 'NEW'] },
  { args: ['-e', 'UPDATES,DESTROY'] },
  { args: ['-e', 'D'], silent: true },
  { args: ['-p', 'tcp'] },
  { args: ['-p', 'udp', '--dport', '53'] },
  { args: ['-p', 'tcp', '--state', 'ESTABLISHED'] },
  { args: ['-p', 'icmp', '--icmp-type', '8'] },
  { args: ['-s', '10.0.0.1'] },
  { args: ['-d', '10.0.0.0/24'] },
  { args: ['-s', '10.0.0.0', '--mask-src', '255.255.255.0'] },
  { args: ['-r', '10.0.0.2', '-q', '10.0.0.1'] },
  { args: ['-f', 'ipv6'] },
  { args: ['-s', '::1'] },
  { args: ['-m', '5'] },
  { args: ['-m', '0x4/0x4'] },
  { args: ['-w', '3'] },
  { args: ['--orig-zone', '3'] },
  { args: ['-n'] },
  { args: ['-g', '192.168.1.20'] },
  { args: ['-j'] },
  { args: ['-c', '1', '-p', 'udp'] },
  { args: ['-b', '100000'] },
  { args: ['--mask-src', '255.0.0.0'], silent: true },
];

for (const c of CASES) test(`conntrack -E ${c.args.join(' ')}`, () => runEventDiff(c));
