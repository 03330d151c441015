import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Proto, TcpState } from '../../src/ctnetlink/constants';
import type { Flow } from '../../src/ctnetlink/flow';
import { Status } from '../../src/ctnetlink/status';
import { formatText } from '../../src/format/text';
import { ctimeText, timestampPrefix } from '../../src/format/timestamp';
import {
  CONFIRMED,
  counters,
  labelBits,
  labelMap,
  loadCapture,
  makeFlow,
  ns,
  ORACLE_CASES,
  ORACLE_LABELS,
  oracleTranscript,
  ORACLE_TS_NOW,
  REPLIED_ASSURED,
  tuple,
} from './format-fixtures';

// ctime() text is local time; the transcripts were taken with TZ=UTC.
process.env.TZ = 'UTC';

const at = (seconds: number) => () => seconds;
const SNAT_DONE = CONFIRMED | Status.SRC_NAT | Status.SRC_NAT_DONE | Status.DST_NAT_DONE;

describe('formatText: transcripts', () => {
  const cases: [string, Flow, Parameters<typeof formatText>[1], string][] = [
    [
      'tcp, assured, mark',
      makeFlow({
        proto: Proto.TCP, orig: tuple('10.0.0.1', '10.0.0.2', { sport: 1111, dport: 80 }),
        timeout: 599, tcp: { state: TcpState.ESTABLISHED }, status: REPLIED_ASSURED, mark: 1, use: 1,
      }),
      {},
      'tcp      6 599 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=1111 dport=80 src=10.0.0.2 dst=10.0.0.1 sport=80 dport=1111 [ASSURED] mark=1 use=1',
    ],
    [
      'udp, unreplied',
      makeFlow({
        proto: Proto.UDP, orig: tuple('10.0.0.1', '10.0.0.3', { sport: 2222, dport: 53 }),
        timeout: 599, status: CONFIRMED, mark: 2, use: 1,
      }),
      {},
      'udp      17 599 src=10.0.0.1 dst=10.0.0.3 sport=2222 dport=53 [UNREPLIED] src=10.0.0.3 dst=10.0.0.1 sport=53 dport=2222 mark=2 use=1',
    ],
    [
      'icmp echo',
      makeFlow({
        proto: Proto.ICMP, orig: tuple('10.0.0.1', '10.0.0.4', { type: 8, code: 0, id: 77 }),
        reply: tuple('10.0.0.4', '10.0.0.1', { type: 0, code: 0, id: 77 }),
        timeout: 599, status: CONFIRMED, mark: 0, use: 1,
      }),
      {},
      'icmp     1 599 src=10.0.0.1 dst=10.0.0.4 type=8 code=0 id=77 [UNREPLIED] src=10.0.0.4 dst=10.0.0.1 type=0 code=0 id=77 mark=0 use=1',
    ],
    [
      'gre keys in hex',
      makeFlow({
        proto: Proto.GRE, orig: tuple('10.0.0.1', '10.0.0.7', { sport: 0x10, dport: 0x20 }),
        timeout: 599, status: CONFIRMED, mark: 0, use: 1,
      }),
      {},
      'gre      47 599 src=10.0.0.1 dst=10.0.0.7 srckey=0x10 dstkey=0x20 [UNREPLIED] src=10.0.0.7 dst=10.0.0.1 srckey=0x20 dstkey=0x10 mark=0 use=1',
    ],
    [
      'protocol without tracker',
      makeFlow({ proto: 200, orig: tuple('10.0.0.1', '10.0.0.11'), timeout: 599, status: CONFIRMED, mark: 0, use: 1 }),
      {},
      'unknown  200 599 src=10.0.0.1 dst=10.0.0.11 [UNREPLIED] src=10.0.0.11 dst=10.0.0.1 mark=0 use=1',
    ],
    [
      'igmp is unknown too',
      makeFlow({ proto: 2, orig: tuple('10.0.0.1', '224.0.0.22'), timeout: 599, status: CONFIRMED, mark: 0, use: 1 }),
      {},
      'unknown  2 599 src=10.0.0.1 dst=224.0.0.22 [UNREPLIED] src=224.0.0.22 dst=10.0.0.1 mark=0 use=1',
    ],
    [
      'source NAT',
      makeFlow({
        proto: Proto.TCP, orig: tuple('192.168.1.10', '8.8.8.8', { sport: 4000, dport: 80 }),
        reply: tuple('8.8.8.8', '203.0.113.1', { sport: 80, dport: 4000 }),
        timeout: 599, tcp: { state: TcpState.ESTABLISHED }, status: SNAT_DONE, mark: 0, use: 1,
      }),
      {},
      'tcp      6 599 ESTABLISHED src=192.168.1.10 dst=8.8.8.8 sport=4000 dport=80 [UNREPLIED] src=8.8.8.8 dst=203.0.113.1 sport=80 dport=4000 mark=0 use=1',
    ],
    [
      'original-direction zone',
      makeFlow({
        proto: Proto.UDP, orig: tuple('10.0.0.1', '10.0.0.12', { sport: 7, dport: 7, zone: 3 }),
        timeout: 599, status: CONFIRMED, mark: 0, use: 1,
      }),
      {},
      'udp      17 599 src=10.0.0.1 dst=10.0.0.12 sport=7 dport=7 zone-orig=3 [UNREPLIED] src=10.0.0.12 dst=10.0.0.1 sport=7 dport=7 mark=0 use=1',
    ],
    [
      'CTA_ZONE',
      makeFlow({
        proto: Proto.UDP, orig: tuple('10.0.0.1', '10.0.0.9', { sport: 7, dport: 7 }),
        timeout: 599, status: CONFIRMED, mark: 0, zone: 5, use: 1,
      }),
      {},
      'udp      17 599 src=10.0.0.1 dst=10.0.0.9 sport=7 dport=7 [UNREPLIED] src=10.0.0.9 dst=10.0.0.1 sport=7 dport=7 mark=0 zone=5 use=1',
    ],
    [
      'icmpv6 with compressed addresses',
      makeFlow({
        proto: Proto.ICMPV6, orig: tuple('2001:db8::1', '2001:db8::2', { type: 128, code: 0, id: 99 }),
        reply: tuple('2001:db8::2', '2001:db8::1', { type: 129, code: 0, id: 99 }),
        timeout: 599, status: CONFIRMED, mark: 0, use: 1,
      }),
      {},
      'icmpv6   58 599 src=2001:db8::1 dst=2001:db8::2 type=128 code=0 id=99 [UNREPLIED] src=2001:db8::2 dst=2001:db8::1 type=129 code=0 id=99 mark=0 use=1',
    ],
    [
      'counters, timestamp, helper',
      makeFlow({
        proto: Proto.TCP, orig: tuple('127.0.0.1', '127.0.0.1', { sport: 40000, dport: 21 }),
        timeout: 9, tcp: { state: TcpState.CLOSE }, status: REPLIED_ASSURED | Status.HELPER,
        countersOrig: counters(6, 358), countersReply: counters(5, 298), mark: 0,
        timestamp: { start: ns(1795334900, 123456789) }, helper: 'ftp', use: 1,
      }),
      { nowSeconds: at(1795334900) },
      'tcp      6 9 CLOSE src=127.0.0.1 dst=127.0.0.1 sport=40000 dport=21 packets=6 bytes=358 src=127.0.0.1 dst=127.0.0.1 sport=21 dport=40000 packets=5 bytes=298 [ASSURED] mark=0 delta-time=0 helper=ftp use=1',
    ],
    [
      'ktimestamp',
      makeFlow({
        proto: Proto.UDP, orig: tuple('127.0.0.1', '127.0.0.1', { sport: 5000, dport: 5001 }),
        timeout: 28, status: CONFIRMED | Status.SEEN_REPLY, countersOrig: counters(1, 33), countersReply: counters(1, 34),
        mark: 0, timestamp: { start: ns(Date.UTC(2026, 10, 22, 8, 28, 51) / 1000, 500000000) }, use: 1,
      }),
      { ktimestamp: true, nowSeconds: at(Date.UTC(2026, 10, 22, 8, 28, 53) / 1000) },
      'udp      17 28 src=127.0.0.1 dst=127.0.0.1 sport=5000 dport=5001 packets=1 bytes=33 src=127.0.0.1 dst=127.0.0.1 sport=5001 dport=5000 packets=1 bytes=34 mark=0 delta-time=2 [start=Sun Nov 22 08:28:51 2026] use=1',
    ],
    [
      'labels with a label map',
      makeFlow({
        proto: Proto.TCP, orig: tuple('10.1.0.1', '10.1.0.2', { sport: 1, dport: 2 }),
        timeout: 598, tcp: { state: TcpState.ESTABLISHED }, status: CONFIRMED, mark: 0, use: 1,
        labels: labelBits(1, 5),
      }),
      { labelName: labelMap({ 1: 'one', 5: 'five-5' }) },
      'tcp      6 598 ESTABLISHED src=10.1.0.1 dst=10.1.0.2 sport=1 dport=2 [UNREPLIED] src=10.1.0.2 dst=10.1.0.1 sport=2 dport=1 mark=0 use=1 labels=one,five-5',
    ],
    [
      'extended and id',
      makeFlow({
        proto: Proto.UDP, orig: tuple('10.0.0.1', '10.0.0.3', { sport: 2222, dport: 53 }),
        timeout: 599, status: CONFIRMED, countersOrig: counters(0, 0), countersReply: counters(0, 0), mark: 2,
        timestamp: { start: ns(1795334000, 999999999) }, use: 1, id: 1081651612,
      }),
      { extended: true, id: true, nowSeconds: at(1795334001) },
      'ipv4     2 udp      17 599 src=10.0.0.1 dst=10.0.0.3 sport=2222 dport=53 packets=0 bytes=0 [UNREPLIED] src=10.0.0.3 dst=10.0.0.1 sport=53 dport=2222 packets=0 bytes=0 mark=2 delta-time=1 use=1 id=1081651612',
    ],
  ];
  for (const [name, flow, opts, expected] of cases) {
    test(name, () => assert.equal(formatText(flow, opts), expected));
  }
});

