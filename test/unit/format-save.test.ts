import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DccpState, Proto, SctpState, TcpState } from '../../src/ctnetlink/constants';
import type { Flow } from '../../src/ctnetlink/flow';
import { Status } from '../../src/ctnetlink/status';
import { saveStatusList } from '../../src/format/names';
import { formatSave, unsupportedL3Warning } from '../../src/format/save';
import { CONFIRMED, loadCapture, makeFlow, REPLIED_ASSURED, tuple } from './format-fixtures';

const NAT_DONE = Status.SRC_NAT_DONE | Status.DST_NAT_DONE;
/** How the kernel keeps `--orig-vtag N`: byte-swapped. */
const storedVtag = (n: number) => Buffer.from(Uint32Array.of(n).buffer).readUInt32BE(0);

describe('formatSave: transcripts', () => {
  const cases: [string, Flow, '-A' | '-D' | '-U', string][] = [
    [
      'source NAT: -n',
      makeFlow({
        proto: Proto.TCP, orig: tuple('192.168.1.10', '8.8.8.8', { sport: 4000, dport: 80 }),
        reply: tuple('8.8.8.8', '203.0.113.1', { sport: 80, dport: 4000 }),
        timeout: 598, status: CONFIRMED | Status.SRC_NAT | NAT_DONE, tcp: { state: TcpState.ESTABLISHED },
      }),
      '-A',
      '-A -t 598 -u UNSET -s 192.168.1.10 -d 8.8.8.8 -r 8.8.8.8 -n 203.0.113.1 -p tcp --sport 4000 --dport 80 --reply-port-src 80 --reply-port-dst 4000 --state ESTABLISHED',
    ],
    [
      'destination NAT: -g',
      makeFlow({
        proto: Proto.TCP, orig: tuple('8.8.4.4', '203.0.113.1', { sport: 5000, dport: 8080 }),
        reply: tuple('192.168.1.20', '8.8.4.4', { sport: 80, dport: 5000 }),
        timeout: 598, status: CONFIRMED | Status.DST_NAT | NAT_DONE, tcp: { state: TcpState.ESTABLISHED },
      }),
      '-A',
      '-A -t 598 -u UNSET -s 8.8.4.4 -d 203.0.113.1 -g 192.168.1.20 -q 8.8.4.4 -p tcp --sport 5000 --dport 8080 --reply-port-src 80 --reply-port-dst 5000 --state ESTABLISHED',
    ],
    [
      'original-direction zone',
      makeFlow({
        proto: Proto.UDP, orig: tuple('10.0.0.1', '10.0.0.12', { sport: 7, dport: 7, zone: 3 }), timeout: 598, status: CONFIRMED,
      }),
      '-A',
      '-A -t 598 -u UNSET --orig-zone 3 -s 10.0.0.1 -d 10.0.0.12 -r 10.0.0.12 -q 10.0.0.1 -p udp --sport 7 --dport 7 --reply-port-src 7 --reply-port-dst 7',
    ],
    [
      'CTA_ZONE',
      makeFlow({
        proto: Proto.UDP, orig: tuple('10.0.0.1', '10.0.0.9', { sport: 7, dport: 7 }), timeout: 598, status: CONFIRMED, zone: 5,
      }),
      '-A',
      '-A -t 598 -u UNSET -w 5 -s 10.0.0.1 -d 10.0.0.9 -r 10.0.0.9 -q 10.0.0.1 -p udp --sport 7 --dport 7 --reply-port-src 7 --reply-port-dst 7',
    ],
    [
      'sctp vtags swapped back',
      makeFlow({
        proto: Proto.SCTP, orig: tuple('10.0.0.1', '10.0.0.5', { sport: 3333, dport: 3868 }), timeout: 598, status: CONFIRMED,
        sctp: { state: SctpState.ESTABLISHED, vtagOrig: storedVtag(1), vtagReply: storedVtag(2) },
      }),
      '-A',
      '-A -t 598 -u UNSET -s 10.0.0.1 -d 10.0.0.5 -r 10.0.0.5 -q 10.0.0.1 -p sctp --sport 3333 --dport 3868 --reply-port-src 3868 --reply-port-dst 3333 --state ESTABLISHED --orig-vtag 1 --reply-vtag 2',
    ],
    [
      'protocol without module: number only',
      makeFlow({ proto: 200, orig: tuple('10.0.0.1', '10.0.0.11'), timeout: 598, status: CONFIRMED }),
      '-A',
      '-A -t 598 -u UNSET -s 10.0.0.1 -d 10.0.0.11 -r 10.0.0.11 -q 10.0.0.1 -p 200',
    ],
    [
      'status list',
      makeFlow({
        proto: Proto.TCP, orig: tuple('10.0.0.1', '10.0.0.2', { sport: 1111, dport: 80 }), timeout: 598,
        status: REPLIED_ASSURED, tcp: { state: TcpState.ESTABLISHED },
      }),
      '-A',
      '-A -t 598 -u SEEN_REPLY,ASSURED -s 10.0.0.1 -d 10.0.0.2 -r 10.0.0.2 -q 10.0.0.1 -p tcp --sport 1111 --dport 80 --reply-port-src 80 --reply-port-dst 1111 --state ESTABLISHED',
    ],
    [
      'gre keys in decimal',
      makeFlow({ proto: Proto.GRE, orig: tuple('10.0.0.1', '10.0.0.7', { sport: 0x10, dport: 0x20 }), timeout: 598, status: CONFIRMED }),
      '-A',
      '-A -t 598 -u UNSET -s 10.0.0.1 -d 10.0.0.7 -r 10.0.0.7 -q 10.0.0.1 -p gre --srckey 16 --dstkey 32 --reply-key-src 32 --reply-key-dst 16',
    ],
    [
      'delete output, icmp',
      makeFlow({
        proto: Proto.ICMP, orig: tuple('10.0.0.1', '10.0.0.4', { type: 8, code: 0, id: 77 }),
        reply: tuple('10.0.0.4', '10.0.0.1', { type: 0, code: 0, id: 77 }), timeout: 597, status: CONFIRMED,
      }),
      '-D',
      '-D -t 597 -u UNSET -s 10.0.0.1 -d 10.0.0.4 -r 10.0.0.4 -q 10.0.0.1 -p icmp --icmp-type 8 --icmp-code 0 --icmp-id 77',
    ],
    [
      'UPDATE event',
      makeFlow({ proto: Proto.UDP, orig: tuple('10.0.0.1', '10.0.0.2', { sport: 5000, dport: 53 }), timeout: 49, status: CONFIRMED, mark: 3 }),
      '-U',
      '-U -t 49 -u UNSET -s 10.0.0.1 -d 10.0.0.2 -r 10.0.0.2 -q 10.0.0.1 -p udp --sport 5000 --dport 53 --reply-port-src 53 --reply-port-dst 5000',
    ],
  ];
  for (const [name, flow, prefix, expected] of cases) {
    test(name, () => assert.equal(formatSave(flow, prefix), expected));
  }
});

