import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChannelConfig } from '../../src/conntrackd/config/config';
import { LinkSet, linkStatus } from '../../src/conntrackd/sync/links';

const link = (iface: string, isDefault = false): ChannelConfig => ({ kind: 'udp', isDefault, family: 4, interface: iface, checksum: true });

describe('redundant sync links', () => {
  it('starts on the Default block, else the first', () => {
    assert.equal(new LinkSet([link('a'), link('b', true)]).active, 1);
    assert.equal(new LinkSet([link('a'), link('b')]).active, 0);
    assert.throws(() => new LinkSet([]), RangeError);
  });

  it('follows the peer: a valid message on another link makes it active', () => {
    const links = new LinkSet([link('a'), link('b'), link('c')]);
    assert.equal(links.received(0, 3), false);
    assert.equal(links.received(2, 0), false, 'nothing valid: no switch');
    assert.equal(links.received(2, 1), true);
    assert.equal(links.active, 2);
  });

  it('fails over to the next running link, wrapping, when the active one loses carrier or goes down', () => {
    const links = new LinkSet([link('a'), link('b'), link('c')]);
    assert.equal(links.interfaceChanged(1, false, false), undefined, 'a backup link going down changes nothing');
    assert.equal(links.status(1), 'DOWN');
    assert.equal(links.interfaceChanged(0, true, false), 2, 'b is down: c');
    assert.equal(links.status(0), 'NO-CARRIER');
    assert.equal(links.interfaceChanged(1, true, true), undefined);
    assert.equal(links.interfaceChanged(2, false, false), 1, 'wraps around past a');
    assert.equal(links.interfaceChanged(0, false, false), undefined);
    assert.equal(links.interfaceChanged(1, false, false), undefined, 'no running link: stays');
    assert.equal(links.active, 1);
  });

  it('names interface states as -s link does', () => {
    assert.deepEqual([linkStatus(true, true), linkStatus(true, false), linkStatus(false, false), linkStatus(false, true)], ['RUNNING', 'NO-CARRIER', 'DOWN', 'DOWN']);
  });
});
