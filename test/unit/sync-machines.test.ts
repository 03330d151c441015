import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Flow } from '../../src/ctnetlink/flow';
import { AlarmReplication } from '../../src/conntrackd/sync/alarm';
import { BEHIND_RUN, FtfwReplication, IN_FLIGHT_MAX, RETRANSMIT_MS } from '../../src/conntrackd/sync/ftfw';
import { MessageFlag as F, MessageType } from '../../src/conntrackd/sync/header';
import { decodeFrame, encodeMessage, readFrames, type DataMessage, type SyncMessage } from '../../src/conntrackd/sync/message';
import { NotrackReplication } from '../../src/conntrackd/sync/notrack';
import type { ReplicationConfig, ReplicationHost, SyncObject } from '../../src/conntrackd/sync/replication';
import { transmitted } from './sync-out';

/*
 * Exact exchanges with one machine: we play the peer by hand, with
 * messages built here, and read back what the machine sends.
 */
const T0 = 1_799_999_999_000; // ms; a machine's first message a second later gets sequence number S0
const S0 = 1_800_000_000;
/** Our sequence numbers print relative to S0 (`@3`); the hand-played peer's small ones as they are. */
const rel = (n: number): number => (n >= S0 ? n - S0 : n);
const CONFIG: ReplicationConfig = { resendQueueSize: 100, ackWindowSize: 3, refreshTime: 4, cacheTimeout: 10, tcpWindowTracking: false };

class Host implements ReplicationHost {
  objects: SyncObject[] = [];
  applied: DataMessage[] = [];
  released: SyncObject[] = [];
  expired: DataMessage[] = [];
  forEachInternal(visit: (obj: SyncObject) => void): void {
    this.objects.forEach(visit);
  }
  applyExternal(msg: DataMessage): void {
    this.applied.push(msg);
  }
  release(obj: SyncObject): void {
    this.released.push(obj);
  }
  expireExternal(msg: DataMessage): void {
    this.expired.push(msg);
  }
}

const flow = (sport: number): Flow => ({ family: 2, orig: { l3: 2, src: '10.0.0.1', dst: '10.0.0.2', proto: 17, sport, dport: 53 }, reply: {}, status: 8 });
const obj = (sport: number, state: SyncObject['state'] = 'new'): SyncObject => ({ state, flow: flow(sport) });
const ctl = (flags: number, seq: number, from = 0, to = 0): Buffer => encodeMessage({ type: MessageType.CTL, flags, seq, from, to });
const data = (seq: number, sport: number, flags = 0): Buffer => encodeMessage({ type: MessageType.CT_NEW, flags, seq, flow: flow(sport) });

/** What a transmit round sent, in a compact form: `ACK 5-7`, `NACK 3-3`, `ALIVE`, `NEW 1001`… with flags and seq. */
function show(out: Buffer[]): string[] {
  return out.map((b) => describe1(decodeFrame(readFrames(b).frames[0]!)));
}
function describe1(m: SyncMessage): string {
  const hello = `${m.flags & F.HELLO ? ' H' : ''}${m.flags & F.HELLO_BACK ? ' HB' : ''}`;
  const seq = `@${m.seq - S0}`;
  if (m.type === MessageType.CTL) {
    const kind = m.flags & F.ACK ? 'ACK' : m.flags & F.NACK ? 'NACK' : m.flags & F.RESYNC ? 'RESYNC' : 'ALIVE';
    return kind === 'ACK' || kind === 'NACK' ? `${kind} ${rel(m.from)}-${rel(m.to)}${hello} ${seq}` : `${kind}${hello} ${seq}`;
  }
  const op = ['NEW', 'UPD', 'DEL', 'EXP_NEW', 'EXP_UPD', 'EXP_DEL'][m.type]!;
  return `${op} ${'flow' in m ? m.flow.orig.sport : ''}${hello} ${seq}`;
}

