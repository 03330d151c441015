import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { Conntrack } from '../../src/api/conntrack';
import type { Flow } from '../../src/ctnetlink/flow';
import { MessageType } from '../../src/conntrackd/sync/header';
import { decodeFrame, encodeMessage, readFrames, type FlowMessage } from '../../src/conntrackd/sync/message';
import { readPcapUdp } from '../unit/pcap';
import { REFERENCE_CONNTRACK, withNetns } from './netns';

/*
 * The flows of the golden capture, made again the same way (the commands of
 * tools/capture-sync-golden.sh) in a fresh namespace, dumped with our
 * library and encoded by our codec: the bytes must be the C daemon's, but
 * for the sequence number and the seconds the timeout has run down since.
 * This is the path of the daemon: kernel flow → library Flow → sync message.
 */
const CAPTURE = readPcapUdp(path.join(__dirname, '../../../test/fixtures/conntrackd/sync/ftfw-udp.pcap'));

const CREATE: readonly string[] = [
  '-p tcp -s 10.1.1.1 -d 10.2.2.2 --sport 1000 --dport 80 --state ESTABLISHED -u ASSURED -t 300 -m 7',
  '-p udp -s 10.1.1.1 -d 10.2.2.2 --sport 5353 --dport 53 -t 30',
  '-p icmp -s 10.1.1.1 -d 10.2.2.2 --icmp-type 8 --icmp-code 0 --icmp-id 4660 -t 30',
  '-p tcp -s 10.1.1.1 -d 10.2.2.2 --sport 1001 --dport 80 --state ESTABLISHED -t 300 -w 5',
  '-p tcp -s 10.1.1.1 -d 10.2.2.2 --sport 1002 --dport 443 --state ESTABLISHED -t 300 --src-nat 10.9.9.9:4000',
  '-p tcp -s 10.1.1.1 -d 10.2.2.2 --sport 1003 --dport 80 --state ESTABLISHED -t 300 --dst-nat 10.8.8.8:8080',
  '-p udp -s 10.1.1.1 -d 10.2.2.2 --sport 1004 --dport 53 -t 30 --src-nat 10.9.9.9 --dst-nat 10.8.8.8',
  '-p sctp -s 10.1.1.1 -d 10.2.2.2 --sport 1005 --dport 5000 --state ESTABLISHED --orig-vtag 17 --reply-vtag 34 -t 300',
  '-p gre -s 10.1.1.1 -d 10.2.2.2 --srckey 1 --dstkey 2 -t 30',
  '-p tcp -s 2001:db8::1 -d 2001:db8::2 --sport 1007 --dport 22 --state ESTABLISHED -t 300 -m 3',
  '-p icmpv6 -s 2001:db8::1 -d 2001:db8::2 --icmpv6-type 128 --icmpv6-code 0 --icmpv6-id 77 -t 30',
  '-p udp -s 2001:db8::1 -d 2001:db8::2 --sport 1008 --dport 53 -t 30 --src-nat 2001:db8::9',
  '-p tcp -s 10.1.1.1 -d 10.2.2.2 --sport 1009 --dport 80 --state SYN_SENT -u SEEN_REPLY -t 60',
];

/** The kernel flow a decoded message is about (GRE keys do not travel: 1.4.7 sends no PORT for GRE). */
const sameFlow = (kernel: Flow, wire: Flow): boolean =>
  kernel.orig.src === wire.orig.src &&
  kernel.orig.proto === wire.orig.proto &&
  (wire.orig.sport === undefined || kernel.orig.sport === wire.orig.sport) &&
  kernel.orig.icmpType === wire.orig.icmpType &&
  (kernel.zone ?? 0) === (wire.zone ?? 0);

test('kernel flows dumped by the library encode to the C daemon bytes', async (t) => {
  const ns = await withNetns(t, 'syncgold');
  for (const args of CREATE) await ns.execOk(REFERENCE_CONNTRACK, ['-I', ...args.split(' ')]);
  const ct = Conntrack.open({ netns: ns.name });
  t.after(() => ct.close());
  const kernel: Flow[] = [];
  for await (const f of ct.dump()) kernel.push(f);
  assert.equal(kernel.length, CREATE.length);

  const golden = CAPTURE.filter((d) => d.src === '192.168.77.1')
    .flatMap((d) => readFrames(d.payload).frames)
    .filter((f) => f.header.type === MessageType.CT_NEW)
    .slice(0, CREATE.length + 1) // the DCCP flow is among them: the kernel no longer makes it
    .map((f) => ({ msg: decodeFrame(f) as FlowMessage, bytes: f.buf.subarray(f.start, f.start + f.header.len) }))
    .filter((g) => g.msg.flow.orig.proto !== 33);
  assert.equal(golden.length, CREATE.length);
  for (const g of golden) {
    const flow = kernel.find((k) => sameFlow(k, g.msg.flow));
    assert.ok(flow, `no kernel flow for ${JSON.stringify(g.msg.flow.orig)}`);
    const ours = encodeMessage({ type: MessageType.CT_NEW, flags: 0, seq: g.msg.seq, flow: { ...flow, timeout: g.msg.flow.timeout } }, { windowTracking: true });
    assert.equal(ours.toString('hex'), g.bytes.toString('hex'), `proto ${flow.orig.proto} sport ${flow.orig.sport}`);
  }
});
