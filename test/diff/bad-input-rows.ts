/**
 * Bad input, table-driven: each row is a command line with something wrong
 * in it — an address, port, protocol, state, status, mark, zone, label,
 * family or timeout, options that conflict or repeat, unknown options,
 * commands and tables, missing arguments — run by the reference 1.4.7 and by
 * ours on the same table (framework.ts diffCase): stderr bytes, stdout and
 * the exit code must be the same, and so must the table afterwards. Where
 * 1.4.7 refuses, nothing may change; where it takes garbage without a word
 * (`-m foo` is mark 0, `-t 12abc` is 12 s, zones wrap at 16 bits), we take it
 * the same way. Rows where 1.4.7 crashes (defect 12 of docs/1.4.7-defects.md)
 * are in cli-args.test.ts. Two test files run half the rows each
 * (bad-input.test.ts, bad-input-2.test.ts), so the tier runs them side by side.
 */
import { describe } from 'node:test';
import { diffCase } from './framework';
import { args, base } from './states';

const UDP_V4 = '-s 10.9.0.1 -d 10.9.0.2 -p udp --sport 1 --dport 2';
const TCP_V4 = '-s 10.9.0.1 -d 10.9.0.2 -p tcp --sport 1 --dport 2';

type Category =
  | 'IPv4 address' | 'IPv6 address' | 'port' | 'protocol' | 'state' | 'status' | 'mark' | 'zone' | 'label' | 'family'
  | 'timeout' | 'conflicting options' | 'repeated options' | 'unknown option or command' | 'missing argument';

