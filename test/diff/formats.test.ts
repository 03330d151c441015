/**
 * Differential coverage of the output formats over both families: IPv6 in
 * every `-o` word and in combinations, `-G` in every format, `-L dying` and
 * `-L unconfirmed`, `-z` on real counters, `-A`, and `-D`/`-U` with IPv6
 * filters and output formats (core.test.ts has the rest of the commands).
 */
import { describe } from 'node:test';
import { ensureCtRuleset, type Netns } from '../kernel/netns';
import { diffCase } from './framework';
import { accounted, args, base, cases, small, traffic, type Setup } from './states';

const ACCOUNTING = { 'net.netfilter.nf_conntrack_acct': 1, 'net.netfilter.nf_conntrack_timestamp': 1 };

/*
 * One UDP datagram per family between fixed loopback ports, sent inside the
 * namespace: entries with real, nonzero counters that come out the same
 * every time the state is rebuilt (kernel-chosen ports would not).
 */
const DATAGRAMS_SCRIPT = String.raw`
const dgram = require('node:dgram');
(async () => {
  for (const [host, type] of [['127.0.0.1', 'udp4'], ['::1', 'udp6']]) {
    const s = dgram.createSocket(type);
    await new Promise((resolve) => s.bind(40001, host, resolve));
    await new Promise((resolve) => s.send('counted', 40002, host, resolve));
    s.close();
  }
})();
`;

const counted: Setup = async (ns: Netns) => {
  await ns.sysctl('net.netfilter.nf_conntrack_acct', 1);
  await ensureCtRuleset(ns);
  await ns.execOk(process.execPath, ['-e', DATAGRAMS_SCRIPT]);
};

cases('IPv6 in every output format', [
  ['default', accounted, '-L -f ipv6'],
  ['extended', accounted, '-L -f ipv6 -o extended'],
  ['id', accounted, '-L -f ipv6 -o id'],
  ['xml', accounted, '-L -f ipv6 -o xml'],
  ['save', accounted, '-L -f ipv6 -o save'],
  ['ktimestamp', accounted, '-L -f ipv6 -o ktimestamp'],
  ['timestamp', accounted, '-L -f ipv6 -o timestamp'],
  ['userspace', accounted, '-L -f ipv6 -o userspace'],
  ['labels', accounted, '-L -f ipv6 -o labels'],
  ['extended,id,ktimestamp', accounted, '-L -f ipv6 -o extended,id,ktimestamp'],
  ['xml,extended,id,ktimestamp', accounted, '-L -f ipv6 -o xml,extended,id,ktimestamp'],
  ['save,userspace', accounted, '-L -f ipv6 -o save,userspace'],
  ['abbreviated words', accounted, '-L -f ipv6 -o ext,k'],
]);

cases('format combinations over both families', [
  ['extended,id,ktimestamp', accounted, '-L -o extended,id,ktimestamp'],
  ['id,ktimestamp', accounted, '-L -o id,ktimestamp'],
  ['xml,id', accounted, '-L -o xml,id'],
  ['xml,ktimestamp', accounted, '-L -o xml,ktimestamp'],
  ['timestamp', accounted, '-L -o timestamp'],
  ['userspace', base, '-L -o userspace'],
  ['repeated -o accumulates', accounted, '-L -o extended -o id'],
  ['labels,extended', base, '-L -o labels,extended'],
]);

cases('real IPv6 traffic in every format', [
  ['extended,id,ktimestamp', traffic({}, ACCOUNTING), '-L -f ipv6 -o extended,id,ktimestamp'],
  ['xml with counters', traffic({}, ACCOUNTING), '-L -f ipv6 -o xml'],
  ['save', traffic(), '-L -f ipv6 -o save'],
  ['id', traffic(), '-L -f ipv6 -o id'],
]);

cases('-L dying and -L unconfirmed', [
  ['dying, xml', base, '-L dying -o xml'],
  ['dying, IPv6 extended', base, '-L dying -f ipv6 -o extended'],
  ['unconfirmed, save', base, '-L unconfirmed -o save'],
  ['unconfirmed, IPv6 with a filter', base, '-L unconfirmed -f ipv6 -p tcp'],
]);

describe('-z on real counters (each side on a fresh state; the zeroed tables must agree)', () => {
  for (const argv of ['-L -z', '-L -z -o extended', '-L -z -f ipv6 -o xml', '-L -z -o save,userspace']) {
    diffCase({ name: `conntrack ${argv}`, setup: counted, argv: args(argv), mutates: true });
  }
});

