import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { FtfwReplication } from '../../src/conntrackd/sync/ftfw';
import { MessageType } from '../../src/conntrackd/sync/header';
import { flowKey, syncKey } from '../../src/conntrackd/sync/key';
import { decodeFrame, readFrames, type DataMessage, type FlowMessage } from '../../src/conntrackd/sync/message';
import type { ReplicationHost, SyncObject } from '../../src/conntrackd/sync/replication';
import { readPcapUdp, type CapturedDatagram } from './pcap';
import { transmittedDatagrams } from './sync-out';

/*
 * The backup of the golden capture, replayed: our FTFW machine receives
 * what the C backup received, at the same moments, and must send exactly
 * the bytes the C backup sent (sequence numbers included): the start-up
 * HELLO exchange, the keep-alive ACKs, the RESYNC request, and under 50 %
 * loss the ACK + NACK pairs and the keep-alive ACK batched with them.
 *
 * Clock: capture timestamps, taken on the primary's side of the link. The
 * C daemon runs its timers late by a millisecond or two, so replaying them
 * at their exact deadlines would not reproduce it; instead the moments the
 * backup sent something (its capture time less the link's 0.1 ms) are
 * offered to our machine as ticks, and it must decide by itself whether its
 * keep-alive is due then. The backup started before the capture shows it;
 * its first keep-alive tells when.
 *
 * 1.4.7 reads the clock once per loop turn. The turn that handled `-n`
 * (a control connection, a few milliseconds on the loaded capture machine)
 * re-armed the keep-alive from the turn's start, so the replay handles the
 * request REQUEST_MS before the capture shows its RESYNC.
 */
const LINK_MS = 0.1;
const REQUEST_MS = 10;
const CAPTURE = readPcapUdp(path.join(__dirname, '../../../test/fixtures/conntrackd/sync/ftfw-udp.pcap'));
const PRIMARY = '192.168.77.1';
const ms = (d: CapturedDatagram): number => d.time * 1000;

class ExternalCache implements ReplicationHost {
  readonly flows = new Map<string, FlowMessage['flow']>();
  readonly expectations = new Map<string, DataMessage>();
  forEachInternal(): void {}
  applyExternal(msg: DataMessage): void {
    if (!('flow' in msg)) {
      if (msg.type === MessageType.EXP_DEL) this.expectations.delete(syncKey(msg));
      else this.expectations.set(syncKey(msg), msg);
    } else if (msg.type === MessageType.CT_DEL) this.flows.delete(flowKey(msg.flow));
    else this.flows.set(flowKey(msg.flow), msg.flow);
  }
  release(): void {}
  expireExternal(): void {}
}

describe('FTFW replay of the C backup', () => {
  const host = new ExternalCache();
  const backupSent = CAPTURE.filter((d) => d.src !== PRIMARY);
  const ftfw = new FtfwReplication(host, { resendQueueSize: 131072, ackWindowSize: 300, refreshTime: 60, cacheTimeout: 180, tcpWindowTracking: true }, ms(backupSent[0]!) - LINK_MS - 1000);
  // `conntrackd -n` on the backup: the moment its RESYNC went out.
  const resyncAt = backupSent.find((d) => readFrames(d.payload).frames.some((f) => f.header.type === MessageType.CTL && f.header.flags === 0x02))!;
  const sent: Buffer[] = [];
  const events = CAPTURE.map((d) => ({ d, now: d.src === PRIMARY ? ms(d) : ms(d) - (d === resyncAt ? REQUEST_MS : LINK_MS) })).sort((a, b) => a.now - b.now);
  for (const { d, now } of events) {
    if (d.src === PRIMARY) ftfw.receive(d.payload, now);
    else if (d === resyncAt) ftfw.requestResync();
    ftfw.fireTimers(now);
    sent.push(...transmittedDatagrams(ftfw, now, 1472));
  }

  it('sends the very datagrams the C backup sent, in order', () => {
    const hex = (bs: Buffer[]): string[] => bs.map((b) => b.toString('hex'));
    assert.deepEqual(hex(sent), hex(backupSent.map((d) => d.payload)));
  });

  it('ends with the primary flows in its external cache and the loss counted', () => {
    // 13 flows before the resync (14 made, one deleted), ten under loss, one
    // with labels, the FTP control connection, and
    // the portless DCCP flow twice: 1.4.7 sent it with different stale ports
    // the second time (see sync-golden.test.ts), so it has two keys.
    assert.equal(host.flows.size, 13 + 10 + 1 + 1 + 1);
    assert.equal(host.expectations.size, 1);
    const dccpPorts = [...host.flows.values()].filter((f) => f.orig.proto === 33).map((f) => f.orig.sport);
    assert.deepEqual(dccpPorts.sort(), [1002, 1005]);
    assert.ok(ftfw.counters.sequenceLost > 0);
    assert.equal(ftfw.counters.receiveMalformed, 0);
    assert.deepEqual(ftfw.resendQueue().map((e) => e.kind), ftfw.resendQueue().map(() => 'control'), 'the backup only ever sent control messages');
  });
});

