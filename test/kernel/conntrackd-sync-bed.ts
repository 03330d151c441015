import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { subjectConntrackd } from '../diff/conntrackd-harness';
import { REFERENCE_CONNTRACK, runOk, withNetns, type Netns } from './netns';
import { until } from './wait';

/**
 * The two-node bed of the conntrackd sync tests: two firewalls in two
 * namespaces, joined by a veth pair that carries the sync link. Flows made
 * in the primary's kernel (`conntrack -I`) reach the backup's external
 * cache; `-c` on the backup writes them into its kernel. Either node runs
 * our daemon or the C conntrackd 1.4.7, and the C client drives both.
 */
export const C_DAEMON = process.env.CONNTRACKD_REFERENCE ?? '/usr/sbin/conntrackd';
export type Impl = 'ours' | 'c';

export const NODES = [
  { dev: 'fw-a', addr: '192.168.79.1' },
  { dev: 'fw-b', addr: '192.168.79.2' },
] as const;

/** The primary's flows, as `conntrack -I` arguments: mark, NAT with ports, ICMP, a zone, IPv6. */
export const FLOWS = [
  '-p tcp -s 10.1.1.1 -d 10.2.2.2 --sport 1000 --dport 80 --state ESTABLISHED -u ASSURED -t 300 -m 7',
  '-p udp -s 10.1.1.1 -d 10.2.2.2 --sport 1002 --dport 53 -t 300 --src-nat 10.9.9.9:4000',
  '-p tcp -s 10.1.1.1 -d 10.2.2.3 --sport 1003 --dport 80 --state ESTABLISHED -t 300 --dst-nat 10.3.3.3:8080',
  '-p icmp -s 10.1.1.1 -d 10.2.2.2 --icmp-type 8 --icmp-code 0 --icmp-id 4660 -t 300',
  '-p tcp -s 10.1.1.1 -d 10.2.2.2 --sport 1004 --dport 443 --state ESTABLISHED -t 300 -w 5',
  '-p tcp -s 2001:db8::1 -d 2001:db8::2 --sport 1007 --dport 22 --state ESTABLISHED -t 300',
];

/** How the two nodes replicate: the mode and the kind of link. */
export interface SyncSetup {
  mode: 'FTFW' | 'NOTRACK' | 'ALARM';
  link: 'UDP' | 'TCP';
  /** The peer's changes go straight into the kernel. */
  disableExternalCache?: boolean;
  /** More General options (e.g. the event socket's buffer sizes). */
  general?: string;
}
export const FTFW_UDP: SyncSetup = { mode: 'FTFW', link: 'UDP' };

function configText(dir: string, setup: SyncSetup, self: (typeof NODES)[number], peer: (typeof NODES)[number]): string {
  return `Sync {
  Mode ${setup.mode} { ${setup.disableExternalCache ? 'DisableExternalCache on' : ''} }
  ${setup.link} { IPv4_address ${self.addr} IPv4_Destination_Address ${peer.addr} Port 3790 Interface ${self.dev} Checksum on }
}
General {
  ${setup.general ?? ''}
  HashSize 8192
  HashLimit 65536
  LogFile ${dir}/${self.dev}.log
  LockFile ${dir}/${self.dev}.lock
  UNIX { Path ${dir}/${self.dev}.ctl }
  Scheduler { Type FIFO Priority 0 }
  Filter From Userspace {
    Address Ignore { IPv4_address 127.0.0.1 IPv4_address ${NODES[0].addr} IPv4_address ${NODES[1].addr} }
  }
}
`;
}

export interface Node {
  ns: Netns;
  config: string;
  log: string;
  impl: Impl;
  daemon?: ChildProcess;
}

/** Runs the C client against a node's daemon. */
export async function client(node: Node, ...args: string[]): Promise<string> {
  return (await node.ns.execOk(C_DAEMON, ['-C', node.config, ...args])).stdout.toString();
}

