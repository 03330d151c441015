/**
 * Differential cases for `-R` (spec §7.14) beyond the two in core.test.ts:
 * where 1.4.7 stops, what it prints, what stays in the table. 1.4.7 parses
 * every line before it runs any (a parse error anywhere: nothing done, no
 * line number), then runs the lines in order and stops at the first that
 * fails (the lines before it stay done). Ours sends `-I`/`-A` lines many at
 * a time, so the long files here put the failing line deep inside a run of
 * creates: the lines after it were sent too and must leave no trace.
 * Each -D/-U line needs the creates before it answered: the long runs before
 * them check that.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe } from 'node:test';
import { ctFill, REFERENCE_CONNTRACK, type Netns } from '../kernel/netns';
import { diffCase } from './framework';
import { BASE } from './states';

/** `-I` arguments of the n-th of many distinct UDP entries. */
const entry = (n: number): string =>
  `-s 10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255} -d 192.0.2.1 -p udp --sport 1000 --dport 53 -t 6000`;

/** Lines `-I entry(from)` .. `-I entry(to - 1)`, each ending in a newline. */
const creates = (from: number, to: number, command = '-I'): string => {
  let text = '';
  for (let n = from; n < to; n++) text += `${command} ${entry(n)}\n`;
  return text;
};

const existing =
  (...numbers: number[]) =>
  (ns: Netns): Promise<void> =>
    ctFill(ns, numbers.map((n) => entry(n).split(' ')));

const loadStdin = (name: string, stdin: string, setup?: (ns: Netns) => Promise<void>): void =>
  diffCase({ name: `${name}: conntrack -R -`, argv: ['-R', '-'], stdin, ...(setup && { setup }) });

describe('-R: a line that does not parse stops everything before anything runs', () => {
  loadStdin('parse error on the last line of many', `${creates(0, 1500)}-I -s 10.0.0.1 -d 10.0.0.x -p udp -t 5\n`);
  loadStdin('tokenizer limit on a middle line', `${creates(0, 10)}-F ${'x'.repeat(1024)}\n${creates(10, 20)}`);
  loadStdin('a refused command after a parse error: the parse error wins', `-L\n${creates(0, 5)}-D -p nosuchproto\n`);
  loadStdin('warnings of earlier lines are printed before the error', `-U -s 10.9.9.9 -u S\n${creates(0, 3)}-I -s x\n`);
  loadStdin('warnings, and the run goes on', `-U -s 10.9.9.9 -u S -m 1\n${creates(0, 3)}`);
});

describe('-R: the first failing line stops the run, earlier lines stay done', () => {
  loadStdin('-I of an entry the file made two lines before', `${creates(0, 1)}${creates(1, 2)}${creates(0, 1)}${creates(2, 3)}`);
  loadStdin('-I of an entry the file made, deep in a run of creates', `${creates(0, 2000)}${creates(5, 6)}${creates(2000, 3000)}`);
  loadStdin('-I of an entry that existed, deep in a run of creates', creates(0, 2500), existing(1500));
  loadStdin('-I whose reply direction clashes with an existing entry', `${creates(0, 700)}-I -s 192.0.2.1 -d 10.0.0.9 -p udp --sport 53 --dport 1000 -t 6000\n${creates(700, 1400)}`, existing(9));
  loadStdin('-A of existing entries goes on (D5); a later -I fails', `${creates(0, 1200, '-A')}${creates(1100, 1101)}${creates(1200, 1300)}`, existing(3, 600, 1199));
  loadStdin('a -D after the failing line does not run', `${creates(0, 1000)}${creates(3, 4)}-D -s 10.0.0.0/24\n`);
  loadStdin('-D with --mask-src but no --src fails when it runs', `${creates(0, 1000)}-D --mask-src 255.0.0.0\n${creates(1000, 1100)}`);
});

describe('-R: -D, -U and -F see every line before them', () => {
  loadStdin('-D and -U matching nothing go on, exit 0', `${creates(0, 600)}-D -s 203.0.113.7\n-U -s 203.0.113.7 -m 1\n${creates(600, 1200)}`);
  // -U and a -D by network come last: 1.4.7 takes their mark and mask from
  // the last line parsed (D13, which we fix).
  loadStdin('-D of a line just made (printed), -I of it again, -U of it', `${creates(0, 900)}-D -s 10.0.3.4\n-I ${entry(0x304)}\n${creates(900, 1600)}-U -s 10.0.3.4 -p udp -m 42\n`);
  loadStdin('-D by network of lines just made (printed)', `${creates(0, 1000)}-D -s 10.0.2.0/24\n`);
  loadStdin('-F in the middle: only the lines after it remain', `${creates(0, 1500)}-F\n${creates(1500, 1600)}`, existing(7000));
});

describe('-R of a saved table: every kind of entry comes back', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ctts-save-restore-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const saved = path.join(dir, 'saved');
  // BASE has ICMP, ICMPv6, IPv6, GRE, SCTP, a protocol number, zones and NAT
  // (a saved DNAT entry has no -r: only one reply address); these add a
  // protocol without a tracker given both directions and ICMP without an id.
  const entries = [
    ...BASE,
    ['-p', 'igmp', '-s', '0.0.0.0', '-d', '224.0.0.22', '-r', '224.0.0.22', '-q', '0.0.0.0', '-t', '6000'],
    ['-p', 'icmp', '-s', '10.0.0.1', '-d', '10.0.0.40', '--icmp-type', '8', '--icmp-code', '0', '-t', '6000'],
  ];
  diffCase({
    name: 'conntrack -L -o save > f; conntrack -F; conntrack -R f',
    setup: async (ns) => {
      await ctFill(ns, entries);
      const listing = await ns.execOk(REFERENCE_CONNTRACK, ['-L', '-o', 'save']);
      writeFileSync(saved, listing.stdout);
      await ns.execOk(REFERENCE_CONNTRACK, ['-F']);
    },
    argv: ['-R', saved],
  });
});
