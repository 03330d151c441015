import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Flow } from '../../src/ctnetlink/flow';
import { decodeFlowMessage } from '../../src/ctnetlink/flow-codec';
import { MessageWriter } from '../../src/netlink/attributes';
import { MessageCursor } from '../../src/netlink/messages';
import { commitFailures, commitReport } from '../../src/conntrackd/control/commit-report';
import { commitFlows, committedFlow } from '../../src/conntrackd/engine/commit';
import { ExternalCache, type ExternalFlow } from '../../src/conntrackd/engine/external-cache';
import { MessageType } from '../../src/conntrackd/sync/header';

const replicated = (over: Partial<Flow> = {}): Flow => ({
  family: 2,
  orig: { l3: 2, src: '10.0.0.1', dst: '192.0.2.1', proto: 6, sport: 40000, dport: 80 },
  reply: {},
  status: 0x0f, // EXPECTED | SEEN_REPLY | ASSURED | CONFIRMED
  timeout: 300,
  tcp: { state: 3 },
  natSrc: { minIp: '198.51.100.1', minPort: 1024 },
  ...over,
});
const entry = (flow: Flow, updatedAt: number): ExternalFlow => ({ flow, since: 0, updatedAt });

describe('committedFlow', () => {
  const now = 1_000_000;

  it('asks the kernel for the NAT (reply untranslated), clears EXPECTED and makes TCP liberal both ways', () => {
    const f = committedFlow(entry(replicated(), now), { tcpWindowTracking: false }, now);
    assert.deepEqual(f.reply, { l3: 2, src: '192.0.2.1', dst: '10.0.0.1', proto: 6, sport: 80, dport: 40000 });
    assert.equal(f.status, 0x0e);
    assert.deepEqual(f.tcp, { state: 3, flagsOrig: { flags: 0x08, mask: 0x08 }, flagsReply: { flags: 0x08, mask: 0x08 } });
    assert.deepEqual(f.natSrc, { minIp: '198.51.100.1', minPort: 1024 });
  });

  it('keeps strict TCP tracking with TCPWindowTracking', () => {
    assert.deepEqual(committedFlow(entry(replicated(), now), { tcpWindowTracking: true }, now).tcp, { state: 3 });
  });

  it('takes CommitTimeout, else what is left of the replicated timeout, else 60', () => {
    const opts = { tcpWindowTracking: false };
    assert.equal(committedFlow(entry(replicated(), now - 10_500), { ...opts, commitTimeout: 180 }, now).timeout, 180);
    assert.equal(committedFlow(entry(replicated(), now - 10_500), opts, now).timeout, 290);
    assert.equal(committedFlow(entry(replicated(), now - 400_000), opts, now).timeout, 60);
    assert.equal(committedFlow(entry(replicated({ timeout: undefined }), now), opts, now).timeout, 60);
  });
});

describe('commitFlows', () => {
  it('creates masters before related flows, from the cached attributes, and counts what failed', async () => {
    const related = replicated({ orig: { l3: 2, src: '10.0.0.1', dst: '192.0.2.1', proto: 6, sport: 40001, dport: 20 }, master: { l3: 2, src: '10.0.0.1', dst: '192.0.2.1', proto: 6, sport: 40000, dport: 21 } });
    const master = replicated();
    const other = replicated({ orig: { ...master.orig, sport: 40002 } });
    const cache = new ExternalCache(10);
    for (const flow of [related, master, other]) cache.apply({ type: MessageType.CT_NEW, flags: 0, seq: 1, flow }, Date.now());
    const rounds: number[][] = [];
    const failed: string[] = [];
    const result = await commitFlows(
      cache,
      { tcpWindowTracking: false },
      async (items, write, done) => {
        const round: number[] = [];
        for (const item of items) {
          const w = new MessageWriter();
          write(w, item);
          const m = new MessageCursor(w.view(), w.length);
          assert.ok(m.next());
          const flow = decodeFlowMessage(m)!;
          round.push(flow.orig.sport!);
          done(flow.master ? new Error('no master') : flow.orig.sport === 40002 ? 'replaced' : 'created');
        }
        rounds.push(round);
      },
      (err) => failed.push(err.message),
    );
    assert.deepEqual(rounds, [[40000, 40002], [40001]]);
    assert.deepEqual(failed, ['no master']);
    assert.deepEqual(result, { created: 1, replaced: 1, failed: 1 });
  });
});

describe('commit report', () => {
  it('is read back by the client: failures counted, no report from 1.4.7', () => {
    assert.equal(commitReport(7, 0), 'commit: 7 entries committed, 0 failed\n');
    assert.equal(commitFailures(commitReport(5, 2)), 2);
    assert.equal(commitFailures(commitReport(5, 0)), 0);
    assert.equal(commitFailures(''), undefined);
  });
});

describe('ExternalCache', () => {
  it('NEW replaces, UPD creates or updates, DEL deletes if present', () => {
    const cache = new ExternalCache(10);
    const flow = replicated();
    cache.apply({ type: MessageType.CT_UPD, flags: 0, seq: 1, flow }, 1000);
    cache.apply({ type: MessageType.CT_UPD, flags: 0, seq: 2, flow: { ...flow, mark: 5 } }, 2000);
    assert.equal(cache.size, 1);
    assert.equal([...cache.values()][0]!.flow.mark, 5);
    assert.equal([...cache.values()][0]!.updatedAt, 2000);
    cache.apply({ type: MessageType.CT_DEL, flags: 0, seq: 3, flow }, 3000);
    cache.apply({ type: MessageType.CT_DEL, flags: 0, seq: 4, flow }, 3000);
    assert.equal(cache.size, 0);
    assert.equal(cache.counters.delFailNotFound, 1);
  });

  it('refuses flows past its limit', () => {
    const cache = new ExternalCache(1);
    cache.apply({ type: MessageType.CT_NEW, flags: 0, seq: 1, flow: replicated() }, 0);
    cache.apply({ type: MessageType.CT_NEW, flags: 0, seq: 2, flow: replicated({ orig: { l3: 2, src: '10.0.0.2', dst: '192.0.2.1', proto: 6, sport: 1, dport: 2 } }) }, 0);
    assert.equal(cache.size, 1);
    assert.equal(cache.counters.addFailNoSpace, 1);
  });
});