it('decodes the replayed capture without a single rejected message', () => {
  for (const d of CAPTURE) for (const f of readFrames(d.payload).frames) decodeFrame(f);
});

/*
 * The primary of the same capture, up to the lossy phase: flows appear in
 * its internal cache when the C primary sent them, the backup's datagrams
 * arrive when the capture saw them, and our machine must send what the C
 * primary sent: HELLO until HELLO_BACK, one data message per change, the
 * keep-alive held back while data flows (it re-arms after every transmit
 * round), and the bulk answer to RESYNC batched into one datagram. The
 * order of a bulk is the C daemon's hash order: the replay's internal cache
 * lists its objects in that order.
 */
describe('FTFW replay of the C primary (before the loss)', () => {
  interface Obj extends SyncObject {
    state: 'new' | 'alive' | 'dead';
    flow: FlowMessage['flow'];
  }
  const internal = new Map<string, Obj>();
  let bulkOrder: Obj[] = [];
  const released: Obj[] = [];
  const host: ReplicationHost = {
    forEachInternal: (visit) => bulkOrder.forEach(visit),
    applyExternal: () => assert.fail('the backup sends no data'),
    release: (obj) => released.push(obj as Obj),
    expireExternal: () => {},
  };
  const lossStarts = CAPTURE.findIndex((d) => d.src !== PRIMARY && readFrames(d.payload).frames.some((f) => f.header.flags === 0x04));
  const window = CAPTURE.slice(0, lossStarts - 2);
  const primarySent = window.filter((d) => d.src === PRIMARY);
  const ftfw = new FtfwReplication(host, { resendQueueSize: 131072, ackWindowSize: 300, refreshTime: 60, cacheTimeout: 180, tcpWindowTracking: true }, ms(primarySent[0]!) - 1000);
  const sent: Buffer[] = [];
  for (const d of window) {
    const now = ms(d);
    const msgs = readFrames(d.payload).frames.map(decodeFrame);
    if (d.src !== PRIMARY) {
      if (msgs.some((m) => m.flags === 0x02)) {
        // The bulk that answers this RESYNC lists the internal cache in the C daemon's order.
        const bulk = primarySent.find((p) => readFrames(p.payload).frames.length > 1)!;
        bulkOrder = readFrames(bulk.payload).frames.map((f) => {
          const m = decodeFrame(f) as FlowMessage;
          return { state: m.type === MessageType.CT_NEW ? 'new' : 'alive', flow: m.flow };
        });
      }
      ftfw.receive(d.payload, now);
    } else if (msgs.length === 1 && msgs[0]!.type !== MessageType.CTL) {
      // A kernel event: the flow as the message carries it (the one flow whose object changes state is the deleted one).
      const m = msgs[0] as FlowMessage;
      const key = flowKey(m.flow);
      const state = m.type === MessageType.CT_NEW ? 'new' : m.type === MessageType.CT_UPD ? 'alive' : 'dead';
      const obj = internal.get(key) ?? { state, flow: m.flow };
      Object.assign(obj, { state, flow: m.flow });
      internal.set(key, obj);
      ftfw.changed(obj);
    }
    ftfw.fireTimers(now);
    sent.push(...transmittedDatagrams(ftfw, now, 1472));
  }

  it('sends the very datagrams the C primary sent, in order', () => {
    const hex = (bs: Buffer[]): string[] => bs.map((b) => b.toString('hex'));
    assert.deepEqual(hex(sent), hex(primarySent.map((d) => d.payload)));
  });

  it('the backup acknowledged every data message: no object left to resend, the deleted flow released', () => {
    assert.deepEqual(ftfw.resendQueue().filter((e) => e.kind === 'object'), []);
    assert.deepEqual(released.map((o) => [o.state, o.flow.orig.sport]), [['dead', 5353]]);
  });
});
