/**
 * Differential cases for the expectation commands: -L/-G/-I/-D/-F/-E/-C/-S
 * expect of the reference 1.4.7 binary and ours on the same kernel state —
 * expectations the ftp helper made from real FTP control connections (IPv4
 * and IPv6), expectations created with `conntrack -I expect` on a master
 * with a helper, and ones created through our library (flags the command
 * line cannot set).
 *
 * Deliberate difference: D7 (spec policy) — a successful `-D expect` says
 * `1 expectations have been deleted.` and exits 0 where 1.4.7 says
 * `0 expectations have been shown.` and exits 1.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Conntrack } from '../../src/api/conntrack';
import { ExpectFlag } from '../../src/ctnetlink/constants';
import { eprtCommand, FtpLab, portCommand } from '../kernel/ftp';
import { createNetns, ctFill, REFERENCE_CONNTRACK, type ExecResult, type Netns } from '../kernel/netns';
import { diffCase, rebrand, reference, runConntrack, subject } from './framework';
import { listenerCase } from './listeners';

type Setup = (ns: Netns) => Promise<unknown>;

const V4 = '127.0.0.1';
const V6 = '::1';
const V4_FULL = '255.255.255.255';
const V6_FULL = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff';

const args = (s: string): string[] => s.split(' ').filter((w) => w !== '');

/** `-I expect` arguments: master host:sport -> host:21, expected host -> host:dport, a full mask unless given. */
function expectArgs(host: string, sport: number, dport: number, more = ''): string {
  const full = host === V4 ? V4_FULL : V6_FULL;
  return (
    `-p tcp -s ${host} -d ${host} --sport ${sport} --dport 21 --tuple-src ${host} --tuple-dst ${host} ` +
    `--tuple-port-src 0 --tuple-port-dst ${dport} --mask-src ${full} --mask-dst ${full} --mask-port-src 0 --mask-port-dst 65535 -t 100 ${more}`
  );
}

/** The reference creates expectations (it is the state, not what is compared). */
async function referenceCreates(ns: Netns, ...lines: string[]): Promise<void> {
  for (const line of lines) await ns.execOk(REFERENCE_CONNTRACK, ['-I', 'expect', ...args(line)]);
}

/** The ftp helper expects a data connection on each [host, client port, data port]. */
const ftp =
  (...announced: [host: string, clientPort: number, dataPort: number][]): Setup =>
  async (ns) => {
    const lab = await FtpLab.start(ns);
    for (const [host, clientPort, dataPort] of announced) {
      await lab.announce(host, clientPort, host === V4 ? portCommand(dataPort) : eprtCommand(dataPort));
    }
    await lab.settle();
  };

/** One ftp expectation per family. */
const ftpBoth = ftp([V4, 40000, 10000], [V6, 40000, 10001]);
/** Several masters per family (a master holds one ftp expectation): the dump order matters. */
const ftpMany = ftp([V4, 40000, 10000], [V4, 40001, 10002], [V4, 40002, 10004], [V6, 40000, 10001], [V6, 40001, 10003]);
const empty: Setup = async () => {};

/** Control connections with the helper and no expectation: masters for `-I expect`. */
const masters: Setup = async (ns) => {
  const lab = await FtpLab.start(ns);
  for (const port of [40010, 40011, 40012]) {
    await lab.connect(V4, port);
    await lab.connect(V6, port);
  }
  await lab.settle();
};

/**
 * Expectations made by `conntrack -I expect`: IPv4 and IPv6, a netmask,
 * and the D9 one (--tuple-port-dst 2000 makes protocol 7).
 */
const created: Setup = async (ns) => {
  await masters(ns);
  await referenceCreates(
    ns,
    expectArgs(V4, 40010, 1700),
    expectArgs(V4, 40011, 2000),
    expectArgs(V6, 40010, 1700).replace(`--mask-src ${V6_FULL}`, '--mask-src ::ffff'),
    expectArgs(V4, 40012, 1600).replace(`--mask-src ${V4_FULL}`, '--mask-src 255.255.255.0'),
  );
};