/** A machine past the handshake: the peer (sequence numbers from 100) said HELLO_BACK, nothing pending. */
function ftfwReady(host = new Host(), config = CONFIG): FtfwReplication {
  const m = new FtfwReplication(host, config, T0);
  m.fireTimers(T0 + 1000);
  assert.deepEqual(show(transmitted(m, T0 + 1000)), ['ALIVE H @0']);
  m.receive(ctl(F.ALIVE | F.HELLO_BACK, 100), T0 + 1100);
  return m;
}

describe('FTFW: sender', () => {
  it('a NACK sends the objects again under new sequence numbers; an ACK releases the dead ones', () => {
    const host = new Host();
    const m = ftfwReady(host);
    const a = obj(1001);
    const b = obj(1002, 'dead');
    m.changed(a);
    m.changed(b);
    assert.deepEqual(show(transmitted(m, T0 + 1200)), ['NEW 1001 @1', 'DEL 1002 @2']);
    m.receive(ctl(F.NACK, 101, S0 + 1, S0 + 2), T0 + 1300);
    assert.deepEqual(show(transmitted(m, T0 + 1300)), ['NEW 1001 @3', 'DEL 1002 @4']);
    assert.equal(m.counters.sendResent, 2);
    assert.deepEqual(m.resendQueue(), [{ kind: 'object', seq: S0 + 3 }, { kind: 'object', seq: S0 + 4 }]);
    m.receive(ctl(F.ACK, 102, S0 + 1, S0 + 4), T0 + 1400);
    assert.deepEqual(m.resendQueue(), []);
    assert.deepEqual(host.released, [b]);
  });

  it(`at most ${IN_FLIGHT_MAX} messages await their ACK: more objects wait, control messages still go`, () => {
    const host = new Host();
    const m = ftfwReady(host, { ...CONFIG, resendQueueSize: 2 * IN_FLIGHT_MAX });
    host.objects = Array.from({ length: IN_FLIGHT_MAX + 5 }, (_, i) => obj(i));
    m.sendBulk();
    assert.equal(transmitted(m, T0 + 1200).length, IN_FLIGHT_MAX);
    assert.deepEqual(m.queueLengths(), { tx: 5, rs: IN_FLIGHT_MAX });
    // The window is full: a RESYNC goes, behind the five objects still waiting.
    m.requestResync();
    assert.deepEqual(show(transmitted(m, T0 + 1300)), [`RESYNC @${IN_FLIGHT_MAX + 1}`]);
    // An ACK of the first ten makes room for the five.
    m.receive(ctl(F.ACK, 101, S0 + 1, S0 + 10), T0 + 1400);
    const sent = show(transmitted(m, T0 + 1400));
    assert.deepEqual(sent, [0, 1, 2, 3, 4].map((i) => `NEW ${IN_FLIGHT_MAX + i} @${IN_FLIGHT_MAX + 2 + i}`));
    assert.deepEqual(m.queueLengths(), { tx: 0, rs: IN_FLIGHT_MAX - 10 + 1 + 5 });
  });

  it('an object changed twice before a round goes out once, with its latest state', () => {
    const m = ftfwReady();
    const a = { state: 'new', flow: flow(1001) } as { state: SyncObject['state']; flow: Flow };
    m.changed(a);
    a.state = 'alive';
    m.changed(a);
    assert.deepEqual(show(transmitted(m, T0 + 1200)), ['UPD 1001 @1']);
  });

  it('keeps ACK, NACK and RESYNC for resending but not ALIVE, and drops the oldest when the queue is full', () => {
    const host = new Host();
    const m = ftfwReady(host, { ...CONFIG, resendQueueSize: 2 });
    const dead = obj(1001, 'dead');
    m.changed(dead);
    transmitted(m, T0 + 1200);
    m.requestResync();
    m.requestResync();
    assert.deepEqual(show(transmitted(m, T0 + 1300)), ['RESYNC @2', 'RESYNC @3']);
    m.fireTimers(T0 + 2300);
    assert.deepEqual(show(transmitted(m, T0 + 2300)), ['ACK 100-100 @4']);
    assert.deepEqual(m.resendQueue(), [{ kind: 'control', seq: S0 + 3, flags: F.RESYNC }, { kind: 'control', seq: S0 + 4, flags: F.ACK }]);
    assert.deepEqual(host.released, [dead], 'a dead object pushed out of the queue is released');
  });

  it('a malformed ACK range is a bad header and changes nothing', () => {
    const m = ftfwReady();
    m.changed(obj(1001));
    transmitted(m, T0 + 1200);
    m.receive(ctl(F.ACK, 101, S0 + 5, S0 + 1), T0 + 1300);
    assert.equal(m.counters.receiveBadHeader, 1);
    assert.equal(m.counters.receiveMalformed, 1);
    assert.equal(m.resendQueue().length, 1);
  });
});

