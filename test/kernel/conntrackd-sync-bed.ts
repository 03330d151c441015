import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { subjectConntrackd } from '../diff/conntrackd-harness';
import { REPO_ROOT } from '../diff/framework';
import { REFERENCE_CONNTRACK, runOk, withNetns, type AfterHookContext, type Netns } from './netns';
import { EchoClients, EchoServer } from './tcp-sessions';
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
  /** `Options { ExpectationSync … }`: `On`, or a helper list such as `{ ftp }`. */
  expectationSync?: string;
  /** Dedicated links (veth pairs, one link block each; the first is the Default). Default 1. */
  links?: number;
  /** More lines for the General section (buffer sizes, NetlinkOverrunResync…). */
  general?: string;
}
export const FTFW_UDP: SyncSetup = { mode: 'FTFW', link: 'UDP' };

/**
 * Dedicated link `k` of node `i`: link 0 is NODES[i], link k a veth pair of
 * its own on 192.168.(79+k).0/24, with its own port (1.4.7 binds the
 * wildcard address, so two links on one port would share a socket).
 */
export function syncLink(i: number, k: number): { dev: string; addr: string; port: number } {
  const node = NODES[i]!;
  return k === 0 ? { ...node, port: 3790 } : { dev: `${node.dev}${k + 1}`, addr: `192.168.${79 + k}.${i + 1}`, port: 3790 + k };
}

