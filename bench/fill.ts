/**
 * Fills a network namespace with N synthetic conntrack entries through our
 * own library: creates are fired in windows and travel pipelined, many per
 * sendmsg. Entry i is a function of i, so a table is reproducible.
 *
 *   node dist/bench/fill.js NETNS N [FIRST [PROTO]]
 *
 * With PROTO (a protocol number) only the entries of that protocol are made:
 * bench/run.sh puts back what a `-D -p udp` run took, in a tenth of the time.
 *
 * Mix by i % 100 (close to bench-kit's ctfill): 62% TCP/IPv4 ESTABLISHED,
 * 10% UDP/IPv4, 5% ICMP echo, 15% TCP/IPv6, 3% ICMPv6 echo, 5% TCP/IPv4
 * SYN_SENT; one TCP entry in three goes to port 443; i % 7 == 0 IPv4 TCP/UDP
 * entries are source-NATed, else i % 13 == 0 destination-NATed; i % 5 == 0
 * carry mark (i % 251) + 1.
 */
import { Conntrack } from '../src/api/conntrack';
import type { Flow, Tuple } from '../src/ctnetlink/flow';

const TCP = 6;
const UDP = 17;
const ICMP = 1;
const ICMPV6 = 58;
const WINDOW = 4096;

const v4 = (base: number, i: number): string => `${base}.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
const v6 = (i: number): string => `2001:db8:${((i >> 16) & 0xffff).toString(16)}::${(i & 0xffff).toString(16)}`;

export function entry(i: number, timeout: number): Flow {
  const kind = i % 100;
  const flow: Flow = { family: 2, orig: {}, reply: {}, timeout };
  const sport = 1024 + (i % 60000);
  const dport = i % 3 === 0 ? 443 : 80 + (i % 1000);
  let orig: Tuple;
  if (kind < 62 || kind >= 95) {
    orig = { l3: 2, src: v4(10, i), dst: v4(198, i >> 4), proto: TCP, sport, dport };
    flow.tcp = { state: kind < 62 ? 3 : 1 };
  } else if (kind < 72) {
    orig = { l3: 2, src: v4(10, i), dst: v4(198, i >> 4), proto: UDP, sport, dport: 53 };
  } else if (kind < 77) {
    orig = { l3: 2, src: v4(10, i), dst: v4(198, i >> 4), proto: ICMP, icmpType: 8, icmpCode: 0, icmpId: i & 0xffff };
  } else if (kind < 92) {
    flow.family = 10;
    orig = { l3: 10, src: v6(i), dst: v6(i >> 4), proto: TCP, sport, dport };
    flow.tcp = { state: 3 };
  } else {
    flow.family = 10;
    orig = { l3: 10, src: v6(i), dst: v6(i >> 4), proto: ICMPV6, icmpType: 128, icmpCode: 0, icmpId: i & 0xffff };
  }
  flow.orig = orig;
  if (flow.family === 2 && (orig.proto === TCP || orig.proto === UDP)) {
    if (i % 7 === 0) flow.natSrc = { minIp: v4(100, i) };
    else if (i % 13 === 0) flow.natDst = { minIp: v4(172, i) };
  }
  if (i % 5 === 0) flow.mark = (i % 251) + 1;
  return flow;
}

async function main(): Promise<void> {
  const [netns, count, first = '0', proto] = process.argv.slice(2);
  if (!netns || !count) throw new Error('usage: fill.js NETNS N [FIRST [PROTO]]');
  const only = proto === undefined ? undefined : Number(proto);
  const n = Number(count);
  const start = Number(first);
  const ct = Conntrack.open({ netns });
  const t0 = process.hrtime.bigint();
  let failed = 0;
  let made = 0;
  for (let i = start; i < start + n; i += WINDOW) {
    const batch: Promise<void>[] = [];
    for (let j = i; j < Math.min(i + WINDOW, start + n); j++) {
      const flow = entry(j, 3600);
      if (only !== undefined && flow.orig.proto !== only) continue;
      made++;
      batch.push(ct.create(flow).catch(() => void failed++));
    }
    await Promise.all(batch);
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  ct.close();
  process.stderr.write(`filled ${made - failed} entries in ${seconds.toFixed(2)} s (${failed} failed)\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`fill: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
