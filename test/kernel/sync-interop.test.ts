import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { test, type TestContext } from 'node:test';
import { Conntrack } from '../../src/api/conntrack';
import type { Flow } from '../../src/ctnetlink/flow';
import type { ChannelConfig, ChannelKind, SyncMode } from '../../src/conntrackd/config/config';
import { flowKey } from '../../src/conntrackd/sync/key';
import type { NetworkCounters } from '../../src/conntrackd/stats/counters';
import { REFERENCE_CONNTRACK, run, runOk, withNetns, type Netns } from './netns';

/*
 * Interoperation over a real link: the C conntrackd 1.4.7 in one namespace,
 * our machine for the same mode on our UDP, Multicast or TCP channel (test/kernel/sync-peer.ts) in
 * another, joined by a veth pair. Flows go both ways: the C primary's
 * kernel flows reach our external cache (asked for with a RESYNC), and
 * ours reach the C daemon's external cache (`conntrackd -e`).
 */
const CONNTRACKD = process.env.CONNTRACKD_REFERENCE ?? '/usr/sbin/conntrackd';
const C_ADDR = '192.168.78.1';
const TS_ADDR = '192.168.78.2';
const C_ADDR6 = 'fd00:78::1';
const TS_ADDR6 = 'fd00:78::2';

const GROUP = '225.0.0.50';

/** The C daemon's link block, and ours. */
type Link = ChannelKind | 'udp6';
const LINKS: Record<Link, { c: string; ours: ChannelConfig }> = {
  udp: {
    c: `UDP { IPv4_address ${C_ADDR} IPv4_Destination_Address ${TS_ADDR} Port 3780 Interface sync-c Checksum on }`,
    ours: { kind: 'udp', isDefault: true, family: 4, address: TS_ADDR, destination: C_ADDR, port: 3780, interface: 'sync-ts', checksum: true },
  },
  udp6: {
    c: `UDP { IPv6_address ${C_ADDR6} IPv6_Destination_Address ${TS_ADDR6} Port 3780 Interface sync-c Checksum on }`,
    ours: { kind: 'udp', isDefault: true, family: 6, address: TS_ADDR6, destination: C_ADDR6, port: 3780, interface: 'sync-ts', checksum: true },
  },
  tcp: {
    c: `TCP { IPv4_address ${C_ADDR} IPv4_Destination_Address ${TS_ADDR} Port 3780 Interface sync-c Checksum on }`,
    ours: { kind: 'tcp', isDefault: true, family: 4, address: TS_ADDR, destination: C_ADDR, port: 3780, interface: 'sync-ts', checksum: true },
  },
  multicast: {
    c: `Multicast { IPv4_address ${GROUP} Group 3780 IPv4_interface ${C_ADDR} Interface sync-c Checksum on }`,
    ours: { kind: 'multicast', isDefault: true, family: 4, address: GROUP, interfaceAddress: TS_ADDR, port: 3780, interface: 'sync-ts', checksum: true },
  },
};

/** The C daemon's Mode block: ALARM refreshes every 1 to 2 s here, so that flows arrive without a resync. */
const MODES: Record<SyncMode, string> = { ftfw: 'Mode FTFW { }', notrack: 'Mode NOTRACK { }', alarm: 'Mode ALARM { RefreshTime 2 CacheTimeout 10 }' };

function cConfig(dir: string, mode: SyncMode, link: string): string {
  return `Sync {
  ${MODES[mode]}
  ${link}
}
General {
  HashSize 8192
  HashLimit 65536
  LogFile ${dir}/c.log
  LockFile ${dir}/c.lock
  UNIX { Path ${dir}/c.ctl }
  Scheduler { Type FIFO Priority 0 }
  Filter From Userspace {
    Address Ignore { IPv4_address 127.0.0.1 IPv4_address ${C_ADDR} IPv4_address ${TS_ADDR} IPv6_address ${C_ADDR6} IPv6_address ${TS_ADDR6} }
  }
}
`;
}

const oursFlow = (sport: number): Flow => ({
  family: 2,
  orig: { l3: 2, src: '10.5.0.1', dst: '10.6.0.1', proto: 6, sport, dport: 443 },
  reply: { l3: 2, src: '10.6.0.1', dst: '10.5.0.1', proto: 6, sport: 443, dport: sport },
  status: 0x0e,
  timeout: 600,
  mark: sport,
  tcp: { state: 3 },
});

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const got = await probe();
    if (got !== undefined) return got;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const CASES: Array<[SyncMode, Link]> = [['ftfw', 'udp'], ['ftfw', 'udp6'], ['ftfw', 'multicast'], ['ftfw', 'tcp'], ['notrack', 'udp'], ['alarm', 'udp']];
for (const [mode, kind] of CASES) {
  test(`${mode} over ${kind}: C conntrackd 1.4.7 and our machine replicate both ways`, (t) => replicateBothWays(t, mode, kind));
}