export async function start(node: Node): Promise<void> {
  const argv = node.impl === 'c' ? [C_DAEMON] : subjectConntrackd().argv;
  const child = node.ns.spawn(argv[0]!, [...argv.slice(1), '-C', node.config]);
  const output: Buffer[] = [];
  child.stdout!.on('data', (b: Buffer) => output.push(b));
  child.stderr!.on('data', (b: Buffer) => output.push(b));
  const up = await until(async () => (await node.ns.exec(C_DAEMON, ['-C', node.config, '-s'])).status === 0, 15_000);
  assert.ok(up, `the ${node.impl} daemon did not start:\n${Buffer.concat(output)}`);
  node.daemon = child;
}

export async function stop(node: Node): Promise<void> {
  const child = node.daemon;
  if (!child || child.exitCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
}

export async function bed(t: TestContext, impls: [Impl, Impl], setup: SyncSetup): Promise<[Node, Node]> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ctd-sync-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const a = await withNetns(t, 'fwa');
  const b = await withNetns(t, 'fwb');
  await runOk('ip', ['link', 'add', NODES[0].dev, 'netns', a.name, 'type', 'veth', 'peer', 'name', NODES[1].dev, 'netns', b.name]);
  const nodes = [a, b].map((ns, i): Node => {
    const self = NODES[i]!;
    return { ns, impl: impls[i]!, config: path.join(dir, `${self.dev}.conf`), log: path.join(dir, `${self.dev}.log`) };
  }) as [Node, Node];
  for (const [i, node] of nodes.entries()) {
    const self = NODES[i]!;
    await node.ns.execOk('ip', ['addr', 'add', `${self.addr}/24`, 'dev', self.dev]);
    await node.ns.execOk('ip', ['link', 'set', self.dev, 'up']);
    await writeFile(node.config, configText(dir, setup, self, NODES[1 - i]!));
  }
  t.after(() => Promise.all(nodes.map(stop)));
  return nodes;
}

/** `-e` without the ages, sorted: what two backups that received the same flows must agree on. */
export const externalLines = (text: string): string[] =>
  text.split('\n').filter(Boolean).map((l) => l.replace(/( \[active since \d+s\]| \[expires in \d+s\])+$/, '')).sort();

/** The kernel lines of the primary's flows. */
export const REPLICATED = / src=(10\.1\.|2001:db8::1 )/;

/** `conntrack -L` of the replicated flows without timeouts and ids, sorted. */
export async function kernelLines(ns: Netns): Promise<string[]> {
  let out = '';
  for (const family of ['ipv4', 'ipv6']) out += (await ns.execOk(REFERENCE_CONNTRACK, ['-L', '-f', family])).stdout.toString();
  const lines = out
    .split('\n')
    .filter((l) => REPLICATED.test(l))
    .map((l) => l.replace(/^(\S+\s+\d+) \d+ /, '$1 ').replace(/ use=\d+/, ''))
    .sort();
  assert.equal(lines.length, FLOWS.length, out);
  return lines;
}

/** Starts both daemons, makes the flows on the primary and waits for the backup's external cache to hold them all. */
export async function replicate(
  t: TestContext,
  impls: [Impl, Impl],
  setup = FTFW_UDP,
): Promise<{ primary: Node; backup: Node; external: string[] }> {
  const [primary, backup] = await bed(t, impls, setup);
  await start(primary);
  await start(backup);
  for (const args of FLOWS) await primary.ns.execOk(REFERENCE_CONNTRACK, ['-I', ...args.split(' ')]);
  let external: string[] = [];
  const complete = await until(async () => (external = externalLines(await client(backup, '-e'))).length === FLOWS.length);
  assert.ok(complete, `the backup's external cache: ${external.join('\n')}`);
  return { primary, backup, external };
}

/**
 * `-c` on the backup, then its kernel table must hold the primary's flows
 * (both tuples with NAT, mark, zone, state). The C client may return before
 * the C daemon's commit is over: its table is polled.
 */
export async function commitIntoKernel(backup: Node, primary: Node): Promise<void> {
  await client(backup, '-c');
  const expected = await kernelLines(primary.ns);
  if (backup.impl === 'c') await until(async () => (await kernelLines(backup.ns).catch(() => [])).length === FLOWS.length, 5000);
  const committed = await kernelLines(backup.ns).catch((err: Error) => [err.message]);
  assert.deepEqual(committed, expected, await readFile(backup.log, 'utf8'));
}
