/**
 * Checks of the test harness itself: the normalizers of framework.ts (pure)
 * and the namespace, state and traffic helpers of ../kernel/netns.ts (real
 * kernel, reference binary). A harness that silently compared nothing, or
 * traffic that made no flows, would let every differential case pass.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createNetns, ctFill, makeTraffic, REFERENCE_CONNTRACK, run, withNetns } from '../kernel/netns';
import { assertSameText, familySplit, groupByFamily, liftTicks, maskArgv0, maskIds, rebrand, reference, type Command } from './framework';

const ours: Command = { argv: ['node', 'x'], banner: 'conntrack v9.8.7 (conntrack-ts)', version: '9.8.7' };
const exact = { maskIds: false, tickTolerance: 3 };

describe('normalizers', () => {
  test('family grouping of split dumps: IPv6 entries after the IPv4 ones, each family in order', () => {
    const v4a = 'tcp      6 9 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2';
    const v4b = 'ipv4     2 udp      17 9 src=10.0.0.3 dst=10.0.0.4 sport=1 dport=2';
    const v6a = 'tcp      6 9 ESTABLISHED src=2001:db8::1 dst=2001:db8::2 sport=1 dport=2';
    const v6b = 'ipv6     10 udp      17 9 src=::1 dst=::1 sport=1 dport=2';
    assert.equal(groupByFamily([v6a, v4a, v6b, v4b, ''].join('\n')), [v4a, v4b, v6a, v6b, ''].join('\n'));
    assert.notEqual(groupByFamily([v6b, v6a, v4a].join('\n')), groupByFamily([v6a, v6b, v4a].join('\n')));
    const xml = ['<?xml version="1.0" encoding="utf-8"?>', '<conntrack>', `<flow>${v6a}</flow>`, `<flow>${v4a}</flow>`, '</conntrack>', ''];
    assert.equal(groupByFamily(xml.join('\n')), [xml[0], xml[1], xml[3], xml[2], xml[4], ''].join('\n'));
    const save = ['-A -t 9 -u ASSURED -s 10.0.0.1 -d 10.0.0.2 -p tcp', '-A -t 9 -u ASSURED -s 2001:db8::1 -d 2001:db8::2 -p tcp'];
    assert.equal(groupByFamily([save[1], save[0]].join('\n')), save.join('\n'));
    assert.equal(familySplit(['-L', '-p', 'tcp']), groupByFamily);
    assert.equal(familySplit(['-D', '--dport=80', '-p', 'tcp']), groupByFamily);
    assert.equal(familySplit(['-L', '-p', 'tcp', '-f', 'ipv6']), undefined);
    assert.equal(familySplit(['-L', '-m', '1']), undefined);
  });

  test('timeouts of default, extended, event and expectation lines', () => {
    const text =
      'tcp      6 431999 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 mark=0 use=1\n' +
      'ipv4     2 udp      17 29 src=127.0.0.1 dst=127.0.0.1 sport=5 dport=6 mark=0 use=1\n' +
      'unknown  200 599 src=10.0.0.1 dst=10.0.0.11 [UNREPLIED] src=10.0.0.11 dst=10.0.0.1 mark=0 use=1\n' +
      ' [UPDATE] udp      17 49 src=10.0.0.1 dst=10.0.0.2 sport=5000 dport=53 mark=3\n' +
      '[1795334584.214776]\t    [NEW] ipv4     2 udp      17 50 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2\n' +
      '297 proto=6 src=127.0.0.1 dst=127.0.0.1 sport=0 dport=10000\n';
    const n = liftTicks(text);
    assert.deepEqual(n.ticks, { timeout: [431999, 29, 599, 49, 50, 297] });
    assert.match(n.text, /^tcp {6}6 <timeout> ESTABLISHED /);
    assert.match(n.text, /^unknown  200 <timeout> src=/m);
    assert.match(n.text, /^<timeout> proto=6 /m);
  });

  test('save, xml and delta-time fields', () => {
    const n = liftTicks(
      '-A -t 598 -u UNSET -s 10.0.0.1 -d 10.0.0.2 -p udp\n' +
        '<meta direction="independent"><timeout>5999</timeout><mark>0</mark><deltatime>3</deltatime></meta>\n' +
        'udp      17 28 src=127.0.0.1 mark=0 delta-time=2 use=1\n',
    );
    // Grouped by pattern, each in order of appearance: the same on both sides.
    assert.deepEqual(n.ticks, { timeout: [28, 598, 5999], 'delta-time': [2, 3] });
    assert.equal(
      n.text,
      '-A -t <timeout> -u UNSET -s 10.0.0.1 -d 10.0.0.2 -p udp\n' +
        '<meta direction="independent"><timeout><timeout></timeout><mark>0</mark><deltatime><delta-time></deltatime></meta>\n' +
        'udp      17 <timeout> src=127.0.0.1 mark=0 delta-time=<delta-time> use=1\n',
    );
  });

  test('a tuple value that looks like a timeout is left alone', () => {
    const line = 'icmp     1 29 src=10.0.0.1 dst=10.0.0.4 type=8 code=0 id=77 mark=0 use=1\n';
    assert.equal(liftTicks(line).text, line.replace(' 29 ', ' <timeout> '));
  });

  test('conntrack ids are masked, ICMP ids are not', () => {
    assert.equal(
      maskIds('icmp 1 2 type=8 code=0 id=77 src=a type=0 code=0 id=77 mark=0 use=1 id=123456\n<id>42</id>'),
      'icmp 1 2 type=8 code=0 id=77 src=a type=0 code=0 id=77 mark=0 use=1 id=<id>\n<id><id></id>',
    );
  });

  test('rebrand: banner everywhere, version in the usage header', () => {
    const usage = 'Command line interface for the connection tracking system. Version 1.4.7\nUsage: x\n';
    assert.equal(
      rebrand(`${reference.banner}: 1 flow entries have been shown.\n`, reference, ours),
      'conntrack v9.8.7 (conntrack-ts): 1 flow entries have been shown.\n',
    );
    assert.equal(rebrand(usage, reference, ours), usage.replace('1.4.7', '9.8.7'));
    assert.equal(rebrand('Version 1.4.7 elsewhere\n', reference, ours), 'Version 1.4.7 elsewhere\n');
  });

  test('argv[0] of the usage line', () => {
    assert.equal(maskArgv0('Usage: /usr/sbin/conntrack [commands] [options]\n'), 'Usage: ARGV0 [commands] [options]\n');
  });

  test('differences are caught: text, tick tolerance, number of fields', () => {
    const line = (t: number, mark = 0) => `udp      17 ${t} src=10.0.0.1 dst=10.0.0.2 mark=${mark} use=1\n`;
    assertSameText('same', line(600), line(598), exact);
    assert.throws(() => assertSameText('mark', line(600), line(600, 1), exact), /mark differs/);
    assert.throws(() => assertSameText('late', line(600), line(590), exact), /timeout #0 differs by more than/);
    assert.throws(() => assertSameText('count', line(600), line(600) + line(600), exact), /differs/);
    assert.throws(() => assertSameText('trailing space', 'a\n', 'a \n', exact), /differs/);
  });
});

describe('namespace helpers', () => {
  test('createNetns: unique name, loopback up, events on; destroy removes it', async () => {
    const ns = await createNetns('harness');
    assert.match(ns.name, new RegExp(`^ctts-harness-${process.pid}-\\d+$`));
    try {
      const lo = await ns.execOk('ip', ['-o', 'link', 'show', 'lo']);
      assert.match(lo.stdout.toString(), /[<,]UP[,>]/);
      const ev = await ns.execOk('cat', ['/proc/sys/net/netfilter/nf_conntrack_events']);
      assert.equal(ev.stdout.toString().trim(), '1');
    } finally {
      await ns.destroy();
    }
    const list = await run('ip', ['netns', 'list']);
    assert.ok(!list.stdout.toString().split('\n').some((l) => l.split(' ')[0] === ns.name), 'namespace still listed');
  });

  test('namespaces are isolated from each other and from the host', async (t) => {
    const a = await withNetns(t, 'harness');
    const b = await withNetns(t, 'harness');
    await ctFill(a, [['-s', '10.0.0.1', '-d', '10.0.0.2', '-p', 'udp', '--sport', '1', '--dport', '2', '-t', '600']]);
    const countA = await a.execOk(REFERENCE_CONNTRACK, ['-C']);
    const countB = await b.execOk(REFERENCE_CONNTRACK, ['-C']);
    assert.equal(countA.stdout.toString(), '1\n');
    assert.equal(countB.stdout.toString(), '0\n');
  });

  test('ctFill: all lines in one -R run; a bad line creates nothing and throws', async (t) => {
    const ns = await withNetns(t, 'harness');
    await ctFill(ns, [
      ['-s', '10.0.0.1', '-d', '10.0.0.2', '-p', 'tcp', '--sport', '1', '--dport', '2', '--state', 'ESTABLISHED', '-t', '600'],
      ['-I', '-s', '2001:db8::1', '-d', '2001:db8::2', '-p', 'udp', '--sport', '3', '--dport', '4', '-t', '600'],
    ]);
    const save = await ns.execOk(REFERENCE_CONNTRACK, ['-L', '-o', 'save']);
    assert.equal(save.stdout.toString().split('\n').filter(Boolean).length, 2);
    await assert.rejects(
      ctFill(ns, [
        ['-s', '10.0.0.5', '-d', '10.0.0.6', '-p', 'udp', '--sport', '1', '--dport', '2', '-t', '600'],
        ['-s', '10.0.0.5', '-p', 'bogus'],
      ]),
      /unsupported protocol/,
    );
    assert.equal((await ns.execOk(REFERENCE_CONNTRACK, ['-C'])).stdout.toString(), '2\n');
  });

  test('stdin reaches programs that open /dev/stdin', async (t) => {
    const ns = await withNetns(t, 'harness');
    const r = await ns.exec(REFERENCE_CONNTRACK, ['-R', '-'], {
      input: '-I -s 10.0.0.1 -d 10.0.0.2 -p udp --sport 1 --dport 2 -t 600\n',
    });
    assert.equal(r.status, 0, r.stderr.toString());
  });

  test('makeTraffic: kernel-made tcp, udp, icmp and icmpv6 flows with reply state', async (t) => {
    const ns = await withNetns(t, 'harness');
    const traffic = await makeTraffic(ns, { keepOpen: true });
    assert.deepEqual(
      traffic.flows.map((f) => `${f.proto} ${f.src} ${f.open ? 'open' : 'closed'}`),
      ['tcp 127.0.0.1 closed', 'tcp 127.0.0.1 open', 'udp 127.0.0.1 closed', 'tcp ::1 closed', 'tcp ::1 open', 'udp ::1 closed'],
    );
    const list = (await ns.execOk(REFERENCE_CONNTRACK, ['-L'])).stdout.toString();
    for (const f of traffic.flows) {
      const line = list.split('\n').find((l) => l.includes(` sport=${f.sport} dport=${f.dport} `));
      assert.ok(line, `no entry for ${JSON.stringify(f)} in\n${list}`);
      assert.doesNotMatch(line, /UNREPLIED/);
      if (f.proto === 'tcp') assert.match(line, f.open ? / ESTABLISHED .*\[ASSURED\]/ : / TIME_WAIT .*\[ASSURED\]/);
    }
    assert.match(list, /^icmp +1 \d+ src=127\.0\.0\.1 dst=127\.0\.0\.1 type=8 code=0 id=\d+ src=127\.0\.0\.1/m);
    assert.match(list, /^icmpv6 +58 \d+ src=::1 dst=::1 type=128 code=0 id=\d+ src=::1/m);
    await traffic.close();
    // The kernel closes the held sockets: the connections leave ESTABLISHED.
    const after = (await ns.execOk(REFERENCE_CONNTRACK, ['-L', '-p', 'tcp', '--state', 'ESTABLISHED'])).stdout.toString();
    assert.equal(after, '');
  });
});