async function replicateBothWays(t: TestContext, mode: SyncMode, kind: Link): Promise<void> {
  const c = await withNetns(t, 'syncc');
  const ours = await withNetns(t, 'syncts');
  await runOk('ip', ['link', 'add', 'sync-c', 'netns', c.name, 'type', 'veth', 'peer', 'name', 'sync-ts', 'netns', ours.name]);
  for (const [ns, dev, addr, addr6] of [[c, 'sync-c', C_ADDR, C_ADDR6], [ours, 'sync-ts', TS_ADDR, TS_ADDR6]] as Array<[Netns, string, string, string]>) {
    await ns.execOk('ip', ['addr', 'add', `${addr}/24`, 'dev', dev]);
    // nodad: usable at once, not after duplicate address detection.
    await ns.execOk('ip', ['addr', 'add', `${addr6}/64`, 'dev', dev, 'nodad']);
    await ns.execOk('ip', ['link', 'set', dev, 'up']);
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'ctts-sync-'));
  await writeFile(path.join(dir, 'c.conf'), cConfig(dir, mode, LINKS[kind].c));
  const kernelArgs = [
    '-p tcp -s 10.1.1.1 -d 10.2.2.2 --sport 1000 --dport 80 --state ESTABLISHED -u ASSURED -t 300 -m 7',
    '-p udp -s 10.1.1.1 -d 10.2.2.2 --sport 1002 --dport 53 -t 300 --src-nat 10.9.9.9:4000',
    '-p icmp -s 10.1.1.1 -d 10.2.2.2 --icmp-type 8 --icmp-code 0 --icmp-id 4660 -t 300',
    '-p tcp -s 2001:db8::1 -d 2001:db8::2 --sport 1007 --dport 22 --state ESTABLISHED -t 300 -w 5',
  ];
  for (const args of kernelArgs) await c.execOk(REFERENCE_CONNTRACK, ['-I', ...args.split(' ')]);
  const daemon = c.spawn(CONNTRACKD, ['-C', path.join(dir, 'c.conf')]);
  await until('the C daemon socket', async () => ((await c.exec(CONNTRACKD, ['-C', path.join(dir, 'c.conf'), '-s'])).status === 0 ? true : undefined));

  const peer = ours.spawn(process.execPath, [path.join(__dirname, 'sync-peer.js'), JSON.stringify({ mode, channel: LINKS[kind].ours, flows: [oursFlow(2001), oursFlow(2002)] })]);
  const answers = createInterface({ input: peer.stdout! })[Symbol.asyncIterator]();
  const dump = async (): Promise<{ external: Flow[]; counters: NetworkCounters }> => {
    peer.stdin!.write('dump\n');
    return JSON.parse((await answers.next()).value as string);
  };
  t.after(async () => {
    peer.stdin!.end();
    daemon.kill('SIGTERM');
    await Promise.race([once(daemon, 'exit'), new Promise((r) => setTimeout(r, 2000))]);
    await run('rm', ['-rf', dir]);
  });

  // C → ours: the RESYNC our peer sends at start brings the C daemon's
  // internal cache (ALARM: its refreshes do).
  const ct = Conntrack.open({ netns: c.name });
  t.after(() => ct.close());
  const kernel: Flow[] = [];
  for await (const f of ct.dump()) kernel.push(f);
  const external = await until('our external cache', async () => {
    const d = await dump();
    return d.external.length >= kernel.length ? d : undefined;
  });
  assert.deepEqual(new Set(external.external.map(flowKey)), new Set(kernel.map(flowKey)));
  const snat = external.external.find((f) => f.orig.sport === 1002)!;
  assert.deepEqual(snat.natSrc, { minIp: '10.9.9.9', minPort: 4000 });
  assert.equal(external.external.find((f) => f.orig.sport === 1000)!.mark, 7);
  assert.equal(external.counters.receiveMalformed, 0);

  // A flow made after the start travels as an event.
  await c.execOk(REFERENCE_CONNTRACK, ['-I', '-p', 'udp', '-s', '10.1.1.1', '-d', '10.2.2.2', '--sport', '1111', '--dport', '53', '-t', '300']);
  await until('the new flow', async () => ((await dump()).external.some((f) => f.orig.sport === 1111) ? true : undefined));

  // Ours → C: our internal flows are in the C daemon's external cache.
  const lines = await until('the C external cache', async () => {
    const out = (await c.exec(CONNTRACKD, ['-C', path.join(dir, 'c.conf'), '-e'])).stdout.toString();
    return out.includes('sport=2001') && out.includes('sport=2002') ? out : undefined;
  });
  assert.match(lines, /tcp +6 ESTABLISHED src=10\.5\.0\.1 dst=10\.6\.0\.1 sport=2001 dport=443 .*mark=2001/);
  const stats = (await c.execOk(CONNTRACKD, ['-C', path.join(dir, 'c.conf'), '-s'])).stdout.toString();
  assert.match(stats, / 0 Malformed msgs /, 'the C daemon found nothing malformed in what we sent');
}