describe('FTFW: loss repair (beyond 1.4.7, same messages)', () => {
  /** The data messages of a timer turn at `now`. */
  const dataAt = (m: FtfwReplication, now: number): string[] => (m.fireTimers(now), show(transmitted(m, now)).filter((x) => /^(NEW|UPD|DEL)/.test(x)));

  it('an object not acknowledged goes again after RETRANSMIT_MS, unasked; the wait doubles while the peer is silent, then starts over', () => {
    const m = ftfwReady();
    m.changed(obj(1001));
    assert.deepEqual(show(transmitted(m, T0 + 1200)), ['NEW 1001 @1']);
    assert.equal(m.nextTimer(), T0 + 1200 + RETRANSMIT_MS);
    assert.deepEqual(dataAt(m, T0 + 1199 + RETRANSMIT_MS), [], 'not due yet');
    assert.deepEqual(dataAt(m, T0 + 1200 + RETRANSMIT_MS), ['NEW 1001 @2'], 'in place of the keep-alive: no ALIVE between two resends');
    assert.equal(m.counters.sendResent, 1);
    // Nothing acknowledged: the next resend waits twice as long.
    for (let t = T0 + 1200 + RETRANSMIT_MS + 1000; t < T0 + 1200 + 3 * RETRANSMIT_MS; t += 1000) assert.deepEqual(dataAt(m, t), [], `at +${t - T0}`);
    assert.equal(dataAt(m, T0 + 1200 + 3 * RETRANSMIT_MS).length, 1);
    m.receive(ctl(F.ACK, 101, S0, S0 + 100), T0 + 8000);
    assert.deepEqual(m.resendQueue().filter((e) => e.kind === 'object'), []);
    m.changed(obj(1002));
    transmitted(m, T0 + 8100);
    assert.equal(dataAt(m, T0 + 8100 + RETRANSMIT_MS).length, 1, 'the peer spoke: the wait starts over');
  });

  it("a NACK's resend does not move the deadline: a resend the link keeps dropping is followed by a timed one", () => {
    const m = ftfwReady();
    m.changed(obj(1001));
    transmitted(m, T0 + 1200);
    m.receive(ctl(F.NACK, 101, S0 + 1, S0 + 1), T0 + 2000);
    assert.deepEqual(show(transmitted(m, T0 + 2000)), ['NEW 1001 @2']);
    assert.deepEqual(dataAt(m, T0 + 1200 + RETRANSMIT_MS), ['NEW 1001 @3']);
  });

  it('control messages are resent only when NACKed, as in 1.4.7', () => {
    const m = ftfwReady();
    m.requestResync();
    transmitted(m, T0 + 1200);
    for (let t = T0 + 2200; t <= T0 + 9200; t += 1000) {
      m.fireTimers(t);
      assert.deepEqual(show(transmitted(m, t)).filter((x) => x.startsWith('RESYNC')), []);
    }
  });

  it('a NACK reaching back to what the full resend queue dropped is answered with a bulk send', () => {
    const host = new Host();
    const [a, b, c] = [obj(1001), obj(1002), obj(1003)];
    host.objects = [a, b, c];
    const m = ftfwReady(host, { ...CONFIG, resendQueueSize: 2 });
    for (const o of [a, b, c]) m.changed(o);
    assert.deepEqual(show(transmitted(m, T0 + 1200)), ['NEW 1001 @1', 'NEW 1002 @2', 'NEW 1003 @3']);
    m.receive(ctl(F.NACK, 101, S0 + 1, S0 + 3), T0 + 1300);
    assert.deepEqual(show(transmitted(m, T0 + 1300)), ['NEW 1001 @4', 'NEW 1002 @5', 'NEW 1003 @6'], 'all of it, 1001 too');
    m.receive(ctl(F.NACK, 102, S0 + 5, S0 + 6), T0 + 1400);
    assert.deepEqual(show(transmitted(m, T0 + 1400)).filter((x) => x.startsWith('NEW')), ['NEW 1002 @7', 'NEW 1003 @8'], 'what the queue holds: no bulk');
  });

  it('a peer still saying HELLO is tracked: its gaps are NACKed, never acknowledged, and our resend queue stays', () => {
    const m = new FtfwReplication(new Host(), CONFIG, T0);
    m.receive(data(50, 3050, F.HELLO), T0 + 200);
    m.changed(obj(1001));
    assert.deepEqual(show(transmitted(m, T0 + 210)), ['NEW 1001 H HB @-1']);
    m.receive(data(51, 3051, F.HELLO), T0 + 220);
    m.receive(data(54, 3054, F.HELLO), T0 + 230);
    assert.deepEqual(show(transmitted(m, T0 + 300)), ['ACK 50-51 H HB @0', 'NACK 52-53 H @1']);
    assert.ok(m.resendQueue().some((e) => e.kind === 'object'), 'the later HELLOs did not empty the resend queue');
  });

  it('a datagram of late consecutive numbers (a delayed resend round) is not followed; the run over BEHIND_RUN datagrams is', () => {
    const host = new Host();
    const m = ftfwReady(host);
    m.receive(data(110, 3110), T0 + 1200);
    m.receive(Buffer.concat([101, 102, 103, 104, 105].map((seq) => data(seq, 3000 + seq))), T0 + 1300);
    assert.deepEqual(host.applied.map((d) => d.seq), [110], 'stale: dropped');
    const last = 105 + BEHIND_RUN - 1;
    for (let seq = 106; seq <= last; seq++) m.receive(data(seq, 3000 + seq), T0 + 1400);
    assert.deepEqual(host.applied.map((d) => d.seq), [110, last], 'the run reached BEHIND_RUN datagrams: followed');
  });
});

