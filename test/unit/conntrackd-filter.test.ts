import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { FilterConfig } from '../../src/conntrackd/config/config';
import { compileFlowFilter, kernelFilterOf } from '../../src/conntrackd/engine/filter';
import { Proto } from '../../src/ctnetlink/constants';
import type { Flow } from '../../src/ctnetlink/flow';
import { makeFlow, tuple } from './format-fixtures';
import { runClassicBpf } from './bpf-vm';
import { wireEntry } from './conntrackd-fixtures';
import { eventMessage } from './event-fixtures';

const TCP_ESTABLISHED = 3;
const TCP_TIME_WAIT = 7;

const flows: Record<string, Flow> = {
  tcp4: makeFlow({ proto: Proto.TCP, orig: tuple('10.0.0.1', '10.0.0.2', { sport: 1, dport: 80 }), tcp: { state: TCP_ESTABLISHED } }),
  tcp4TimeWait: makeFlow({ proto: Proto.TCP, orig: tuple('10.0.0.1', '10.0.0.2', { sport: 2, dport: 80 }), tcp: { state: TCP_TIME_WAIT } }),
  tcp4NoState: makeFlow({ proto: Proto.TCP, orig: tuple('10.0.0.1', '10.0.0.2', { sport: 3, dport: 80 }) }),
  udp4: makeFlow({ proto: Proto.UDP, orig: tuple('192.168.1.5', '10.1.0.9', { sport: 5, dport: 53 }) }),
  /** DNAT: the reply comes from 10.9.9.9, not from the original destination. */
  dnat4: makeFlow({
    proto: Proto.UDP,
    orig: tuple('172.16.0.1', '203.0.113.1', { sport: 6, dport: 53 }),
    reply: tuple('10.9.9.9', '172.16.0.1', { sport: 53, dport: 6 }),
  }),
  icmp6: makeFlow({ proto: Proto.ICMPV6, orig: tuple('2001:db8::1', '2001:db8::2', { type: 128, code: 0, id: 1 }) }),
  noL3: { family: 2, orig: { proto: Proto.TCP, sport: 1, dport: 2 }, reply: {} },
};

/** [filter, names of the flows that pass]. */
const table: [string, FilterConfig | undefined, string[]][] = [
  ['no filter', undefined, ['tcp4', 'tcp4TimeWait', 'tcp4NoState', 'udp4', 'dnat4', 'icmp6']],
  ['Protocol Accept { TCP }', { kernelspace: false, protocol: { policy: 'accept', protocols: [Proto.TCP] } }, ['tcp4', 'tcp4TimeWait', 'tcp4NoState']],
  ['Protocol Ignore { TCP UDP }', { kernelspace: false, protocol: { policy: 'ignore', protocols: [Proto.TCP, Proto.UDP] } }, ['icmp6']],
  [
    'Address Ignore { 10.0.0.0/24 }: the original source',
    { kernelspace: false, address: { policy: 'ignore', addresses: [{ family: 4, address: '10.0.0.0', prefix: 24 }] } },
    ['udp4', 'dnat4', 'icmp6'],
  ],
  [
    'Address Accept { 10.9.9.9 }: the reply source (the real server of a DNAT)',
    { kernelspace: false, address: { policy: 'accept', addresses: [{ family: 4, address: '10.9.9.9', prefix: 32 }] } },
    ['dnat4'],
  ],
  [
    'Address Accept { 203.0.113.1 }: the original destination of a DNAT is not tested',
    { kernelspace: false, address: { policy: 'accept', addresses: [{ family: 4, address: '203.0.113.1', prefix: 32 }] } },
    [],
  ],
  [
    'Address Accept { 2001:db8::/32 }: an IPv4 flow lists nothing',
    { kernelspace: false, address: { policy: 'accept', addresses: [{ family: 6, address: '2001:db8::', prefix: 32 }] } },
    ['icmp6'],
  ],
  [
    'Address Ignore { 2001:db8::1 }',
    { kernelspace: false, address: { policy: 'ignore', addresses: [{ family: 6, address: '2001:db8::1', prefix: 128 }] } },
    ['tcp4', 'tcp4TimeWait', 'tcp4NoState', 'udp4', 'dnat4'],
  ],
  [
    'State Accept { ESTABLISHED }: TCP only, stateless TCP passes',
    { kernelspace: false, state: { policy: 'accept', states: [TCP_ESTABLISHED] } },
    ['tcp4', 'tcp4NoState', 'udp4', 'dnat4', 'icmp6'],
  ],
  ['State Ignore { ESTABLISHED }', { kernelspace: false, state: { policy: 'ignore', states: [TCP_ESTABLISHED] } }, ['tcp4TimeWait', 'tcp4NoState', 'udp4', 'dnat4', 'icmp6']],
  [
    'every part must pass',
    {
      kernelspace: false,
      protocol: { policy: 'accept', protocols: [Proto.TCP, Proto.UDP] },
      address: { policy: 'ignore', addresses: [{ family: 4, address: '192.168.0.0', prefix: 16 }] },
      state: { policy: 'ignore', states: [TCP_TIME_WAIT] },
    },
    ['tcp4', 'tcp4NoState', 'dnat4'],
  ],
];

describe('conntrackd Filter', () => {
  for (const [name, filter, passing] of table) {
    it(name, () => {
      const pass = compileFlowFilter(filter);
      const passed = Object.entries(flows)
        .filter(([, flow]) => pass(wireEntry(flow)))
        .map(([flowName]) => flowName);
      assert.deepEqual(passed, passing);
    });
    if (filter === undefined) continue;
    it(`${name}: From Kernelspace, the socket filter agrees`, () => {
      const program = kernelFilterOf({ ...filter, kernelspace: true })!;
      for (const type of ['new', 'update', 'destroy'] as const) {
        const passed = Object.entries(flows)
          .filter(([flowName, flow]) => flowName !== 'noL3' && runClassicBpf(program, eventMessage(flow, type)) !== 0)
          .map(([flowName]) => flowName);
        assert.deepEqual(passed, passing, type);
      }
    });
  }

  it('no socket filter unless From Kernelspace', () => {
    assert.equal(kernelFilterOf(undefined), undefined);
    assert.equal(kernelFilterOf({ kernelspace: false, protocol: { policy: 'accept', protocols: [Proto.TCP] } }), undefined);
  });
});