/** Expectations with flags, which only the library can set (the kernel keeps PERMANENT and INACTIVE). */
const flagged: Setup = async (ns) => {
  await masters(ns);
  const ct = Conntrack.open({ netns: ns.name });
  try {
    const tcp = (src: string, dst: string, sport: number, dport: number) => ({ src, dst, proto: 6, sport, dport });
    for (const [host, full, sport, flags] of [
      [V4, V4_FULL, 40010, ExpectFlag.PERMANENT],
      [V4, V4_FULL, 40011, ExpectFlag.INACTIVE],
      [V6, V6_FULL, 40010, ExpectFlag.PERMANENT | ExpectFlag.INACTIVE],
    ] as const) {
      await ct.createExpectation({
        master: tcp(host, host, sport, 21),
        tuple: tcp(host, host, 0, 3000 + sport),
        mask: tcp(full, full, 0, 65535),
        timeout: 100,
        flags,
      });
    }
  } finally {
    ct.close();
  }
};

/** A master without a helper (made by `conntrack -I`). */
const helperless: Setup = async (ns) => {
  await ctFill(ns, [args('-p tcp -s 10.0.0.1 -d 10.0.0.2 --sport 40000 --dport 21 --state ESTABLISHED -t 1000')]);
};

/**
 * `-o timestamp` prints the arrival time, `[%-8ld.%-6ld]\t`: checked for its
 * shape (seconds at least 8 wide, microseconds exactly 6, left-justified,
 * space padded) and then masked; `<when>` likewise.
 */
function timestamps(s: string): string {
  return s
    .replace(/^\[(\d+ *)\.(\d+ *)\]\t/gm, (m, sec: string, usec: string) => {
      assert.ok(sec.length >= 8 && usec.length === 6 && /^\d+ *$/.test(usec), `bad timestamp prefix ${JSON.stringify(m)}`);
      return '[0.0]\t';
    })
    .replace(/<when><hour>\d+<\/hour><min>\d\d<\/min><sec>\d\d<\/sec><wday>\d<\/wday><day>\d+<\/day><month>\d+<\/month><year>\d{4}<\/year><\/when>/g, '<when/>');
}

/** D7 fixed: what the reference says for a successful `-D expect`, as the fixed tool says it. */
function d7(r: ExecResult): ExecResult {
  const stderr = r.stderr.toString('latin1');
  if (r.status !== 1 || !stderr.endsWith(': 0 expectations have been shown.\n')) return r;
  return { ...r, status: 0, stderr: Buffer.from(stderr.replace('0 expectations have been shown.', '1 expectations have been deleted.')) };
}

type CaseRow = [name: string, setup: Setup, argv: string, extra?: { normalize?: (s: string) => string; fixed?: (r: ExecResult) => ExecResult }];

function cases(title: string, rows: CaseRow[]): void {
  describe(title, () => {
    for (const [name, setup, argv, extra] of rows) diffCase({ name: `${name}: conntrack ${argv}`, setup, argv: args(argv), ...extra });
  });
}

const get = (host: string, dport: number, more = ''): string =>
  `-G expect -p tcp -s ${host} -d ${host} --sport 0 --dport ${dport} --reply-port-src 0 --reply-port-dst 0 ${more}`;
const del = (host: string, dport: number): string => get(host, dport).replace('-G', '-D');

cases('-L expect', [
  ['ftp', ftpBoth, '-L expect'],
  ['ftp', ftpBoth, '-L expect -f ipv6'],
  ['ftp, several masters', ftpMany, '-L expect'],
  ['ftp, several masters', ftpMany, '-L expect -f ipv6'],
  ['created by -I expect', created, '-L expect'],
  ['created by -I expect', created, '-L expect -f ipv6'],
  ['flags', flagged, '-L expect'],
  ['flags', flagged, '-L expect -f ipv6'],
  ['empty', empty, '-L expect'],
  ['xml', ftpMany, '-L expect -o xml'],
  ['xml', ftpBoth, '-L expect -f ipv6 -o xml'],
  ['xml, D9 and masks', created, '-L expect -o xml'],
  ['xml, flags', flagged, '-L expect -o xml'],
  ['xml, flags', flagged, '-L expect -o xml -f ipv6'],
  ['xml, empty: nothing at all', empty, '-L expect -o xml'],
  ['timestamp', ftpMany, '-L expect -o timestamp', { normalize: timestamps }],
  ['xml,timestamp', ftpBoth, '-L expect -o xml,timestamp', { normalize: timestamps }],
  ['ignored output words', ftpBoth, '-L expect -o extended,id,ktimestamp,userspace'],
  ['save is ignored too', created, '-L expect -o save'],
  ['long options', ftpBoth, '--dump expect --family ipv6 --output xml'],
  ['abbreviated table', ftpBoth, '-L exp'],
]);