describe('FTFW: receiver', () => {
  it('acknowledges every ACKWindowSize messages', () => {
    const host = new Host();
    const m = ftfwReady(host);
    for (let i = 1; i <= 3; i++) m.receive(data(100 + i, 2000 + i), T0 + 1200);
    // The HELLO_BACK alive (100) opened the window: 100, 101, 102 fill it.
    assert.deepEqual(show(transmitted(m, T0 + 1200)), ['ACK 100-102 @1']);
    assert.equal(host.applied.length, 3);
  });

  it('a gap: applies the message, acknowledges up to the gap, asks for it, and counts 1.4.7 style', () => {
    const host = new Host();
    const m = ftfwReady(host);
    m.receive(data(101, 2001), T0 + 1200);
    m.receive(data(105, 2005), T0 + 1200);
    assert.deepEqual(show(transmitted(m, T0 + 1200)), ['ACK 100-101 @1', 'NACK 102-104 @2']);
    assert.equal(host.applied.length, 2);
    assert.equal(m.counters.sequenceLost, 105 - 101 + 1);
    m.receive(data(103, 2003), T0 + 1300);
    assert.equal(m.counters.sequenceBefore, 1, 'late messages are dropped');
    assert.equal(host.applied.length, 2);
    m.fireTimers(T0 + 2200);
    assert.deepEqual(show(transmitted(m, T0 + 2200)), ['ACK 105-105 @3'], 'the keep-alive acknowledges the new window');
    m.fireTimers(T0 + 3200);
    assert.deepEqual(show(transmitted(m, T0 + 3200)), ['ALIVE @4'], 'nothing pending: ALIVE');
  });

  it('a HELLO from a restarted peer: accepted whatever its sequence number, resend queue emptied but for the DELs, HELLO_BACK answered', () => {
    const host = new Host();
    const m = ftfwReady(host);
    const dead = obj(1001, 'dead');
    m.changed(dead);
    m.changed(obj(1002));
    transmitted(m, T0 + 1200);
    m.receive(data(7, 3007, F.HELLO), T0 + 1300);
    assert.equal(host.applied.length, 1);
    assert.deepEqual(m.resendQueue(), []);
    assert.deepEqual(host.released, [], 'the peer may have the flow already: its DEL goes again');
    m.fireTimers(T0 + 2300);
    // The pending window (from 100) restarts at the hello's sequence number.
    assert.deepEqual(show(transmitted(m, T0 + 2300)), ['DEL 1001 HB @3', 'ACK 7-7 @4']);
  });

  it('a restarted peer gets the internal cache once, whatever number of HELLOs it sends before our HELLO_BACK', () => {
    const host = new Host();
    host.objects = [obj(1001), obj(1002, 'alive')];
    const m = ftfwReady(host);
    const sent = (now: number): string[] => show(transmitted(m, now)).filter((s) => !s.startsWith('ACK'));
    m.receive(data(7, 3007, F.HELLO), T0 + 1300);
    m.receive(data(8, 3008, F.HELLO), T0 + 1310);
    assert.deepEqual(sent(T0 + 1400), ['NEW 1001 HB @1', 'UPD 1002 @2']);
    m.receive(data(9, 3009), T0 + 1500);
    assert.deepEqual(sent(T0 + 1600), [], 'the handshake is over: no second bulk');
    m.receive(data(1, 3010, F.HELLO), T0 + 1700);
    assert.deepEqual(sent(T0 + 1800).map((s) => s.replace(/ @\d+$/, '')), ['NEW 1001 HB', 'UPD 1002'], 'a second restart: a second bulk');
  });

  it('a forged sequence number far ahead: a run of consecutive "late" ones is the real stream, followed and NACKed', () => {
    const host = new Host();
    const m = ftfwReady(host);
    m.receive(data(101, 3001), T0 + 1200);
    m.receive(data(101 + 2 ** 30, 6666), T0 + 1210);
    assert.equal(host.applied.length, 2);
    transmitted(m, T0 + 1220);
    for (let seq = 102; seq <= 104; seq++) m.receive(data(seq, 3000 + seq), T0 + 1300);
    assert.equal(host.applied.length, 2, 'dropped as late, as 1.4.7 does');
    m.receive(data(105, 3105), T0 + 1400);
    assert.equal(host.applied.at(-1)!.seq, 105);
    assert.deepEqual(show(transmitted(m, T0 + 1500)), ['NACK 102-104 @3']);
    m.receive(data(106, 3106), T0 + 1600);
    assert.equal(host.applied.at(-1)!.seq, 106, 'in sync again');
    assert.equal(m.counters.sequenceBefore, 4, 'each late one counted, the one that ended the run too');
  });

  it('the start-up handshake, as the C daemons do it', () => {
    const a = new FtfwReplication(new Host(), CONFIG, T0);
    const b = new FtfwReplication(new Host(), CONFIG, T0 + 500);
    const round = (m: FtfwReplication, now: number): Buffer[] => (m.fireTimers(now), transmitted(m, now));
    const a1 = round(a, T0 + 1000);
    b.receive(a1[0]!, T0 + 1001);
    const b1 = round(b, T0 + 1500);
    a.receive(b1[0]!, T0 + 1501);
    const a2 = round(a, T0 + 2000);
    b.receive(a2[0]!, T0 + 2001);
    const b2 = round(b, T0 + 2500);
    assert.deepEqual([...show(a1), ...show(b1), ...show(a2), ...show(b2)], ['ALIVE H @0', 'ACK 0-0 H HB @0', 'ACK 0-0 HB @1', 'ACK 1-1 @1']);
  });

  it('rejects a wrong version, and counts a truncated datagram', () => {
    const m = ftfwReady();
    const v2 = ctl(F.ALIVE, 101);
    v2[0] = 0x2a;
    m.receive(v2, T0 + 1200);
    m.receive(ctl(F.ACK, 102).subarray(0, 12), T0 + 1200);
    assert.deepEqual([m.counters.receiveBadVersion, m.counters.receiveTruncated, m.counters.receiveMalformed], [1, 1, 2]);
  });
});