function configText(dir: string, setup: SyncSetup, i: number): string {
  const self = NODES[i]!;
  const links = Array.from({ length: setup.links ?? 1 }, (_, k) => [syncLink(i, k), syncLink(1 - i, k)] as const);
  const blocks = links.map(
    ([own, peer], k) =>
      `  ${setup.link}${k === 0 && links.length > 1 ? ' Default' : ''} { IPv4_address ${own.addr} IPv4_Destination_Address ${peer.addr} Port ${own.port} Interface ${own.dev} Checksum on }`,
  );
  const ignored = links.flatMap(([own, peer]) => [own.addr, peer.addr]).map((a) => `IPv4_address ${a}`);
  return `Sync {
  Mode ${setup.mode} { ${setup.disableExternalCache ? 'DisableExternalCache on' : ''} }
${blocks.join('\n')}
  ${setup.expectationSync ? `Options { ExpectationSync ${setup.expectationSync} }` : ''}
}
General {
  HashSize 8192
  HashLimit 65536
  LogFile ${dir}/${self.dev}.log
  LockFile ${dir}/${self.dev}.lock
  UNIX { Path ${dir}/${self.dev}.ctl }
  Scheduler { Type FIFO Priority 0 }
  ${setup.general ?? ''}
  Filter From Userspace {
    Address Ignore { IPv4_address 127.0.0.1 ${ignored.join(' ')} }
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

export async function bed(t: AfterHookContext, impls: [Impl, Impl], setup: SyncSetup): Promise<[Node, Node]> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ctd-sync-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const a = await withNetns(t, 'fwa');
  const b = await withNetns(t, 'fwb');
  const nodes = [a, b].map((ns, i): Node => {
    const self = NODES[i]!;
    return { ns, impl: impls[i]!, config: path.join(dir, `${self.dev}.conf`), log: path.join(dir, `${self.dev}.log`) };
  }) as [Node, Node];
  for (let k = 0; k < (setup.links ?? 1); k++) {
    const ends = [syncLink(0, k), syncLink(1, k)];
    await runOk('ip', ['link', 'add', ends[0]!.dev, 'netns', a.name, 'type', 'veth', 'peer', 'name', ends[1]!.dev, 'netns', b.name]);
    for (const [i, node] of nodes.entries()) {
      await node.ns.execOk('ip', ['addr', 'add', `${ends[i]!.addr}/24`, 'dev', ends[i]!.dev]);
      await node.ns.execOk('ip', ['link', 'set', ends[i]!.dev, 'up']);
    }
  }
  for (const [i, node] of nodes.entries()) await writeFile(node.config, configText(dir, setup, i));
  t.after(async () => void (await Promise.all(nodes.map(stop))));
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
  t: AfterHookContext,
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

// ---------------------------------------------------------------------------
// Fail-over: the two firewalls between a LAN and a WAN

/**
 * The fail-over bed's addresses. The LAN host routes through the LAN VIP;
 * the firewalls SNAT to the WAN VIP, which is on the WAN host's subnet, so
 * the WAN host needs no route back: both directions of every connection go
 * through whichever firewall holds the VIPs.
 */
export const NET = {
  lanHost: '10.10.1.10',
  wanHost: '10.10.2.10',
  vips: { lan: '10.10.1.1', wan: '10.10.2.1' },
  firewalls: [
    { lan: '10.10.1.2', wan: '10.10.2.2' },
    { lan: '10.10.1.3', wan: '10.10.2.3' },
  ],
} as const;

/**
 * Each firewall's ruleset: forward what conntrack knows, open new
 * connections only from the LAN (a TCP one only with a SYN: a mid-stream
 * packet of a connection the firewall does not know is dropped, as it would
 * be by a firewall that tracks windows), SNAT to the WAN VIP, and let
 * nothing from the LAN or WAN reach the firewall itself (no RST for a
 * connection it does not know). The last forward rule counts the drops.
 */
export const FIREWALL_RULESET = `table inet failover {
  chain input {
    type filter hook input priority filter; policy accept;
    iifname { "lan", "wan" } ct state established,related accept
    iifname { "lan", "wan" } drop
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "lan" tcp flags & (fin | syn | rst | ack) == syn ct state new accept
    iifname "lan" meta l4proto != tcp ct state new accept
    counter drop
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan" snat ip to ${NET.vips.wan}
  }
}
`;

export interface Cluster {
  lan: Netns;
  wan: Netns;
  /** The first holds the VIPs at start. */
  firewalls: [Node, Node];
}

/**
 * The sync bed's two firewalls, each with a LAN and a WAN leg on two
 * bridges of a switch namespace, where the LAN host and the WAN host sit
 * too; the first firewall holds the VIPs. The daemons are not started.
 */
export async function cluster(t: AfterHookContext, impls: [Impl, Impl], setup = FTFW_UDP): Promise<Cluster> {
  const firewalls = await bed(t, impls, setup);
  const sw = await withNetns(t, 'sw');
  const lan = await withNetns(t, 'lan');
  const wan = await withNetns(t, 'wan');
  for (const side of ['lan', 'wan'] as const) {
    await sw.execOk('ip', ['link', 'add', `br-${side}`, 'type', 'bridge']);
    await sw.execOk('ip', ['link', 'set', `br-${side}`, 'up']);
  }
  /** A veth from `dev` in `ns` to a port of the `side` bridge. */
  const plug = async (ns: Netns, dev: string, port: string, side: 'lan' | 'wan', addr: string): Promise<void> => {
    await runOk('ip', ['link', 'add', dev, 'netns', ns.name, 'type', 'veth', 'peer', 'name', port, 'netns', sw.name]);
    await sw.execOk('ip', ['link', 'set', port, 'master', `br-${side}`, 'up']);
    await ns.execOk('ip', ['addr', 'add', `${addr}/24`, 'dev', dev]);
    await ns.execOk('ip', ['link', 'set', dev, 'up']);
  };
  await plug(lan, 'lan0', 'h-lan', 'lan', NET.lanHost);
  await plug(wan, 'wan0', 'h-wan', 'wan', NET.wanHost);
  await lan.execOk('ip', ['route', 'add', 'default', 'via', NET.vips.lan]);
  // A connection's packets that met a firewall without state come again once
  // it has committed; TCP's retransmission backs off to minutes, which would
  // only slow the tests down. Kernels before 6.15 lack the knob: then TCP's
  // own back-off it is.
  for (const host of [lan, wan]) await host.exec('sh', ['-c', 'echo 1000 > /proc/sys/net/ipv4/tcp_rto_max_ms']);
  for (const [i, fw] of firewalls.entries()) {
    const own = NET.firewalls[i]!;
    await plug(fw.ns, 'lan', `fw${i + 1}-lan`, 'lan', own.lan);
    await plug(fw.ns, 'wan', `fw${i + 1}-wan`, 'wan', own.wan);
    await fw.ns.sysctl('net.ipv4.ip_forward', 1);
    await fw.ns.nft(FIREWALL_RULESET);
  }
  await setVips(firewalls[0], 'add');
  return { lan, wan, firewalls };
}

/** Installs or removes the VIPs on a firewall, as keepalived does (/32 on each leg). */
export async function setVips(fw: Node, op: 'add' | 'del'): Promise<void> {
  for (const side of ['lan', 'wan'] as const) await fw.ns.execOk('ip', ['addr', op, `${NET.vips[side]}/32`, 'dev', side]);
}

/**
 * Moves the VIPs from one firewall to the other. keepalived announces the
 * move with gratuitous ARP; the hosts here forget their neighbours instead,
 * which has the same effect: their next packet finds the new holder.
 */
export async function moveVips(c: Cluster, from: Node, to: Node): Promise<void> {
  await setVips(from, 'del');
  await setVips(to, 'add');
  await c.lan.execOk('ip', ['neigh', 'flush', 'dev', 'lan0']);
  await c.wan.execOk('ip', ['neigh', 'flush', 'dev', 'wan0']);
}

/** Packets the firewall's forward chain dropped so far. */
export async function forwardDrops(fw: Node): Promise<number> {
  const listing = (await fw.ns.execOk('nft', ['list', 'chain', 'inet', 'failover', 'forward'])).stdout.toString();
  return Number(/counter packets (\d+) bytes \d+ drop/.exec(listing)?.[1] ?? NaN);
}

/** The package's keepalived notify script. */
export const PRIMARY_BACKUP = path.join(REPO_ROOT, 'examples/primary-backup.sh');

/**
 * Runs `primary-backup.sh VERB` on a firewall as keepalived's notify would,
 * with the node's own conntrackd as the client (ours or the C one). Returns
 * what the script printed (its log lines).
 */
export async function notify(fw: Node, verb: 'primary' | 'backup' | 'fault'): Promise<string> {
  const conntrackd = fw.impl === 'c' ? C_DAEMON : subjectConntrackd().argv.join(' ');
  const env = { CONNTRACKD: conntrackd, CONNTRACKD_CONFIG: fw.config, CONNTRACKD_LOCK: fw.config.replace(/\.conf$/, '.lock') };
  const r = await fw.ns.execOk('sh', [PRIMARY_BACKUP, verb], { env });
  return r.stderr.toString() + r.stdout.toString();
}

/** What a fail-over drill measured. */
export interface DrillResult {
  impls: [Impl, Impl];
  connections: number;
  /** In the backup's external cache when the primary was killed. */
  replicated: number;
  /** The backup's "Packets lost" (sequence tracking, `-s network`) then. */
  lostOnLink: number;
  /** Echoed on their own socket after the fail-over. */
  survived: number;
  /** Reset, or silent until the round's deadline. */
  closed: number;
  silent: number;
  /** primary-backup.sh primary on the new primary, wall seconds. */
  notifySeconds: number;
  /** What the new primary's log says its `-c` took. */
  commitSeconds: number;
  /** From the kill until every surviving connection had echoed, wall seconds. */
  recoverySeconds: number;
}

/**
 * The fail-over drill: `n` live TCP connections through the primary, the
 * primary's daemon killed (SIGKILL) and its LAN and WAN legs cut (the box
 * is gone), the VIPs on the backup, `primary-backup.sh primary` there, and
 * one more round on every connection.
 */
export async function drill(t: AfterHookContext, impls: [Impl, Impl], n: number, port = 7007): Promise<DrillResult> {
  const c = await cluster(t, impls, { ...FTFW_UDP, general: DEBIAN_EXAMPLE_BUFFERS });
  const [fw1, fw2] = c.firewalls;
  await start(fw1);
  await start(fw2);
  await EchoServer.start(c.wan, NET.wanHost, port);
  const conns = await EchoClients.connect(c.lan, NET.wanHost, port, n);
  t.after(() => conns.close());
  const warmUp = await conns.round(DRILL_ROUND_MS);
  assert.equal(warmUp.echoed, n, `before the fail-over: ${JSON.stringify(warmUp)}`);
  let replicated = 0;
  const pattern = new RegExp(`dport=${port} `, 'g');
  await until(async () => (replicated = (await client(fw2, '-e')).match(pattern)?.length ?? 0) === n, 30_000);

  const lostOnLink = Number(/Packets lost:\s+(\d+)/.exec(await client(fw2, '-s', 'network'))?.[1]);
  const killedAt = Date.now();
  fw1.daemon!.kill('SIGKILL');
  for (const leg of ['lan', 'wan']) await fw1.ns.execOk('ip', ['link', 'set', leg, 'down']);
  await moveVips(c, fw1, fw2);
  const notifyStart = Date.now();
  await notify(fw2, 'primary');
  const notifySeconds = (Date.now() - notifyStart) / 1000;
  const after = await conns.round(DRILL_ROUND_MS);
  const commitSeconds = Number(/commit has taken ([\d.]+) seconds/.exec(await readFile(fw2.log, 'utf8'))?.[1]);
  return {
    impls,
    connections: n,
    replicated,
    lostOnLink,
    survived: after.echoed,
    closed: after.closed,
    silent: after.silent,
    notifySeconds,
    commitSeconds,
    recoverySeconds: (Date.now() - killedAt) / 1000,
  };
}

/**
 * The event socket's buffers of the Debian example config, which users copy:
 * with the kernel's default, the burst of connections overruns the
 * primary's event socket and the lost flows reach the backup only with the
 * resync NetlinkOverrunResync seconds later.
 */
const DEBIAN_EXAMPLE_BUFFERS = 'NetlinkBufferSize 2097152\n  NetlinkBufferSizeMaxGrowth 8388608';

/** A round's deadline in the drill: long enough for TCP's retransmissions to reach a backup that committed late. */
const DRILL_ROUND_MS = 30_000;