describe('formatText: event transcripts', () => {
  const udpEvent = (timeout: number, mark: number | undefined): Flow =>
    makeFlow({
      proto: Proto.UDP, orig: tuple('10.0.0.1', '10.0.0.2', { sport: 5000, dport: 53 }),
      timeout, status: CONFIRMED, mark, id: 966711672,
    });
  // The `[USERSPACE] portid=…` suffix is the CLI's, appended after the formatter's line.
  test('NEW', () => {
    assert.equal(
      formatText(udpEvent(50, 0), { event: 'new' }) + ' [USERSPACE] portid=9775',
      '    [NEW] udp      17 50 src=10.0.0.1 dst=10.0.0.2 sport=5000 dport=53 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 sport=53 dport=5000 mark=0 [USERSPACE] portid=9775',
    );
  });
  test('UPDATE', () => {
    assert.equal(
      formatText(udpEvent(49, 3), { event: 'update' }) + ' [USERSPACE] portid=3757913970',
      ' [UPDATE] udp      17 49 src=10.0.0.1 dst=10.0.0.2 sport=5000 dport=53 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 sport=53 dport=5000 mark=3 [USERSPACE] portid=3757913970',
    );
  });
  test('DESTROY', () => {
    assert.equal(
      formatText(udpEvent(49, 3), { event: 'destroy' }) + ' [USERSPACE] portid=4032347818',
      '[DESTROY] udp      17 49 src=10.0.0.1 dst=10.0.0.2 sport=5000 dport=53 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 sport=53 dport=5000 mark=3 [USERSPACE] portid=4032347818',
    );
  });
  test('-o timestamp,extended,id', () => {
    assert.equal(
      timestampPrefix(1795334584, 214776) + formatText(udpEvent(50, 0), { event: 'new', extended: true, id: true }) +
        ' [USERSPACE] portid=9861',
      '[1795334584.214776]\t    [NEW] ipv4     2 udp      17 50 src=10.0.0.1 dst=10.0.0.2 sport=5000 dport=53 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 sport=53 dport=5000 mark=0 id=966711672 [USERSPACE] portid=9861',
    );
  });
  test('kernel event without mark, with helper', () => {
    const flow = makeFlow({
      proto: Proto.TCP, orig: tuple('127.0.0.1', '127.0.0.1', { sport: 40000, dport: 21 }),
      timeout: 120, tcp: { state: TcpState.SYN_SENT }, status: CONFIRMED | Status.HELPER, helper: 'ftp',
    });
    assert.equal(
      timestampPrefix(1795334779, 290305) + formatText(flow, { event: 'new' }),
      '[1795334779.290305]\t    [NEW] tcp      6 120 SYN_SENT src=127.0.0.1 dst=127.0.0.1 sport=40000 dport=21 [UNREPLIED] src=127.0.0.1 dst=127.0.0.1 sport=21 dport=40000 helper=ftp',
    );
  });
});