describe('NOTRACK', () => {
  it('no ACK or NACK: every valid message is applied, gaps only counted; ALIVE every second; RESYNC answered with a bulk', () => {
    const host = new Host();
    host.objects = [obj(1001), obj(1002, 'alive'), obj(1003, 'dead')];
    const m = new NotrackReplication(host, CONFIG, T0 + 1000);
    m.receive(Buffer.concat([data(10, 2010), data(14, 2014), data(12, 2012), ctl(F.RESYNC, 15)]), T0 + 1100);
    assert.equal(host.applied.length, 3, 'a late message is applied too');
    assert.equal(m.counters.sequenceLost, 14 - 10 + 1 + (15 - 12 + 1), 'the late 12 became the last seen');
    assert.equal(m.counters.sequenceBefore, 1);
    assert.deepEqual(show(transmitted(m, T0 + 1100)), ['NEW 1001 @0', 'UPD 1002 @1']);
    m.fireTimers(T0 + 2099);
    assert.deepEqual(transmitted(m, T0 + 2099), []);
    m.fireTimers(T0 + 2100);
    assert.deepEqual(show(transmitted(m, T0 + 2100)), ['ALIVE @2']);
    m.receive(ctl(F.ACK, 16, 1, 2), T0 + 2200);
    assert.equal(m.counters.receiveBadHeader, 1, 'an ACK means nothing to NOTRACK');
  });
});