/** [what is wrong, command line] (`''` is an empty argument), run on the `base` table. */
export const ROWS: readonly (readonly [Category, string])[] = [
  ['IPv4 address', '-L -s 1.2.3.256'],
  ['IPv4 address', '-L -s 08.0.0.1'],
  ['IPv4 address', '-L -s 4294967296'],
  ['IPv4 address', '-L -s 1.2.3.4/33'],
  ['IPv4 address', '-L -s 1.2.3.4/8x'],
  ['IPv4 address', '-L -s foo/24'],
  ['IPv4 address', '-L -r 1.2.3.4/24'],
  ['IPv4 address', '-D -d 10.0.0.300'],
  ['IPv4 address', `-I -s 10.9.0.1 -d 10.9.0.2/24 -p udp --sport 1 --dport 2 -t 10`],
  ['IPv4 address', '-L -n 1.2.3.4/24'],
  ['IPv4 address', '-L --mask-src 255.0.0.0'],
  ['IPv6 address', '-L -s ::1/129'],
  ['IPv6 address', '-L -s fe80::1%eth0'],
  ['IPv6 address', '-D -d 2001:db8::zz'],
  ['IPv6 address', '-U -s 2001:db8:::1 -m 1'],
  ['IPv6 address', '-L -n [::1'],
  ['IPv6 address', '-L -n [::1]'],
  ['IPv6 address', '-L -s 2001:db8::1 -d 10.0.0.1'],
  ['IPv6 address', '-L -s 10.0.0.1 -d 2001:db8::1'],
  ['IPv6 address', '-L -n 1.2.3.4 -s ::1'],
  ['IPv6 address', '-U --mask-src ffff:: -d 2001:db8::2'],
  ['port', '-L -n 1.2.3.4:99999'],
  ['port', '-L -n 1.2.3.4:8a'],
  ['port', '-L -n 1.2.3.4:'],
  ['port', '-L -g [2001:db8::1]:x'],
  ['port', `-I -s 10.9.0.1 -d 10.9.0.2 -p tcp --sport 1 --state ESTABLISHED -t 10`],
  ['port', `-I ${UDP_V4} -t 10 --reply-port-dst 3`],
  ['port', '-L --sport 80 -p tcp'],
  ['port', '-G -p gre -s 10.0.0.1 -d 10.0.0.2 --srckey 1'],
  ['protocol', '-L -p foo'],
  ['protocol', '-L -p 256'],
  ['protocol', '-L -p -10'],
  ['protocol', '-L -p 2foo'],
  ['protocol', "-L -p ''"],
  ['protocol', '-L -p icmp --icmpv6-type 128'],
  ['protocol', '-I -s 10.9.0.1 -d 10.9.0.2 -p icmp -t 10'],
  ['state', '-L -p tcp --state established'],
  ['state', '-U -p tcp --state BOGUS'],
  ['state', '-L -p dccp --state X'],
  ['state', '-L -p dccp --role x'],
  ['state', `-I ${TCP_V4} -t 10`],
  ['state', `-I -s 10.9.0.1 -d 10.9.0.2 -p dccp --sport 1 --dport 2 -t 10 --state OPEN`],
  ['state', `-I -s 10.9.0.1 -d 10.9.0.2 -p sctp --sport 1 --dport 2 -t 10 --state ESTABLISHED`],
  ['status', '-L -u unreplied'],
  ['status', '-L -u !,A'],
  ['status', '-L -u A,'],
  ['status', '-U -s 10.0.0.1 -u FOO'],
  ['status', '-L -u UNSET'],
  ['status', '-E -e NEW,,DESTROY'],
  ['mark', '-L -m foo'],
  ['mark', '-L -m 1/'],
  ['mark', '-L -m 4294967298'],
  ['mark', '-D -m 2/0x/3'],
  ['mark', '-U -s 10.0.0.1 -d 10.0.0.3 -p udp -m 0x10/junk'],
  ['mark', `-I ${UDP_V4} -t 10 -m -1`],
  ['zone', '-L -w foo'],
  ['zone', '-L --orig-zone 0x10000'],
  ['zone', `-I ${UDP_V4} -t 10 -w 70000`],
  ['zone', `-I ${UDP_V4} -t 10 -w 6 --orig-zone 6`],
  ['zone', '-U -w 1'],
  ['zone', '-G -p tcp -s 10.0.0.1 -d 10.0.0.2 --sport 1111 --dport 80 -w 0'],
  ['label', '-L -l foo'],
  ['label', '-L -l a,,b'],
  ['label', '-U --label-add a --label-del b'],
  ['label', '-U --label-del --label-add a'],
  ['label', `-I ${UDP_V4} -t 10 --label-add x`],
  ['family', '-L -f ipv'],
  ['family', '-D -f inet'],
  ['family', '-L -f ipv6 -s 1.1.1.1'],
  ['family', '-L -s 1.1.1.1 -f ipv6'],
  ['family', '-C -f ipv4'],
  ['family', '-F -f bogus'],
  ['timeout', '-L -t 5'],
  ['timeout', `-I ${UDP_V4} -t 12abc`],
  ['timeout', `-I ${UDP_V4} -t 4294967896`],
  ['timeout', `-I ${UDP_V4}`],
  ['timeout', '-G -p udp -s 10.0.0.1 -d 10.0.0.3 --sport 2222 --dport 53 -t 5'],
  ['conflicting options', '-L -D'],
  ['conflicting options', '-L -o save,xml'],
  ['conflicting options', '-L -o save -o id'],
  ['conflicting options', '-L -j 1.2.3.4 -g'],
  ['conflicting options', '-L -j -n'],
  ['conflicting options', '-L -z -p tcp'],
  ['conflicting options', '-C -s 10.0.0.1'],
  ['conflicting options', '-S -z'],
  ['conflicting options', '-D -s 10.0.0.1 -o xml,bogus'],
  ['repeated options', '-L -L'],
  ['repeated options', '-D -f ipv4 -f ipv6 -s 10.0.0.1'],
  ['repeated options', '-L -s 10.0.0.1 -s 2001:db8::1'],
  ['repeated options', '-L -o save -o save,xml'],
  ['unknown option or command', '-x'],
  ['unknown option or command', '-L --bogus'],
  ['unknown option or command', '-L foo'],
  ['unknown option or command', '--st'],
  ['unknown option or command', '-U expect'],
  ['unknown option or command', '-A exp'],
  ['unknown option or command', '-D dying'],
  ['unknown option or command', '-L -p tcp --orig-port 1'],
  ['missing argument', '-s'],
  ['missing argument', '-L -p'],
  ['missing argument', '-L --out'],
  ['missing argument', '-D -p tcp --dport'],
  ['missing argument', '-I -s 10.9.0.1'],
  ['missing argument', '-G -p tcp -s 10.0.0.1'],
];

/** Runs every other row, from `part` (0 or 1). */
export function describeHalf(part: 0 | 1): void {
  describe(`bad input (part ${part + 1} of 2): the reference’s message, exit code and resulting table`, () => {
    ROWS.forEach(([category, line], i) => {
      if (i % 2 === part) diffCase({ name: `${category}: conntrack ${line}`, setup: base, argv: args(line), mutates: true });
    });
  });
}