describe('formatSave: details', () => {
  const udp = { proto: Proto.UDP, orig: tuple('10.0.0.1', '10.0.0.2', { sport: 1, dport: 2 }) };
  test('every -u name in bit order, UNSET otherwise', () => {
    assert.equal(saveStatusList(Status.FIXED_TIMEOUT | Status.ASSURED | Status.SEEN_REPLY | Status.EXPECTED),
      'EXPECTED,SEEN_REPLY,ASSURED,FIXED_TIMEOUT');
    assert.equal(saveStatusList(Status.CONFIRMED | Status.SRC_NAT | Status.OFFLOAD), 'UNSET');
  });
  test('only present attributes: no status, no timeout, secmark', () => {
    assert.equal(formatSave(makeFlow({ ...udp, secmark: 9 }), '-A'),
      '-A -c 9 -s 10.0.0.1 -d 10.0.0.2 -r 10.0.0.2 -q 10.0.0.1 -p udp --sport 1 --dport 2 --reply-port-src 2 --reply-port-dst 1');
  });
  test('without a status attribute NAT is judged by the addresses alone', () => {
    const flow = makeFlow({ ...udp, reply: tuple('10.9.9.9', '10.8.8.8', { sport: 2, dport: 1 }) });
    assert.match(formatSave(flow, '-A')!, / -g 10\.9\.9\.9 -n 10\.8\.8\.8 /);
  });
  test('with a status, the NAT_DONE bits decide', () => {
    const flow = makeFlow({ ...udp, reply: tuple('10.9.9.9', '10.8.8.8', { sport: 2, dport: 1 }), status: CONFIRMED });
    assert.match(formatSave(flow, '-A')!, / -r 10\.9\.9\.9 -q 10\.8\.8\.8 /);
  });
  test('IPv6 NAT compares whole addresses', () => {
    const flow = makeFlow({
      ...udp, orig: tuple('2001:db8::1', '2001:db8::2', { sport: 1, dport: 2 }),
      reply: tuple('2001:db8::2', '2001:db8::5', { sport: 2, dport: 1 }), status: CONFIRMED | Status.SRC_NAT_DONE,
    });
    assert.match(formatSave(flow, '-A')!, / -r 2001:db8::2 -n 2001:db8::5 /);
  });
  test('conntrack-tools has no name for SCTP HEARTBEAT states: (null)', () => {
    const flow = makeFlow({ ...udp, proto: Proto.SCTP, sctp: { state: SctpState.HEARTBEAT_SENT } });
    assert.match(formatSave(flow, '-A')!, / --state \(null\)$/);
  });
  test('dccp state and role', () => {
    const flow = makeFlow({ ...udp, proto: Proto.DCCP, dccp: { state: DccpState.PARTOPEN, role: 1 } });
    assert.match(formatSave(flow, '-A')!, / -p dccp --sport 1 --dport 2 --reply-port-src 2 --reply-port-dst 1 --state PARTOPEN --role server$/);
  });
  test('icmpv6 options', () => {
    const flow = makeFlow({ proto: Proto.ICMPV6, orig: tuple('::1', '::1', { type: 128, code: 0, id: 5 }) });
    assert.match(formatSave(flow, '-A')!, / -p icmpv6 --icmpv6-type 128 --icmpv6-code 0 --icmpv6-id 5$/);
  });
  test('unsupported family: undefined and the warning text', () => {
    assert.equal(formatSave(makeFlow({ ...udp, family: 7 }), '-A'), undefined);
    assert.equal(unsupportedL3Warning(7), 'WARNING: unsupported l3proto 7, skipping.');
  });
});

describe('formatSave: live capture of conntrack 1.4.7', () => {
  const capture = loadCapture();
  test('list-save.txt', () => {
    assert.deepEqual(capture.flows.map((f) => formatSave(f, '-A')), capture.lines('list-save.txt'));
  });
});