cases('-A', [
  ['IPv6, new', small, '-A -s 2001:db8::7 -d 2001:db8::8 -p udp --sport 1 --dport 2 -t 600'],
  ['IPv6, existing', base, '-A -s 2001:db8::1 -d 2001:db8::2 -p tcp --sport 1234 --dport 443 --state ESTABLISHED -t 600'],
  // Not -m with -u: 1.4.7 then sets the mark to the status bits (D1, fixed).
  ['mark and zone', small, '-A -s 10.9.0.1 -d 10.9.0.2 -p udp --sport 1 --dport 2 -m 5 -w 3 -t 600'],
  ['status', small, '-A -s 10.9.0.1 -d 10.9.0.2 -p udp --sport 1 --dport 2 -u ASSURED -t 600'],
  ['icmpv6', small, '-A -s 2001:db8::7 -d 2001:db8::8 -p icmpv6 --icmpv6-type 128 --icmpv6-code 0 --icmpv6-id 4 -t 600'],
  ['IPv6 destination NAT with port', small, '-A -s 2001:db8::7 -d 2001:db8::8 -p tcp --sport 1 --dport 2 --state ESTABLISHED --dst-nat [2001:db8::9]:80 -t 600'],
]);

const GET_V6 = '-G -p tcp -s 2001:db8::1 -d 2001:db8::2 --sport 1234 --dport 443';

cases('-G in every format', [
  ['IPv6 default', accounted, GET_V6],
  ['IPv6 id', accounted, `${GET_V6} -o id`],
  ['IPv6 xml', accounted, `${GET_V6} -o xml`],
  ['IPv6 save', accounted, `${GET_V6} -o save`],
  ['IPv6 extended,id,ktimestamp', accounted, `${GET_V6} -o extended,id,ktimestamp`],
  ['IPv6 timestamp', accounted, `${GET_V6} -o timestamp`],
  ['icmpv6', accounted, '-G -p icmpv6 -s 2001:db8::1 -d 2001:db8::2 --icmpv6-type 128 --icmpv6-code 0 --icmpv6-id 99'],
  ['IPv6 NAT entry by its reply tuple', base, '-G -p tcp -r 2001:db8::99 -q 2001:db8::10 --reply-port-src 22 --reply-port-dst 40000 -o extended'],
  ['IPv4 xml,ktimestamp', accounted, '-G -p udp -s 10.0.0.1 -d 10.0.0.3 --sport 2222 --dport 53 -o xml,ktimestamp'],
  ['IPv4 extended,id', accounted, '-G -p icmp -s 10.0.0.1 -d 10.0.0.4 --icmp-type 8 --icmp-code 0 --icmp-id 77 -o extended,id'],
]);

cases('-D with IPv6 filters', [
  ['family and protocol, extended', base, '-D -f ipv6 -p tcp -o extended'],
  ['CIDR source, xml', base, '-D -s 2001:db8::/32 -p udp -o xml'],
  ['destination, save', base, '-D -d 2001:db8::2 -o save'],
  ['mark, id', base, '-D -f ipv6 -m 7 -o id'],
  ['any NAT', base, '-D -f ipv6 -n'],
  ['source NAT address', base, '-D -n 2001:db8::99'],
  ['icmpv6 type', base, '-D -p icmpv6 --icmpv6-type 128'],
  ['tcp state, save', base, '-D -f ipv6 -p tcp --state ESTABLISHED -o save'],
  ['reply source', base, '-D -r 2001:db8:1::20'],
  ['source with --mask-src', base, '-D -s 2001:db8:: --mask-src ffff:ffff:: -o extended'],
  ['nothing matches', base, '-D -s 2001:db8::dead'],
]);

cases('-U with IPv6 filters', [
  ['mark by source and protocol, xml', base, '-U -s 2001:db8::1 -p tcp -m 5 -o xml'],
  ['mark with mask by destination, save', base, '-U -d 2001:db8:1::30 -m 0x10/0xf0 -o save'],
  ['family and protocol, extended', base, '-U -f ipv6 -p udp -m 8 -o extended'],
  ['icmpv6 timeout, id', base, '-U -s 2001:db8::1 -p icmpv6 -t 100 -o id'],
  ['status', base, '-U -s 2001:db8::10 -p udp -u ASSURED'],
  ['tcp state', base, '-U -s 2001:db8::1 -p tcp --state TIME_WAIT -o save'],
  ['by CIDR', base, '-U -d 2001:db8:1::/48 -p tcp -m 1'],
  ['no match', base, '-U -s 2001:db8::dead -m 1'],
]);
