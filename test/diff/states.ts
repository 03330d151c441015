/**
 * Kernel states the differential cases run on, and the one-line case table
 * helper: `cases(title, [[name, setup, argv], …])`.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe } from 'node:test';
import { ctFill, makeTraffic, REFERENCE_CONNTRACK, type Netns, type TrafficOptions } from '../kernel/netns';
import { diffCase } from './framework';

export type Setup = (ns: Netns) => Promise<void>;

/** One line per entry, as `conntrack -I` arguments. Timeouts are long so nothing expires mid-case. */
export const BASE: string[][] = [
  '-s 10.0.0.1 -d 10.0.0.2 -p tcp --sport 1111 --dport 80 --state ESTABLISHED -u SEEN_REPLY,ASSURED -t 6000',
  '-s 10.0.0.1 -d 10.0.0.3 -p udp --sport 2222 --dport 53 -m 2 -t 6000',
  '-s 10.0.0.1 -d 10.0.0.4 -p icmp --icmp-type 8 --icmp-code 0 --icmp-id 77 -m 1 -t 6000',
  '-s 10.0.0.1 -d 10.0.0.5 -p sctp --sport 3333 --dport 3868 --state ESTABLISHED --orig-vtag 1 --reply-vtag 2 -t 6000',
  '-s 10.0.0.1 -d 10.0.0.7 -p gre --srckey 0x10 --dstkey 0x20 -t 6000',
  '-s 10.0.0.1 -d 10.0.0.11 -p 200 -t 6000',
  '-s 192.168.1.10 -d 8.8.8.8 -p tcp --sport 4000 --dport 80 --state ESTABLISHED --src-nat 203.0.113.1 -t 6000',
  '-s 8.8.4.4 -d 203.0.113.1 -p tcp --sport 5000 --dport 8080 --state ESTABLISHED --dst-nat 192.168.1.20:80 -t 6000',
  '-s 10.0.0.1 -d 10.0.0.12 -p udp --sport 7 --dport 7 --orig-zone 3 -t 6000',
  '-s 10.0.0.1 -d 10.0.0.9 -p udp --sport 7 --dport 7 -w 5 -t 6000',
  '-s 10.0.0.1 -d 10.0.0.13 -p tcp --sport 9 --dport 9 --state SYN_SENT --reply-zone 4 -t 6000',
  '-s 10.0.0.20 -d 10.0.0.21 -p udplite --sport 7 --dport 8 -t 6000',
  '-s 10.1.2.3 -d 10.2.0.1 -p tcp --sport 5555 --dport 22 --state TIME_WAIT -m 0x12 -t 5000',
  '-s 2001:db8::1 -d 2001:db8::2 -p tcp --sport 1234 --dport 443 --state ESTABLISHED -u SEEN_REPLY -t 6000',
  '-s 2001:db8::1 -d 2001:db8::2 -p icmpv6 --icmpv6-type 128 --icmpv6-code 0 --icmpv6-id 99 -t 6000',
  '-s 2001:db8::10 -d 2001:db8:1::20 -p udp --sport 5353 --dport 53 -m 7 -t 6000',
  '-s 2001:db8::10 -d 2001:db8:1::30 -p tcp --sport 40000 --dport 22 --state ESTABLISHED --src-nat 2001:db8::99 -t 4000',
].map((line) => line.split(' '));

export const SMALL: string[][] = [
  '-s 10.0.0.1 -d 10.0.0.2 -p tcp --sport 1111 --dport 80 --state ESTABLISHED -t 6000',
  '-s 10.0.0.1 -d 10.0.0.3 -p udp --sport 2222 --dport 53 -t 6000',
].map((line) => line.split(' '));

export const fill =
  (entries: string[][], sysctls: Record<string, number> = {}): Setup =>
  async (ns) => {
    for (const [key, value] of Object.entries(sysctls)) await ns.sysctl(key, value);
    await ctFill(ns, entries);
  };

export const base = fill(BASE);
export const small = fill(SMALL);
export const empty: Setup = async () => {};
/** Accounting and timestamps on before the entries exist: counters and delta-time appear. */
export const accounted = fill(BASE, { 'net.netfilter.nf_conntrack_acct': 1, 'net.netfilter.nf_conntrack_timestamp': 1 });

export const traffic =
  (opts: TrafficOptions = {}, sysctls: Record<string, number> = {}): Setup =>
  async (ns) => {
    for (const [key, value] of Object.entries(sysctls)) await ns.sysctl(key, value);
    await makeTraffic(ns, opts);
  };

/** A command line's words; `''` stands for an empty argument. */
export const args = (s: string): string[] => s.split(' ').filter((w) => w !== '').map((w) => (w === "''" ? '' : w));

export type CaseRow = [name: string, setup: Setup, argv: string];

export function cases(title: string, rows: CaseRow[]): void {
  describe(title, () => {
    for (const [name, setup, argv] of rows) diffCase({ name: `${name}: conntrack ${argv}`, setup, argv: args(argv) });
  });
}

/**
 * Label names come from /etc/xtables/connlabel.conf for both tools. This
 * command prefix gives the command a private mount namespace whose /etc is the
 * machine's with one laid over it (overlayfs), so the machine's /etc is never
 * touched and other tests keep seeing no label map.
 */
export function withLabelMap(names: readonly string[]): readonly string[] {
  const dir = mkdtempSync(path.join(tmpdir(), 'ctts-labels-'));
  mkdirSync(path.join(dir, 'xtables'));
  writeFileSync(path.join(dir, 'xtables/connlabel.conf'), names.map((name, bit) => `${bit} ${name}\n`).join(''));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return ['unshare', '-m', 'sh', '-c', 'mount -t overlay overlay -o lowerdir="$0":/etc /etc && exec "$@"', dir];
}

/**
 * Entries with labels behind `wrap` (a withLabelMap() prefix): a rule using
 * `ct label` turns the label extension on in the namespace.
 */
export const labelled =
  (wrap: readonly string[], entries: readonly string[]): Setup =>
  async (ns) => {
    await ns.nft('table inet ctts_labels {\n chain out {\n  type filter hook output priority 0;\n  meta mark 0x7fffffff ct label set 2\n }\n}\n');
    for (const entry of entries) await ns.execOk(wrap[0]!, [...wrap.slice(1), REFERENCE_CONNTRACK, '-I', ...args(entry)]);
  };
