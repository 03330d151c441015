import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { translatedReply } from '../../src/index';

describe('translatedReply', () => {
  const orig = { l3: 2, src: '10.0.0.1', dst: '192.0.2.9', proto: 6, sport: 40000, dport: 80 };

  it('is the inverse of the original without NAT', () => {
    assert.deepEqual(translatedReply(orig, {}), { l3: 2, src: '192.0.2.9', dst: '10.0.0.1', proto: 6, sport: 80, dport: 40000 });
  });

  it('sends the reply to the source NAT address and port', () => {
    const reply = translatedReply(orig, { natSrc: { minIp: '198.51.100.1', minPort: 1024 } });
    assert.deepEqual(reply, { l3: 2, src: '192.0.2.9', dst: '198.51.100.1', proto: 6, sport: 80, dport: 1024 });
  });

  it('takes the reply source from the destination NAT address and port', () => {
    const reply = translatedReply(orig, { natDst: { minIp: '10.9.9.9', minPort: 8080 } });
    assert.deepEqual(reply, { l3: 2, src: '10.9.9.9', dst: '10.0.0.1', proto: 6, sport: 8080, dport: 40000 });
  });

  it('maps an ICMPv6 echo request to its reply type', () => {
    const ping = { l3: 10, src: 'fd00::1', dst: 'fd00::2', proto: 58, icmpType: 128, icmpCode: 0, icmpId: 7 };
    assert.deepEqual(translatedReply(ping, {}), { l3: 10, src: 'fd00::2', dst: 'fd00::1', proto: 58, icmpType: 129, icmpCode: 0, icmpId: 7 });
  });
});
