/** What the library's methods accept: protocols by name, create without a reply direction. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Protocol } from '../../src/api/constants';
import { protocolNumber, toFilter, toFlow } from '../../src/api/input';
import { createRequest } from '../../src/ctnetlink/requests';

test('protocol names map to their numbers; numbers pass; an unknown name is a RangeError', () => {
  assert.equal(protocolNumber('tcp'), 6);
  assert.equal(protocolNumber('icmpv6'), 58);
  assert.equal(protocolNumber('udplite'), Protocol.UDPLITE);
  assert.equal(protocolNumber(200), 200);
  assert.throws(() => protocolNumber('TCP' as 'tcp'), RangeError);
  assert.throws(() => protocolNumber('igmp' as 'tcp'), /unknown protocol name 'igmp'/);
});

test('a flow with names and without reply becomes the decoded shape; numbers are passed on as they are', () => {
  const flow = toFlow({ family: 2, orig: { src: '10.0.0.1', dst: '10.0.0.2', proto: 'udp', sport: 1, dport: 2 }, timeout: 5 });
  assert.deepEqual(flow, { family: 2, orig: { src: '10.0.0.1', dst: '10.0.0.2', proto: 17, sport: 1, dport: 2 }, reply: {}, timeout: 5 });
  const orig = { proto: 6 };
  assert.equal(toFlow({ family: 2, orig }).orig, orig);
  const filter = { orig: { proto: 6 } };
  assert.equal(toFilter(filter), filter);
  assert.deepEqual(toFilter({ reply: { proto: 'sctp' } }), { reply: { proto: 132 } });
});

test('create without a reply sends the inverse of orig', () => {
  const derived = createRequest(1, toFlow({ family: 2, orig: { l3: 2, src: '10.0.0.1', dst: '10.0.0.2', proto: 'tcp', sport: 1, dport: 2 }, timeout: 5 }), true);
  const explicit = createRequest(
    1,
    {
      family: 2,
      orig: { l3: 2, src: '10.0.0.1', dst: '10.0.0.2', proto: 6, sport: 1, dport: 2 },
      reply: { l3: 2, src: '10.0.0.2', dst: '10.0.0.1', proto: 6, sport: 2, dport: 1 },
      timeout: 5,
    },
    true,
  );
  assert.deepEqual(derived, explicit);
});