describe('formatText: libnetfilter_conntrack 1.0.9 edge cases', () => {
  for (const c of ORACLE_CASES) {
    const opts = {
      extended: c.extended, id: c.id, event: c.event, ktimestamp: c.ktimestamp,
      labelName: c.labels ? ORACLE_LABELS : undefined, nowSeconds: at(ORACLE_TS_NOW),
    };
    test(c.name, () => assert.equal(formatText(c.flow, opts), oracleTranscript(c.name, 'T')));
  }
});

describe('formatText: details', () => {
  const base = { proto: Proto.UDP, orig: tuple('10.0.0.1', '10.0.0.2', { sport: 1, dport: 2 }) };
  test('[OFFLOAD] wins over [ASSURED], [HW_OFFLOAD] over both', () => {
    const line = (status: number) => formatText(makeFlow({ ...base, status }));
    assert.match(line(Status.SEEN_REPLY | Status.ASSURED), / \[ASSURED\]$/);
    assert.match(line(Status.SEEN_REPLY | Status.ASSURED | Status.OFFLOAD), / \[OFFLOAD\]$/);
    assert.match(line(Status.SEEN_REPLY | Status.ASSURED | Status.OFFLOAD | Status.HW_OFFLOAD), / \[HW_OFFLOAD\]$/);
  });
  test('no status attribute: neither [UNREPLIED] nor [ASSURED]', () => {
    assert.equal(formatText(makeFlow(base)), 'udp      17 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1');
  });
  test('id only with -o id', () => {
    const flow = makeFlow({ ...base, id: 7, use: 1 });
    assert.match(formatText(flow), / use=1$/);
    assert.match(formatText(flow, { id: true }), / use=1 id=7$/);
  });
  test('labels only when a label map is loaded', () => {
    const flow = makeFlow({ ...base, labels: labelBits(3) });
    assert.doesNotMatch(formatText(flow), /labels/);
    assert.match(formatText(flow, { labelName: labelMap({ 3: 'three' }) }), / labels=three$/);
    assert.match(formatText(flow, { labelName: labelMap({}) }), / labels$/);
  });
  test('secmark and secctx', () => {
    assert.match(formatText(makeFlow({ ...base, mark: 1, secmark: 42, secctx: 'system_u:object_r:x_t:s0' })),
      / mark=1 secmark=42 secctx=system_u:object_r:x_t:s0$/);
  });
  test('IPv6 tuple with an uncompressible address and a v4-mapped one', () => {
    const flow = makeFlow({
      proto: Proto.UDP, orig: tuple('2001:db8::1:0:0:1', '::ffff:10.0.0.1', { sport: 53, dport: 53 }), status: CONFIRMED,
    });
    assert.equal(formatText(flow, { extended: true }),
      'ipv6     10 udp      17 src=2001:db8::1:0:0:1 dst=::ffff:10.0.0.1 sport=53 dport=53 [UNREPLIED] src=::ffff:10.0.0.1 dst=2001:db8::1:0:0:1 sport=53 dport=53');
  });
  test('the default clock is the wall clock', () => {
    const start = BigInt(Date.now()) * 1000000n;
    assert.match(formatText(makeFlow({ ...base, timestamp: { start } })), / delta-time=[01]$/);
  });
});

describe('time texts', () => {
  test('ctime pads the day of month with a space', () => {
    assert.equal(ctimeText(Date.UTC(2026, 10, 2, 7, 5, 9) / 1000), 'Mon Nov  2 07:05:09 2026');
    assert.equal(ctimeText(0), 'Thu Jan  1 00:00:00 1970');
  });
  test('-o timestamp prefix: at least 8 second digits, exactly 6 microsecond digits', () => {
    assert.equal(timestampPrefix(1795334584, 54302), '[1795334584.054302]\t');
    assert.equal(timestampPrefix(12345, 0), '[00012345.000000]\t');
  });
});

describe('formatText: live capture of conntrack 1.4.7', () => {
  const capture = loadCapture();
  const now = at(capture.capturedAt);
  const check = (file: string, opts: Parameters<typeof formatText>[1]) => {
    test(file, () => {
      assert.deepEqual(capture.flows.map((f) => formatText(f, { ...opts, nowSeconds: now })), capture.lines(file));
    });
  };
  check('list.txt', {});
  check('list-extended-id.txt', { extended: true, id: true });
  check('list-ktimestamp-labels.txt', { ktimestamp: true, labelName: capture.labelName });
});