cases('-G expect', [
  ['IPv4', ftpBoth, get(V4, 10000)],
  ['IPv6', ftpBoth, get(V6, 10001)],
  ['the source port is masked out', ftpBoth, get(V4, 10000).replace('--sport 0', '--sport 4444')],
  ['not found', ftpBoth, get(V4, 10001)],
  ['wrong family', ftpBoth, get(V6, 10000)],
  ['created, netmask', created, get(V4, 1600)],
  ['D9: protocol 7 (generic -p)', created, `-G expect -p 7 -s ${V4} -d ${V4}`],
  ['flags', flagged, get(V6, 43010)],
  ['udp: not found', ftpBoth, get(V4, 10000).replace('-p tcp', '-p udp')],
]);

cases('-C expect, -S expect', [
  ['count: IPv4 only', ftpMany, '-C expect'],
  ['count', created, '-C expect'],
  ['count, empty', empty, '-C expect'],
  ['stats', ftpMany, '-S expect'],
]);

cases('-D expect', [
  ['IPv4', ftpBoth, del(V4, 10000), { fixed: d7 }],
  ['IPv6', ftpBoth, del(V6, 10001), { fixed: d7 }],
  ['D9 one', created, `-D expect -p 7 -s ${V4} -d ${V4}`, { fixed: d7 }],
  ['not found', ftpBoth, del(V4, 10009)],
  ['empty table', empty, del(V6, 10001)],
]);

cases('-F expect', [
  ['both families go', ftpMany, '-F expect'],
  ['-f is ignored by the kernel', created, '-F expect -f ipv6'],
  ['empty', empty, '-F expect'],
]);

cases('-I expect', [
  ['IPv4', masters, `-I expect ${expectArgs(V4, 40010, 1700)}`],
  ['IPv6', masters, `-I expect ${expectArgs(V6, 40010, 1700)}`],
  ['IPv6 with a mask', masters, `-I expect ${expectArgs(V6, 40011, 1701).replace(`--mask-src ${V6_FULL}`, '--mask-src ::ffff')}`],
  ['D9: port 2000 makes protocol 7', masters, `-I expect ${expectArgs(V4, 40010, 2000)}`],
  ['D9: ports 1536-1791 give tcp', masters, `-I expect ${expectArgs(V4, 40010, 1536)}`],
  ['netmask from the tuple', masters, `-I expect ${expectArgs(V4, 40011, 1700).replace(`--tuple-src ${V4}`, `--tuple-src ${V4}/24`).replace(`--mask-src ${V4_FULL} `, '')}`],
  ['mask ports', masters, `-I expect ${expectArgs(V4, 40012, 1700).replace('--mask-port-src 0', '--mask-port-src 65535')}`],
  ['timeout abc (atol: 0; the helper sets its own)', masters, `-I expect ${expectArgs(V4, 40010, 1700).replace('-t 100', '-t abc')}`],
  ['replaces the master\'s expectation', ftpBoth, `-I expect ${expectArgs(V4, 40000, 1700)}`],
  ['exists', created, `-I expect ${expectArgs(V4, 40010, 1700)}`],
  ['master not found', masters, `-I expect ${expectArgs(V4, 40019, 1700)}`],
  ['udp master not found', masters, `-I expect ${expectArgs(V4, 40010, 1700).replace('-p tcp', '-p udp')}`],
  ['master without a helper', helperless, `-I expect ${expectArgs(V4, 40000, 1700).replace(/-s \S+ -d \S+/, '-s 10.0.0.1 -d 10.0.0.2')}`],
  ['long options', masters, `--create expect ${expectArgs(V4, 40010, 1700).replace('-t 100', '--timeout 100')}`],
]);

