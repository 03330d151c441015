/**
 * Without CAP_NET_ADMIN over the namespace: every command class, as an
 * unprivileged user, as root with the capability dropped, and as root of a
 * user namespace (which owns no network namespace here). Each must print
 * the reference's error text and exit with its status; the table must stay
 * as it was. The shapes differ by command: `Operation failed: sorry, you
 * must be root…` (requests), that line after the /proc numbers (-C, -S),
 * `mnl_socket_bind: …` + `Can't open netlink socket` (-E), `Can't open
 * handler` (-E expect), and the flush summaries 1.4.7 prints before it
 * knows the flush failed.
 */
import { describe } from 'node:test';
import { ctFill, type Netns } from '../kernel/netns';
import { diffCase } from './framework';

const WITHOUT_CAP_NET_ADMIN: [name: string, wrap: string[]][] = [
  ['user nobody', ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups']],
  // Dropped from the bounding set, the capability is not in root's permitted set after exec.
  ['root without CAP_NET_ADMIN', ['setpriv', '--bounding-set=-net_admin']],
  ['root of a user namespace', ['unshare', '--user', '--map-root-user']],
];

const ENTRIES = [
  '-s 10.0.0.1 -d 10.0.0.2 -p tcp --sport 1111 --dport 80 --state ESTABLISHED -m 1 -t 6000',
  '-s 10.0.0.1 -d 10.0.0.3 -p udp --sport 2222 --dport 53 -t 6000',
].map((line) => line.split(' '));

const setup = (ns: Netns): Promise<void> => ctFill(ns, ENTRIES);

const EXPECTATION =
  '-p tcp -s 10.0.0.1 -d 10.0.0.2 --sport 1111 --dport 21 --tuple-src 10.0.0.1 --tuple-dst 10.0.0.2 ' +
  '--tuple-port-src 0 --tuple-port-dst 2000 --mask-src 255.255.255.255 --mask-dst 255.255.255.255 ' +
  '--mask-port-src 0 --mask-port-dst 65535 -t 100';
const EXPECTED = '-p tcp -s 10.0.0.1 -d 10.0.0.2 --sport 0 --dport 2000 --reply-port-src 0 --reply-port-dst 0';

/** One row per command class; `stdin` feeds `-R -`. */
const COMMANDS: { argv: string; stdin?: string }[] = [
  { argv: '-L' },
  { argv: '-L -o xml' },
  { argv: '-L -m 1' },
  { argv: '-G -s 10.0.0.1 -d 10.0.0.2 -p tcp --sport 1111 --dport 80' },
  { argv: '-D' },
  { argv: '-D -m 1' },
  { argv: '-I -s 10.9.0.1 -d 10.9.0.2 -p tcp --sport 1 --dport 2 --state ESTABLISHED -t 100' },
  { argv: '-U -s 10.0.0.1 -m 5' },
  { argv: '-F' },
  { argv: '-C' },
  { argv: '-S' },
  { argv: '-E' },
  { argv: '-E -e NEW -p tcp' },
  { argv: '-R -', stdin: '-I -s 10.9.0.1 -d 10.9.0.2 -p udp --sport 1 --dport 2 -t 100\n' },
  { argv: '-L expect' },
  { argv: `-G expect ${EXPECTED}` },
  { argv: `-D expect ${EXPECTED}` },
  { argv: `-I expect ${EXPECTATION}` },
  { argv: '-F expect' },
  { argv: '-C expect' },
  { argv: '-S expect' },
  { argv: '-E expect' },
];

for (const [mode, wrap] of WITHOUT_CAP_NET_ADMIN) {
  describe(mode, () => {
    for (const { argv, stdin } of COMMANDS) {
      const words = argv.split(' ');
      // -R runs -I lines: it mutates like them, so the resulting tables are compared too.
      diffCase({ name: `conntrack ${argv}`, setup, argv: words, wrap, ...(stdin !== undefined && { stdin, mutates: true }) });
    }
  });
}