describe('ALARM', () => {
  it('sends on change, refreshes each object as an update every 1..RefreshTime s + 0.2..1 s, and never sends control messages', () => {
    let r = 0;
    const random = (): number => [0.99, 0.99, 0, 0][r++ % 4]!; // delays: 4 s + 1 s, then 1 s + 0.2 s
    const m = new AlarmReplication(new Host(), CONFIG, random);
    const t = T0 + 1000;
    m.changed(obj(1001), t);
    assert.deepEqual(show(transmitted(m, t)), ['NEW 1001 @0']);
    assert.equal(m.nextTimer(), t + 5000);
    m.fireTimers(t + 4999);
    assert.deepEqual(transmitted(m, t + 4999), []);
    m.fireTimers(t + 5000);
    assert.deepEqual(show(transmitted(m, t + 5000)), ['UPD 1001 @1']);
    assert.equal(m.nextTimer(), t + 6200);
    m.requestResync();
    m.sendBulk();
    assert.deepEqual(transmitted(m, t + 5100), []);
  });

  it('expires an external object CacheTimeout seconds after it was last refreshed, and ignores flagged messages', () => {
    const host = new Host();
    const m = new AlarmReplication(host, CONFIG, () => 0);
    m.receive(data(1, 2001), T0);
    m.receive(data(2, 2001), T0 + 4000);
    m.receive(ctl(F.ALIVE, 3), T0 + 4000);
    m.fireTimers(T0 + 13999);
    assert.equal(host.expired.length, 0);
    m.fireTimers(T0 + 14000);
    assert.deepEqual(host.expired.map((e) => ('flow' in e ? e.flow.orig.sport : 0)), [2001]);
    assert.equal(m.counters.receiveMalformed, 0);
    const bad = data(4, 2002);
    bad[0] = 0x17;
    m.receive(bad, T0 + 15000);
    assert.equal(m.counters.receiveBadType, 1);
  });
});