cases('expect command lines the parser refuses', [
  ['-I expect without a mask', empty, `-I expect ${expectArgs(V4, 40010, 1700).replace(/--mask-src \S+ --mask-dst \S+/, '')}`],
  ['-G expect without reply ports', empty, `-G expect -p tcp -s ${V4} -d ${V4} --sport 0 --dport 1`],
  ['-D expect without -p', empty, `-D expect -s ${V4} -d ${V4}`],
  ['-L expect -s', empty, `-L expect -s ${V4}`],
  ['-E expect -e', empty, '-E expect -e NEW'],
  ['-C expect -o', empty, '-C expect -o xml'],
  ['-S expect -f', empty, '-S expect -f ipv4'],
  ['-G expect -o', empty, `${get(V4, 1)} -o xml`],
  ['-U expect', empty, '-U expect'],
  ['-A expect', empty, '-A expect'],
]);

/** `-E expect` listens to groups 4, 5, 6. */
const EXPECT_GROUPS = 0x38;

/** Real ftp expectations, then `-I expect`, `-D expect` and `-F expect` of the reference. */
async function expectationTraffic(ns: Netns): Promise<void> {
  await ftpBoth(ns);
  await referenceCreates(ns, expectArgs(V4, 40000, 1700), expectArgs(V6, 40000, 1700).replace(`--mask-src ${V6_FULL}`, '--mask-src ::ffff'));
  // 1.4.7 exits 1 after a successful -D expect (D7).
  await ns.exec(REFERENCE_CONNTRACK, args(del(V6, 1700)));
  await ns.execOk(REFERENCE_CONNTRACK, ['-F', 'expect']);
}

describe('-E expect', () => {
  for (const [name, argv, normalize, signal] of [
    ['default', '-E expect', undefined, 'SIGINT'],
    ['SIGTERM', '-E expect', undefined, 'SIGTERM'],
    ['xml', '-E expect -o xml', undefined, 'SIGINT'],
    ['timestamp', '-E expect -o timestamp', timestamps, 'SIGINT'],
    ['xml,timestamp', '-E expect -o xml,timestamp', timestamps, 'SIGTERM'],
    ['ignored output words', '-E expect -o extended,id', undefined, 'SIGINT'],
  ] as const) {
    listenerCase({ name: `${name}: conntrack ${argv}`, argv: args(argv), groups: EXPECT_GROUPS, trigger: expectationTraffic, normalize, signal });
  }
  listenerCase({ name: 'no events, xml: nothing on stdout', argv: args('-E expect -o xml'), groups: EXPECT_GROUPS, trigger: empty });
});

describe('-o json (our extension): the same expectations as the reference lists', () => {
  test('conntrack -L expect -o json, both families', async (t) => {
    const ns = await createNetns('expjson');
    t.after(() => ns.destroy());
    await ftpMany(ns);
    for (const family of ['ipv4', 'ipv6']) {
      const ours = await runConntrack(ns, subject(), ['-L', 'expect', '-f', family, '-o', 'json']);
      const ref = await runConntrack(ns, reference, ['-L', 'expect', '-f', family]);
      assert.equal(ours.status, 0);
      assert.equal(ours.stderr.toString(), rebrand(ref.stderr.toString(), reference, subject()));
      const objects = ours.stdout.toString().trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
      const refPorts = [...ref.stdout.toString().matchAll(/^\d+ proto=6 src=\S+ dst=\S+ sport=0 dport=(\d+) /gm)].map((m) => Number(m[1]));
      assert.deepEqual(objects.map((o) => o.tuple.dport), refPorts, 'same expectations, same order');
      for (const o of objects) {
        assert.equal(o.family, family);
        assert.equal(o.helper, 'ftp');
        assert.equal(o.master.dport, 21);
        assert.deepEqual(o.flags, []);
      }
    }
  });
});
