import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flowToJson, formatJson } from '../../src/format/json';
import { Status } from '../../src/ctnetlink/status';
import { counters, labelMap, makeFlow, tuple } from './format-fixtures';

test('an entry as one line of JSON with readable names; absent attributes are absent', () => {
  const flow = makeFlow({
    proto: 6,
    orig: tuple('10.0.0.1', '10.0.0.2', { sport: 4000, dport: 80 }),
    reply: tuple('10.0.0.2', '10.0.0.1', { sport: 80, dport: 4000 }),
    timeout: 120,
    tcp: { state: 3 },
    status: Status.CONFIRMED | Status.SEEN_REPLY | Status.ASSURED,
    countersOrig: counters(3, 180),
    countersReply: counters(2n ** 60n, 120),
    mark: 1,
    zone: 5,
    id: 77,
    labels: Buffer.from([0x22]),
  });
  const line = formatJson(flow, { event: 'update', portid: 4077, progname: 'conntrack', labelName: labelMap({ 1: 'one' }) });
  assert.ok(!line.includes('\n'));
  assert.deepEqual(JSON.parse(line), {
    event: 'update',
    family: 'ipv4',
    protocol: 'tcp',
    protonum: 6,
    timeout: 120,
    state: 'ESTABLISHED',
    status: ['SEEN_REPLY', 'ASSURED', 'CONFIRMED'],
    orig: { src: '10.0.0.1', dst: '10.0.0.2', protocol: 'tcp', protonum: 6, sport: 4000, dport: 80, packets: 3, bytes: 180 },
    reply: { src: '10.0.0.2', dst: '10.0.0.1', protocol: 'tcp', protonum: 6, sport: 80, dport: 4000, packets: '1152921504606846976', bytes: 120 },
    mark: 1,
    zone: 5,
    id: 77,
    labels: ['one', 5],
    portid: 4077,
    progname: 'conntrack',
  });
});

test('ICMP fields, GRE keys by their names, and no portid for the kernel’s own events', () => {
  const icmp = makeFlow({ proto: 1, orig: tuple('10.0.0.1', '10.0.0.2', { type: 8, code: 0, id: 9 }), reply: tuple('10.0.0.2', '10.0.0.1') });
  const o = JSON.parse(formatJson(icmp, { event: 'new', portid: 0 })) as Record<string, Record<string, unknown>>;
  assert.deepEqual(o.orig, { src: '10.0.0.1', dst: '10.0.0.2', protocol: 'icmp', protonum: 1, type: 8, code: 0, id: 9 });
  assert.equal('portid' in o, false);
  const gre = makeFlow({ proto: 47, orig: tuple('10.0.0.1', '10.0.0.2', { sport: 16, dport: 32 }), reply: tuple('10.0.0.2', '10.0.0.1') });
  assert.deepEqual(JSON.parse(formatJson(gre)).orig, { src: '10.0.0.1', dst: '10.0.0.2', protocol: 'gre', protonum: 47, srckey: 16, dstkey: 32 });
});

test('flowToJson (exported by the package): the same object, which JSON.stringify takes as it is', () => {
  const flow = makeFlow({ proto: 17, orig: tuple('10.0.0.1', '10.0.0.2', { sport: 1, dport: 2 }), countersOrig: counters(2n ** 60n, 1), timestamp: { start: 5n } });
  const object = flowToJson(flow);
  assert.deepEqual(object, JSON.parse(formatJson(flow)));
  assert.equal(JSON.stringify(object), formatJson(flow));
});
