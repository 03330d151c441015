/**
 * The engine's texts against conntrackd 1.4.7's on the same kernel state.
 * Transcripts: the entries below made with `conntrack -I` in a namespace
 * (nf_conntrack_acct=1), the C daemon in Stats mode started on them, its
 * `-i` and `-i -x` printed, then `conntrack -F` (the flush's DESTROY events
 * are what its stats log shows), TZ=UTC.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { FlowCache } from '../../src/conntrackd/engine/cache';
import { internalLine, internalXml } from '../../src/conntrackd/engine/dump-text';
import { destroyedFlowLine } from '../../src/conntrackd/engine/stats-log';
import { Proto } from '../../src/ctnetlink/constants';
import { Status } from '../../src/ctnetlink/status';
import { counters, makeFlow, tuple, type FlowSpec } from './format-fixtures';
import { wireEntry } from './conntrackd-fixtures';

process.env.TZ = 'UTC';

const ESTABLISHED = 3;
const CONFIRMED = Status.CONFIRMED;
const SEEN_REPLY_ASSURED = Status.CONFIRMED | Status.SEEN_REPLY | Status.ASSURED;
const NONE = counters(0, 0);

interface Case {
  spec: FlowSpec;
  internal: string;
  destroyed: string;
}

/** Each entry as a dump shows it (timeout, use, counters: the cache keeps none) and 1.4.7's lines. */
const cases: Case[] = [
  {
    spec: { proto: Proto.TCP, orig: tuple('10.0.0.1', '10.0.0.2', { sport: 1111, dport: 80 }), tcp: { state: ESTABLISHED }, status: SEEN_REPLY_ASSURED, mark: 0 },
    internal: 'tcp      6 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=1111 dport=80 src=10.0.0.2 dst=10.0.0.1 sport=80 dport=1111 [ASSURED] mark=0 [active since 1s]',
    destroyed:
      'Mon Dec  7 01:32:53 2026\ttcp      6 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=1111 dport=80 packets=0 bytes=0 src=10.0.0.2 dst=10.0.0.1 sport=80 dport=1111 packets=0 bytes=0 [ASSURED]',
  },
  {
    spec: { proto: Proto.UDP, orig: tuple('10.0.0.1', '10.0.0.3', { sport: 2222, dport: 53 }), status: CONFIRMED, mark: 2 },
    internal: 'udp      17 src=10.0.0.1 dst=10.0.0.3 sport=2222 dport=53 [UNREPLIED] src=10.0.0.3 dst=10.0.0.1 sport=53 dport=2222 mark=2 [active since 1s]',
    destroyed:
      'Mon Dec  7 01:32:53 2026\tudp      17 src=10.0.0.1 dst=10.0.0.3 sport=2222 dport=53 packets=0 bytes=0 [UNREPLIED] src=10.0.0.3 dst=10.0.0.1 sport=53 dport=2222 packets=0 bytes=0 mark=2',
  },
  {
    spec: { proto: Proto.ICMP, orig: tuple('10.0.0.1', '10.0.0.4', { type: 8, code: 0, id: 77 }), reply: tuple('10.0.0.4', '10.0.0.1', { type: 0, code: 0, id: 77 }), status: CONFIRMED, mark: 1 },
    internal: 'icmp     1 src=10.0.0.1 dst=10.0.0.4 type=8 code=0 id=77 [UNREPLIED] src=10.0.0.4 dst=10.0.0.1 type=0 code=0 id=77 mark=1 [active since 1s]',
    destroyed:
      'Mon Dec  7 01:32:53 2026\ticmp     1 src=10.0.0.1 dst=10.0.0.4 type=8 code=0 id=77 packets=0 bytes=0 [UNREPLIED] src=10.0.0.4 dst=10.0.0.1 type=0 code=0 id=77 packets=0 bytes=0 mark=1',
  },
  {
    spec: {
      proto: Proto.TCP,
      orig: tuple('192.168.1.10', '8.8.8.8', { sport: 4000, dport: 80 }),
      reply: tuple('8.8.8.8', '203.0.113.1', { sport: 80, dport: 4000 }),
      tcp: { state: ESTABLISHED },
      status: CONFIRMED | Status.SRC_NAT | Status.SRC_NAT_DONE,
      mark: 0,
    },
    internal: 'tcp      6 ESTABLISHED src=192.168.1.10 dst=8.8.8.8 sport=4000 dport=80 [UNREPLIED] src=8.8.8.8 dst=203.0.113.1 sport=80 dport=4000 mark=0 [active since 1s]',
    destroyed:
      'Mon Dec  7 01:32:53 2026\ttcp      6 ESTABLISHED src=192.168.1.10 dst=8.8.8.8 sport=4000 dport=80 packets=0 bytes=0 [UNREPLIED] src=8.8.8.8 dst=203.0.113.1 sport=80 dport=4000 packets=0 bytes=0',
  },
  {
    spec: { proto: Proto.UDP, orig: tuple('10.0.0.1', '10.0.0.12', { sport: 7, dport: 7, zone: 3 }), status: CONFIRMED, mark: 0 },
    internal: 'udp      17 src=10.0.0.1 dst=10.0.0.12 sport=7 dport=7 zone-orig=3 [UNREPLIED] src=10.0.0.12 dst=10.0.0.1 sport=7 dport=7 mark=0 [active since 1s]',
    destroyed:
      'Mon Dec  7 01:32:53 2026\tudp      17 src=10.0.0.1 dst=10.0.0.12 sport=7 dport=7 zone-orig=3 packets=0 bytes=0 [UNREPLIED] src=10.0.0.12 dst=10.0.0.1 sport=7 dport=7 packets=0 bytes=0',
  },
  {
    spec: { proto: Proto.UDP, orig: tuple('10.0.0.1', '10.0.0.9', { sport: 7, dport: 7 }), status: CONFIRMED, mark: 0, zone: 5 },
    internal: 'udp      17 src=10.0.0.1 dst=10.0.0.9 sport=7 dport=7 [UNREPLIED] src=10.0.0.9 dst=10.0.0.1 sport=7 dport=7 mark=0 zone=5 [active since 1s]',
    destroyed:
      'Mon Dec  7 01:32:53 2026\tudp      17 src=10.0.0.1 dst=10.0.0.9 sport=7 dport=7 packets=0 bytes=0 [UNREPLIED] src=10.0.0.9 dst=10.0.0.1 sport=7 dport=7 packets=0 bytes=0 zone=5',
  },
  {
    spec: { proto: Proto.TCP, orig: tuple('2001:db8::1', '2001:db8::2', { sport: 1234, dport: 443 }), tcp: { state: ESTABLISHED }, status: CONFIRMED | Status.SEEN_REPLY, mark: 0 },
    internal: 'tcp      6 ESTABLISHED src=2001:db8::1 dst=2001:db8::2 sport=1234 dport=443 src=2001:db8::2 dst=2001:db8::1 sport=443 dport=1234 mark=0 [active since 1s]',
    destroyed:
      'Mon Dec  7 01:32:53 2026\ttcp      6 ESTABLISHED src=2001:db8::1 dst=2001:db8::2 sport=1234 dport=443 packets=0 bytes=0 src=2001:db8::2 dst=2001:db8::1 sport=443 dport=1234 packets=0 bytes=0',
  },
  {
    spec: {
      proto: Proto.ICMPV6,
      orig: tuple('2001:db8::1', '2001:db8::2', { type: 128, code: 0, id: 99 }),
      reply: tuple('2001:db8::2', '2001:db8::1', { type: 129, code: 0, id: 99 }),
      status: CONFIRMED,
      mark: 0,
    },
    internal: 'icmpv6   58 src=2001:db8::1 dst=2001:db8::2 type=128 code=0 id=99 [UNREPLIED] src=2001:db8::2 dst=2001:db8::1 type=129 code=0 id=99 mark=0 [active since 1s]',
    destroyed:
      'Mon Dec  7 01:32:53 2026\ticmpv6   58 src=2001:db8::1 dst=2001:db8::2 type=128 code=0 id=99 packets=0 bytes=0 [UNREPLIED] src=2001:db8::2 dst=2001:db8::1 type=129 code=0 id=99 packets=0 bytes=0',
  },
];

