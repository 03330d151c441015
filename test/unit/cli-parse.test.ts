/**
 * The CommandLine produced for valid command lines: command, family,
 * template, filter, output flags.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { labelBitmap } from '../../src/cli/labelmap';
import { ParameterProblem } from '../../src/cli/problems';
import { GENERIC_LONG_OPTIONS, OPTSTRING } from '../../src/cli/options';
import {
  completeTuples,
  parseCommandLine,
  parseInvocation,
  validateForExecution,
  type CommandLine,
  type ParseEnvironment,
} from '../../src/cli/parse';

let dir = '';
let env: ParseEnvironment = {};

before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'ctts-cli-parse-'));
  const labels = path.join(dir, 'connlabel.conf');
  writeFileSync(labels, '# test map\n0 zero\n1 one\n2 two\n40 forty\n');
  env = { labelMapFile: labels };
});
after(() => rmSync(dir, { recursive: true, force: true }));

const parse = (...args: string[]): CommandLine => parseCommandLine(['conntrack', ...args], env);

const NO_OUTPUT = { xml: false, extended: false, timestamp: false, id: false, ktimestamp: false, labels: false, userspace: false, save: false, json: false };
const TCP_FLAGS = { flags: 0x0a, mask: 0x0a };

describe('the option table', () => {
  const tokens = (optstring: string): string[] => optstring.slice(1).match(/.:{0,2}/g)!.sort();

  test('derives 1.4.7\'s getopt string', () => {
    assert.deepEqual(tokens(OPTSTRING), tokens(':L::I::U::D::G::E::F::A::hVs:d:r:q:p:t:u:e:a:z[:]:{:}:m:i:f:o:n::g::c:b:C::Sj::w:l:<:>::(:):'));
  });

  test('derives 1.4.7\'s long options (with --id needing its value, D12)', () => {
    const names = GENERIC_LONG_OPTIONS.map((o) => `${o.name}/${o.arg}/${o.val}`).sort();
    const expected = [
      'dump/optional/L', 'create/optional/I', 'add/optional/A', 'delete/optional/D', 'update/optional/U', 'get/optional/G',
      'flush/optional/F', 'event/optional/E', 'counter/optional/C', 'stats/none/S', 'version/none/V', 'help/none/h',
      'orig-src/required/s', 'src/required/s', 'orig-dst/required/d', 'dst/required/d', 'reply-src/required/r',
      'reply-dst/required/q', 'protonum/required/p', 'timeout/required/t', 'status/required/u', 'zero/none/z',
      'event-mask/required/e', 'tuple-src/required/[', 'tuple-dst/required/]', 'mask-src/required/{',
      'mask-dst/required/}', 'nat-range/required/a', 'mark/required/m', 'secmark/required/c', 'id/required/i',
      'family/required/f', 'src-nat/optional/n', 'dst-nat/optional/g', 'output/required/o', 'buffer-size/required/b',
      'any-nat/optional/j', 'zone/required/w', 'label/required/l', 'label-add/required/<', 'label-del/optional/>',
      'orig-zone/required/(', 'reply-zone/required/)',
    ].sort();
    assert.deepEqual(names, expected);
  });
});

describe('commands, tables and families', () => {
  test('-L: conntrack table, no family, nothing to filter', () => {
    const c = parse('-L');
    assert.equal(c.command, 'CT_LIST');
    assert.equal(c.table, 'conntrack');
    assert.equal(c.family, 0);
    assert.deepEqual(c.filter, {});
    assert.deepEqual(c.output, NO_OUTPUT);
    assert.deepEqual(c.warnings, []);
  });

  test('-L expect defaults to IPv4; -Lexpect lists conntrack (D14)', () => {
    assert.deepEqual([parse('-L', 'expect').command, parse('-L', 'expect').family], ['EXP_LIST', 2]);
    assert.deepEqual([parse('-L', 'exp', '-f', 'ipv6').family], [10]);
    assert.equal(parse('-Lexpect').command, 'CT_LIST');
  });

  test('-L dying and unconfirmed are CT_LIST on another table', () => {
    assert.deepEqual([parse('-L', 'd').command, parse('-L', 'd').table], ['CT_LIST', 'dying']);
    assert.equal(parse('-L', 'unconf').table, 'unconfirmed');
  });

  test('kinds of every command letter', () => {
    assert.equal(parse('-C').command, 'CT_COUNT');
    assert.equal(parse('-S', 'expect').command, 'EXP_STATS');
    assert.equal(parse('-F', 'expect').command, 'EXP_FLUSH');
    assert.equal(parse('-V').command, 'CT_VERSION');
    assert.equal(parse('--co').command, 'CT_COUNT');
    assert.equal(parse('-h', 'expect').command, 'CT_HELP');
  });

  test('no command: USAGE; -a only warns', () => {
    assert.equal(parse().command, 'USAGE');
    const c = parse('-a', '1');
    assert.equal(c.command, 'USAGE');
    assert.deepEqual(c.warnings, ['WARNING: ignoring -a, deprecated option.']);
    assert.equal(c.options.has('nat-range'), false);
  });

  test('-F keeps the family of -f; -C defaults to IPv4; -f compares four characters', () => {
    assert.equal(parse('-F', '-f', 'ipv6').family, 10);
    assert.equal(parse('-C').family, 2);
    assert.equal(parse('-L', '-f', 'ipv6xyz').family, 10);
  });

  test('-h -p: the protocol for its help, without the TCP flags of the final check', () => {
    const c = parse('-h', '-p', 'tcp', '--sport', '1');
    assert.equal(c.command, 'CT_HELP');
    assert.equal(c.protocol?.module.name, 'tcp');
    assert.equal(c.template.tcp, undefined);
    const igmp = parse('-h', '-p', 'IGMP');
    assert.deepEqual([igmp.protocol?.module.name, igmp.protocol?.number], ['unknown', 2]);
  });
});

describe('filters of -L, -D, -G, -E', () => {
  test('tuple fields of the original direction, with the TCP flags on the template', () => {
    const c = parse('-L', '-p', 'tcp', '--dport', '22', '-s', '10.0.0.1');
    assert.equal(c.family, 2);
    assert.deepEqual(c.filter, { family: 2, orig: { proto: 6, dport: 22, src: '10.0.0.1', l3: 2 } });
    assert.deepEqual(c.template.tcp, { flagsOrig: TCP_FLAGS, flagsReply: TCP_FLAGS });
    assert.deepEqual([...c.protocol!.options], ['dport']);
  });

  test('inet_aton forms of addresses', () => {
    const c = parse('-L', '-s', '10.1', '-d', '0x0a000001', '-r', '010.0.0.1', '-q', '1.2.65535');
    assert.deepEqual(c.filter.orig, { src: '10.0.0.1', dst: '10.0.0.1', l3: 2 });
    assert.deepEqual(c.filter.reply, { src: '8.0.0.1', dst: '1.2.255.255', l3: 2 });
  });

  test('CIDR: the address stays, the netmask becomes a network filter and sets mask-src', () => {
    const v4 = parse('-L', '-s', '10.0.0.9/24', '-d', '10.1.2.3/32');
    assert.deepEqual(v4.filter, { family: 2, srcMask: '255.255.255.0', orig: { src: '10.0.0.9', dst: '10.1.2.3', l3: 2 } });
    assert.ok(v4.options.has('mask-src') && !v4.options.has('mask-dst'));
    const v6 = parse('-D', '-d', '2001:db8::1/33');
    assert.deepEqual(v6.filter, { family: 10, dstMask: 'ffff:ffff:8000::', orig: { dst: '2001:db8::1', l3: 10 } });
    assert.deepEqual(v6.expect.mask, { dst: 'ffff:ffff:8000::', l3: 10 });
  });

  test('-L status: kernel value and mask; -D: the bits must be set', () => {
    const list = parse('-L', '-u', 'ASSURED,!SEEN_REPLY');
    assert.deepEqual(list.status, { value: 4, mask: 2 });
    assert.deepEqual(list.filter.status, { value: 4, mask: 2 });
    assert.deepEqual(parse('-L', '-u', 'unrepliedX'.toUpperCase()).status, { value: 0, mask: 2 });
    assert.deepEqual(parse('-L', '-u', 'SEEN_REPLY', '-u', 'a').status, { value: 6, mask: 2 });
    assert.deepEqual(parse('-D', '-u', 'ASSURED').filter.status, { value: 4, mask: 4 });
    assert.deepEqual(parse('-L', 'dying', '-u', 'ASSURED,!SEEN_REPLY').filter.status, { value: 4, mask: 4 });
  });

  test('mark value/mask, and -u does not overwrite the mark (D1 fixed)', () => {
    const c = parse('-L', '-m', '0x10/0xf0');
    assert.deepEqual([c.mark, c.filter.mark], [{ value: 16, mask: 240 }, { value: 16, mask: 240 }]);
    assert.deepEqual(parse('-L', '-m', '5', '-u', 'ASSURED').filter.mark, { value: 5, mask: 0xffffffff });
    assert.deepEqual(parse('-L', '-m', 'foo').mark, { value: 0, mask: 0xffffffff });
    assert.deepEqual(parse('-L', '-m', '5/').mark, { value: 5, mask: 0 });
  });

  test('-t is compared only together with a comparison option (D18)', () => {
    assert.equal(parse('-D', '-t', '5').filter.timeout, undefined);
    assert.equal(parse('-D', '-s', '1.1.1.1', '-t', '5').filter.timeout, 5);
  });

  test('zones: 16 bits, -w is CTA_ZONE, the direction zones live in the tuples', () => {
    const c = parse('-L', '-w', '0x10005', '--orig-zone', '3', '--reply-zone', '4');
    assert.deepEqual(c.filter, { zone: 5, orig: { zone: 3 }, reply: { zone: 4 } });
  });

  test('-G: tuples, id and state are compared', () => {
    const c = parse('-G', '-p', 'tcp', '-s', '1.1.1.1', '-d', '2.2.2.2', '--sport', '1', '--dport', '2', '-i', '1234', '--state', 'LISTEN');
    assert.equal(c.command, 'CT_GET');
    assert.equal(c.family, 2);
    assert.deepEqual(c.filter, {
      orig: { src: '1.1.1.1', l3: 2, dst: '2.2.2.2', proto: 6, sport: 1, dport: 2 },
      id: 1234,
      state: 9,
      family: 2,
    });
  });

  test('NAT filters: -n with address and port, -g without', () => {
    const c = parse('-L', '-n', '1.2.3.4:80', '-g');
    assert.deepEqual(c.filter.nat, { src: { addr: '1.2.3.4', port: 80 }, dst: {} });
    assert.equal(c.filter.orig, undefined, '-n alone does not turn on the comparison');
  });

  test('-j with a bracketed IPv6 address and port: the filter leaves the address out, as 1.4.7 ignores it (defect 18)', () => {
    const c = parse('-L', '-j', '[2001:db8::1]:80');
    assert.equal(c.family, 10);
    assert.deepEqual(c.filter.nat, { any: { port: 80 } });
    assert.deepEqual(parse('-L', '-n', '2001:db8::1').filter.nat, { src: {} });
    assert.deepEqual(parse('-L', '-g', '10.0.0.1:80').filter.nat, { dst: { addr: '10.0.0.1', port: 80 } });
  });

  test('-E: event mask, output flags, buffer size; -e D means DST_NAT (nothing)', () => {
    const c = parse('-E', '-e', 'NEW,DESTROY', '-o', 'xml,timestamp,u', '-b', '100000');
    assert.deepEqual([c.eventMask, c.bufferSize], [5, 100000]);
    assert.deepEqual(c.output, { ...NO_OUTPUT, xml: true, timestamp: true, userspace: true });
    const d = parse('-E', '-e', 'D');
    assert.deepEqual([d.eventMask, d.warnings], [0, ['WARNING: ignoring DST_NAT, use --dst-nat instead']]);
    assert.equal(parse('-E').eventMask, undefined);
  });

  test('-o save alone; userspace does not conflict with it', () => {
    assert.deepEqual(parse('-L', '-o', 'save,userspace').output, { ...NO_OUTPUT, save: true, userspace: true });
  });

  test('-o json (our extension) comes after every 1.4.7 word: only its own prefixes mean it', () => {
    assert.deepEqual(parse('-L', 'expect', '-o', 'j,timestamp').output, { ...NO_OUTPUT, json: true, timestamp: true });
    assert.deepEqual(parse('-L', '-o', 'e').output, { ...NO_OUTPUT, extended: true });
    assert.throws(() => parse('-L', '-o', 'json,save'), /cannot combine save output/);
  });

  test('labels: -l merges, the map is kept for printing and -o labels', () => {
    const c = parse('-L', '-l', 'one,forty', '-l', 'two');
    assert.deepEqual(c.labels, { filter: [1, 2, 40] });
    assert.deepEqual(c.filter.labels, labelBitmap([1, 2, 40]));
    assert.equal(c.filter.labels!.length, 8);
    assert.equal(c.labelMap?.nameOf(40), 'forty');
    assert.equal(c.labelMap?.nameOf(3), '');
    assert.equal(c.labelMap?.nameOf(41), undefined);
    assert.ok(parse('-L', '-o', 'labels').labelMap);
  });
});

describe('templates of -I, -A, -U', () => {
  test('-I tcp: status, timeout, mark, state with CLOSE_INIT, IPv4 default', () => {
    const c = parse('-I', '-p', 'tcp', '-s', '1.1.1.1', '-d', '2.2.2.2', '--sport', '1', '--dport', '2', '--state', 'TIME_WAIT',
      '-t', '100', '-m', '7', '-u', 'ASSURED');
    const flags = { flags: 0x0e, mask: 0x0e };
    assert.deepEqual(c.template, {
      family: 2,
      orig: { src: '1.1.1.1', l3: 2, dst: '2.2.2.2', proto: 6, sport: 1, dport: 2 },
      reply: {},
      status: 4,
      timeout: 100,
      mark: 7,
      tcp: { state: 7, flagsOrig: flags, flagsReply: flags },
    });
    assert.deepEqual(completeTuples(c).reply, { l3: 2, src: '2.2.2.2', dst: '1.1.1.1', proto: 6, sport: 2, dport: 1 });
    assert.deepEqual(c.filter, {});
  });

  test('-A with only the reply direction: the original is derived', () => {
    const c = parse('-A', '-p', 'udp', '-r', '1.1.1.1', '-q', '2.2.2.2', '--reply-port-src', '5', '--reply-port-dst', '6', '-t', '1',
      '--reply-zone', '9');
    assert.equal(c.command, 'CT_ADD');
    assert.deepEqual(completeTuples(c), {
      orig: { proto: 17, l3: 2, src: '2.2.2.2', dst: '1.1.1.1', sport: 6, dport: 5 },
      reply: { src: '1.1.1.1', l3: 2, dst: '2.2.2.2', proto: 17, sport: 5, dport: 6, zone: 9 },
    });
  });

  test('-I sends the -p number of a protocol without options in both directions', () => {
    const c = parse('-I', '-p', 'igmp', '-s', '0.0.0.0', '-d', '224.0.0.22', '-r', '224.0.0.22', '-q', '0.0.0.0', '-t', '1');
    assert.equal(completeTuples(c).reply.proto, 2);
    const replyOnly = parse('-I', '-r', '2.2.2.2', '-q', '1.1.1.1', '-p', '200', '-t', '1');
    assert.deepEqual(completeTuples(replyOnly).orig, { l3: 2, src: '1.1.1.1', dst: '2.2.2.2', proto: 200 });
  });

  test('-I with a reply direction the options gave no protocol sends protocol 0, and derives the original from it', () => {
    const c = parse('-I', '-p', 'tcp', '-r', '2.2.2.2', '-q', '1.1.1.1', '--sport', '1', '--dport', '2', '--state', 'LISTEN', '-t', '1');
    assert.deepEqual(completeTuples(c), {
      orig: { l3: 2, src: '1.1.1.1', dst: '2.2.2.2', proto: 0 },
      reply: { l3: 2, src: '2.2.2.2', dst: '1.1.1.1', proto: 0 },
    });
  });

  test('ICMP: the reply type comes from the family known when --icmp-type was parsed (D19)', () => {
    const c = parse('-I', '-p', 'icmp', '-s', '1.1.1.1', '-d', '2.2.2.2', '--icmp-type', '8', '--icmp-code', '0', '--icmp-id', '77', '-t', '10');
    assert.equal(c.icmpReplyType, 0);
    assert.deepEqual(completeTuples(c).reply, { l3: 2, src: '2.2.2.2', dst: '1.1.1.1', proto: 1, icmpType: 0, icmpCode: 0, icmpId: 77 });
    const late = parse('-I', '-p', 'icmp', '--icmp-type', '8', '--icmp-code', '0', '-s', '1.1.1.1', '-d', '2.2.2.2', '-t', '10');
    assert.equal(late.icmpReplyType, 255);
    assert.equal(parse('-I', '-p', 'icmp', '-s', '1.1.1.1', '-d', '2.2.2.2', '--icmp-type', '3', '--icmp-code', '0', '-t', '1').icmpReplyType, 255);
  });

  test('ICMPv6 echo maps 128 to 129; an explicit reply tuple carries the ICMP fields', () => {
    const c = parse('-I', '-p', 'icmpv6', '-s', '::1', '-d', '::2', '-r', '::2', '-q', '::1', '--icmpv6-type', '128', '--icmpv6-code', '0', '-t', '1');
    assert.equal(c.family, 10);
    assert.deepEqual(c.template.reply, { src: '::2', l3: 10, dst: '::1', proto: 58, icmpType: 129, icmpCode: 0 });
    assert.equal(c.filter.reply, undefined);
  });

  test('SCTP vtags are byte-swapped, states by name', () => {
    const c = parse('-I', '-p', 'sctp', '-s', '1.1.1.1', '-d', '2.2.2.2', '--sport', '1', '--dport', '2', '-t', '1',
      '--state', 'ESTABLISHED', '--orig-vtag', '1', '--reply-vtag', '0x2');
    assert.deepEqual(c.template.sctp, { state: 4, vtagOrig: 0x01000000, vtagReply: 0 });
  });

  test('DCCP role by case-insensitive prefix', () => {
    const c = parse('-I', '-p', 'dccp', '-s', '1.1.1.1', '-d', '2.2.2.2', '--sport', '1', '--dport', '2', '-t', '1',
      '--state', 'OPEN', '--role', 'SERV');
    assert.deepEqual(c.template.dccp, { state: 4, role: 1 });
  });

  test('numbers: ports are atoi() truncated to 16 bits, GRE keys strtoul()', () => {
    assert.deepEqual(parse('-L', '-p', 'tcp', '--sport', '70000', '--dport', 'abc').filter.orig, { proto: 6, sport: 4464, dport: 0 });
    assert.deepEqual(parse('-I', '-p', 'gre', '-s', '1.1.1.1', '-d', '2.2.2.2', '--srckey', '0x10', '--dstkey', '-1', '-t', '1').template.orig,
      { l3: 2, src: '1.1.1.1', dst: '2.2.2.2', proto: 47, sport: 16, dport: 65535 });
    // 1.4.7 never compares GRE keys (defect 18): the filter leaves them out.
    assert.deepEqual(parse('-L', '-p', 'gre', '--srckey', '0x10', '--dstkey', '-1').filter.orig, { proto: 47 });
    // -t alone is no filter in 1.4.7: `-D -t 5` deletes everything.
    assert.equal(parse('-D', '-t', '5').filter.timeout, undefined);
    assert.equal(parse('-D', '-p', 'tcp', '-t', '5').filter.timeout, 5);
    assert.equal(parse('-I', '-p', 'tcp', '-s', '1.1.1.1', '-d', '2.2.2.2', '--sport', '1', '--dport', '2', '--state', 'NONE',
      '-t', '-1').template.timeout, 0xffffffff);
  });

  test('-p by number, hex, name of /etc/protocols', () => {
    assert.equal(parse('-L', '-p', '0x11').protocol?.module.name, 'udp');
    assert.deepEqual(parse('-L', '-p', '200').filter.orig, { proto: 200 });
    assert.equal(parse('-L', '-p', 'ipv6-icmp').protocol?.module.name, 'unknown');
  });

  test('-I with NAT: the request carries the NAT address and port', () => {
    const c = parse('-I', '-p', 'tcp', '-s', '1.1.1.1', '-d', '2.2.2.2', '--sport', '1', '--dport', '2', '--state', 'SYN_SENT', '-t', '9',
      '--src-nat', '203.0.113.1:4000', '-g', '-w', '5', '--orig-zone', '6');
    assert.deepEqual(c.template.natSrc, { minIp: '203.0.113.1', minPort: 4000 });
    assert.equal(c.template.natDst, undefined);
    assert.deepEqual([c.template.zone, c.template.orig.zone], [5, 6]);
  });

  test('-I --label-add: labels in the request', () => {
    const c = parse('-I', '-p', 'udp', '-s', '1.1.1.1', '-d', '2.2.2.2', '--sport', '1', '--dport', '2', '-t', '9', '--label-add', 'one,two');
    assert.deepEqual(c.labels, { add: [1, 2] });
    assert.deepEqual(c.template.labels, labelBitmap([1, 2]));
  });

  test('-U: mark, status, labels are changes; tuples, id, labels filter', () => {
    const c = parse('-U', '-s', '1.1.1.1', '-m', '7/0xff', '-u', 'ASSURED', '--label-add', 'one', '-i', '9', '-l', 'two');
    assert.deepEqual(c.filter, { family: 2, labels: labelBitmap([2]), id: 9, orig: { src: '1.1.1.1', l3: 2 } });
    assert.deepEqual([c.mark, c.status, c.labels], [{ value: 7, mask: 0xff }, { value: 4, mask: 4 }, { filter: [2], add: [1] }]);
    assert.equal(c.template.mark, undefined);
    assert.equal(c.template.labels, undefined);
    assert.equal(c.template.status, 4);
  });

  test('-U --label-del: names, or all', () => {
    assert.deepEqual(parse('-U', '--label-del').labels, { del: 'all' });
    assert.deepEqual(parse('-U', '--label-del', 'one', '--label-del').labels, { del: [1] });
    assert.deepEqual(parse('-U', '--label-del=one').labels, { del: 'all' });
  });

  test('-U -p: both directions are compared, the state is a change', () => {
    const c = parse('-U', '-p', 'tcp', '--dport', '22', '--state', 'ESTABLISHED', '-f', 'ipv4');
    assert.deepEqual(c.filter, { family: 2, orig: { proto: 6, dport: 22 } });
    assert.equal(c.template.tcp?.state, 3);
  });

  test('-I expect: expected tuple (with the port-derived protocol, D9), mask, timeout', () => {
    const c = parse('-I', 'expect', '-s', '1.1.1.1', '-d', '2.2.2.2', '-p', 'tcp', '--sport', '1', '--dport', '21',
      '--tuple-src', '1.1.1.1', '--tuple-dst', '2.2.2.0/24', '--mask-src', '255.255.255.255', '--tuple-port-src', '0',
      '--tuple-port-dst', '2000', '--mask-port-src', '0', '--mask-port-dst', '65535', '-t', '10');
    assert.equal(c.command, 'EXP_CREATE');
    assert.deepEqual(c.expect, {
      tuple: { src: '1.1.1.1', l3: 2, dst: '2.2.2.0', sport: 0, proto: 7, dport: 2000 },
      mask: { dst: '255.255.255.0', l3: 2, src: '255.255.255.255', sport: 0, proto: 6, dport: 65535 },
      timeout: 10,
    });
  });
});

describe('-R files (D13: every line has its own options)', () => {
  /** The lines of a -R file as check() hands them on. */
  const load = (content: string, parseEnv: ParseEnvironment): { warnings: string[]; commands: CommandLine[] } => {
    const file = path.join(dir, 'commands');
    writeFileSync(file, content);
    const inv = parseInvocation(['conntrack', '-R', file], parseEnv);
    assert.equal(inv.kind, 'load-file');
    if (inv.kind !== 'load-file') throw new Error('not a -R invocation');
    try {
      const warnings: string[] = [];
      const commands: CommandLine[] = [];
      inv.script.check(
        (line) => warnings.push(line),
        // No line below is one of the fast path's.
        (line) => 'cmd' in line && commands.push(line.cmd),
      );
      return { warnings, commands };
    } finally {
      inv.script.close();
    }
  };

  test('mark, output flags and labels are per line; the label map loads once', () => {
    const { commands } = load('-U -s 1.1.1.1 -m 9 -l one\n# skipped\n\n-D -s 2.2.2.2 -o save\n-D -o xml -l two\n', env);
    const [u, d1, d2] = commands;
    assert.deepEqual(u!.mark, { value: 9, mask: 0xffffffff });
    assert.equal(d1!.mark, undefined);
    assert.deepEqual([d1!.output.save, d2!.output.save, d2!.output.xml], [true, false, true]);
    assert.deepEqual(d2!.labels, { filter: [2] });
    assert.equal(u!.labelMap, d2!.labelMap);
  });

  test('a missing label map warns at every use, the warnings of all lines are printed once, in order', () => {
    const { warnings, commands } = load('-D -o labels\n-U -u S\n-D -o labels\n', { labelMapFile: path.join(dir, 'absent') });
    const missing = 'nfct_labelmap_new: No such file or directory';
    assert.deepEqual(warnings, [missing, 'WARNING: ignoring SRC_NAT, use --src-nat instead', missing]);
    assert.equal(commands.length, 3);
    assert.equal(commands[0]!.labelMap, undefined);
  });

  test('a failing line carries its own warnings; those of earlier lines were printed', () => {
    const file = path.join(dir, 'failing');
    writeFileSync(file, '-U -u S\n-U -u S -s x\n');
    const inv = parseInvocation(['conntrack', '-R', file], env);
    if (inv.kind !== 'load-file') throw new Error('not a -R invocation');
    const printed: string[] = [];
    const src = 'WARNING: ignoring SRC_NAT, use --src-nat instead';
    assert.throws(
      () => inv.script.check((line) => printed.push(line), () => {}),
      (e: unknown) => e instanceof ParameterProblem && e.message === "Invalid IP address `x'" && e.warnings.join() === src,
    );
    inv.script.close();
    assert.deepEqual(printed, [src]);
  });

  test('commands are refused only after every line parsed', () => {
    assert.throws(() => load('-L\n-I -s x\n', env), /Invalid IP address/);
    assert.throws(() => load('-F\n-L\n-C\n', env), /Cannot use command `-L' with --load-file/);
  });
});

describe('checks when the command starts', () => {
  test('pass for valid combinations, skip -L dying', () => {
    for (const argv of [['-L', '-z'], ['-L', 'dying', '--mask-src', '1.2.3.4'], ['-D', '-s', '1.1.1.1', '--mask-src', '255.0.0.0'], ['-L', 'expect']]) {
      assert.doesNotThrow(() => validateForExecution(parse(...argv)), argv.join(' '));
    }
  });
});
