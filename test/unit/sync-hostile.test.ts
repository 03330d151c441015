/**
 * Hostile input to the receiving side of every mode: random, truncated,
 * oversized, replayed and mutated datagrams, and TCP streams cut anywhere.
 * Whatever arrives, `receive` never throws, every rejected message is
 * counted in exactly one category of `-s network`, and a valid message
 * that follows the garbage is still applied (the link keeps replicating).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Flow } from '../../src/ctnetlink/flow';
import type { NetworkCounters } from '../../src/conntrackd/stats/counters';
import { AlarmReplication } from '../../src/conntrackd/sync/alarm';
import { FtfwReplication } from '../../src/conntrackd/sync/ftfw';
import { MessageFlag, MessageType } from '../../src/conntrackd/sync/header';
import { encodeMessage, type DataMessage } from '../../src/conntrackd/sync/message';
import { NotrackReplication } from '../../src/conntrackd/sync/notrack';
import type { Replication, ReplicationConfig, ReplicationHost, SyncObject } from '../../src/conntrackd/sync/replication';
import { StreamReassembler } from '../../src/conntrackd/sync/stream';
import { transmitted } from './sync-out';

const T0 = 1_799_999_999_000;
const CONFIG: ReplicationConfig = { resendQueueSize: 100, ackWindowSize: 3, refreshTime: 4, cacheTimeout: 10, tcpWindowTracking: false };

class Host implements ReplicationHost {
  objects: SyncObject[] = [];
  applied: DataMessage[] = [];
  forEachInternal(visit: (obj: SyncObject) => void): void {
    this.objects.forEach(visit);
  }
  applyExternal(msg: DataMessage): void {
    this.applied.push(msg);
  }
  release(): void {}
  expireExternal(): void {}
}

/** Each mode, and the flags of a message it applies whatever came before (ALARM has no handshake and no order). */
const MODES: Array<[string, (host: Host) => Replication, number]> = [
  ['FTFW', (host) => new FtfwReplication(host, CONFIG, T0), MessageFlag.HELLO],
  ['NOTRACK', (host) => new NotrackReplication(host, CONFIG, T0), MessageFlag.HELLO],
  ['ALARM', (host) => new AlarmReplication(host, CONFIG, () => 0.5), 0],
];

const flow = (sport: number): Flow => ({ family: 2, orig: { l3: 2, src: '10.0.0.1', dst: '10.0.0.2', proto: 6, sport, dport: 80 }, reply: {}, status: 8, timeout: 300, mark: 7 });
const data = (seq: number, sport: number, flags = 0): Buffer => encodeMessage({ type: MessageType.CT_NEW, flags, seq, flow: flow(sport) });
const ctl = (flags: number, seq: number, from = 0, to = 0): Buffer => encodeMessage({ type: MessageType.CTL, flags, seq, from, to });

/** Valid datagrams to replay and damage: data, ACK/NACK/RESYNC/ALIVE, a batch. */
const VALID = [
  data(100, 1000),
  data(101, 1001, MessageFlag.HELLO),
  encodeMessage({ type: MessageType.CT_DEL, flags: 0, seq: 102, flow: flow(1000) }),
  ctl(MessageFlag.ACK, 103, 1, 5),
  ctl(MessageFlag.NACK, 104, 7, 3),
  ctl(MessageFlag.RESYNC, 105),
  ctl(MessageFlag.ALIVE | MessageFlag.HELLO_BACK, 106),
  Buffer.concat([data(107, 1007), data(108, 1008), ctl(MessageFlag.ALIVE, 109)]),
];

/** A hostile datagram: random bytes, a valid one replayed, cut short, padded past its length, or with bytes overwritten. */
const hostile: fc.Arbitrary<Buffer> = fc.oneof(
  fc.uint8Array({ maxLength: 2048 }).map((b) => Buffer.from(b)),
  // Oversized: more than one message can be (64 KiB), a random pattern repeated.
  fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.integer({ min: 0xffff, max: 0x11000 })).map(([seed, n]) => Buffer.alloc(n, Buffer.from(seed))),
  fc.constantFrom(...VALID),
  fc.tuple(fc.constantFrom(...VALID), fc.nat()).map(([b, n]) => b.subarray(0, n % b.length)),
  fc.tuple(fc.constantFrom(...VALID), fc.uint8Array({ minLength: 1, maxLength: 64 })).map(([b, tail]) => Buffer.concat([b, tail])),
  fc.tuple(fc.constantFrom(...VALID), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 })).map(([b, edits]) => {
    const copy = Buffer.from(b);
    for (const [at, value] of edits) copy[at % copy.length] = value;
    return copy;
  }),
);

const CATEGORIES = ['receiveBadVersion', 'receiveBadHeader', 'receiveBadPayload', 'receiveBadType', 'receiveTruncated', 'receiveBadSize'] as const;
const categorised = (c: NetworkCounters): number => CATEGORIES.reduce((sum, k) => sum + c[k], 0);

describe('sync receiver under hostile input', () => {
  for (const [name, make, fresh] of MODES) {
    it(`${name}: never throws, counts each rejection once, and applies the next valid message`, () => {
      fc.assert(
        fc.property(fc.array(hostile, { minLength: 1, maxLength: 20 }), fc.integer({ min: 0, max: 0xffffffff }), (datagrams, seq) => {
          const host = new Host();
          const m = make(host);
          let now = T0;
          for (const d of datagrams) {
            m.receive(d, (now += 10));
            m.fireTimers(now);
            transmitted(m, now);
          }
          assert.equal(m.counters.receiveMalformed, categorised(m.counters));
          // A restarted peer's HELLO is accepted whatever came before it.
          const before = host.applied.length;
          m.receive(data(seq, 4242, fresh), (now += 10));
          assert.equal(host.applied.length, before + 1);
          assert.equal(host.applied.at(-1)!.seq, seq);
        }),
        { numRuns: 200 },
      );
    });
  }

  it('a TCP stream of hostile datagrams, cut at random places: whole messages only, then the stream recovers', () => {
    fc.assert(
      fc.property(fc.array(hostile, { minLength: 1, maxLength: 10 }), fc.array(fc.nat(), { maxLength: 10 }), (datagrams, cuts) => {
        const host = new Host();
        const m = new FtfwReplication(host, CONFIG, T0);
        const stream = new StreamReassembler();
        const bytes = Buffer.concat(datagrams);
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        let from = 0;
        for (const to of [...points, bytes.length]) {
          const { bytes: whole } = stream.push(bytes.subarray(from, to));
          if (whole.length > 0) m.receive(whole, T0);
          from = to;
        }
        assert.ok(stream.pending < 0x10000, 'at most one incomplete message is kept');
        assert.equal(m.counters.receiveMalformed, categorised(m.counters));
      }),
      { numRuns: 200 },
    );
  });
});