const DESTROYED_AT = 1796607173; // Mon Dec  7 01:32:53 2026 UTC

describe('conntrackd -i lines', () => {
  for (const { spec, internal } of cases) {
    it(internal.slice(0, 60), () => {
      const cache = new FlowCache(10, 16, () => 100);
      // As dumped: with the timeout, use and counters that -i never shows.
      cache.update(wireEntry(makeFlow({ ...spec, timeout: 6000, use: 1, id: 42, countersOrig: NONE, countersReply: NONE })));
      assert.equal(internalLine([...cache.values()][0]!, 101), internal);
    });
  }

  it('-i -x: one <flow> per flow, id but no timeout or use', () => {
    const cache = new FlowCache(10, 16, () => 100);
    cache.update(wireEntry(makeFlow({ ...cases[5]!.spec, timeout: 6000, use: 1, id: 746252209 })));
    assert.equal(
      internalXml([...cache.values()][0]!),
      '<flow><meta direction="original"><layer3 protonum="2" protoname="ipv4"><src>10.0.0.1</src><dst>10.0.0.9</dst></layer3>' +
        '<layer4 protonum="17" protoname="udp"><sport>7</sport><dport>7</dport></layer4></meta><meta direction="reply">' +
        '<layer3 protonum="2" protoname="ipv4"><src>10.0.0.9</src><dst>10.0.0.1</dst></layer3><layer4 protonum="17" protoname="udp">' +
        '<sport>7</sport><dport>7</dport></layer4></meta><meta direction="independent"><mark>0</mark><zone>5</zone>' +
        '<id>746252209</id><unreplied/></meta></flow>',
    );
  });
});

describe('conntrackd Stats-mode log lines', () => {
  for (const { spec, destroyed } of cases) {
    it(destroyed.slice(25, 85), () => {
      // A DESTROY event: counters, no timeout, mark only when not 0.
      const { mark, ...rest } = spec;
      const event = makeFlow({ ...rest, mark: mark === 0 ? undefined : mark, countersOrig: NONE, countersReply: NONE });
      assert.equal(destroyedFlowLine(wireEntry(event).flow(), DESTROYED_AT), destroyed);
    });
  }
});
