/**
 * General { Filter } in Stats mode: which flows reach the internal cache,
 * from the start-up dump and from events, for Protocol, Address and State
 * filters in Accept and Ignore form and From Userspace / From Kernelspace;
 * and `-F`, which flushes the kernel table except what the filter ignores.
 * The expected cache sizes are 1.4.7's, written down so that a harness that
 * compared two empty caches would fail.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { withNetns } from '../kernel/netns';
import {
  assertAloneRuns,
  assertPairings,
  assertSameCache,
  createFlows,
  kernelCount,
  LIBRARY_FLOWS,
  loadProtocolModules,
  startPair,
} from './conntrackd-harness';

/** [name, Filter block, flows of LIBRARY_FLOWS 1.4.7 caches]. */
const FILTERS: readonly [string, string, number][] = [
  ['Protocol Accept', 'Filter {\n\t\tProtocol Accept {\n\t\t\tTCP\n\t\t\tUDP\n\t\t}\n\t}', 9],
  ['Protocol Ignore', 'Filter From Userspace {\n\t\tProtocol Ignore {\n\t\t\tTCP\n\t\t\tIPv6-ICMP\n\t\t}\n\t}', 7],
  ['Address Accept', 'Filter {\n\t\tAddress Accept {\n\t\t\tIPv4_address 10.0.0.1\n\t\t\tIPv6_address 2001:db8::1\n\t\t}\n\t}', 10],
  ['Address Ignore, CIDR, kernel-side', 'Filter From Kernelspace {\n\t\tAddress Ignore {\n\t\t\tIPv4_address 10.0.0.0/24\n\t\t\tIPv6_address 2001:db8:1::/48\n\t\t}\n\t}', 5],
  ['Address Ignore, NAT reply source', 'Filter {\n\t\tAddress Ignore {\n\t\t\tIPv4_address 192.168.1.20\n\t\t\tIPv4_address 8.8.8.8\n\t\t}\n\t}', 12],
  ['State Accept', 'Filter {\n\t\tState Accept {\n\t\t\tESTABLISHED for TCP\n\t\t}\n\t}', 12],
  ['State Ignore', 'Filter {\n\t\tState Ignore {\n\t\t\tSYN_SENT TIME_WAIT for TCP\n\t\t}\n\t}', 12],
  [
    'all three',
    'Filter From Kernelspace {\n\t\tProtocol Accept {\n\t\t\tTCP\n\t\t}\n\t\tAddress Ignore {\n\t\t\tIPv4_address 192.168.1.10\n\t\t}\n\t\tState Accept {\n\t\t\tESTABLISHED TIME_WAIT for TCP\n\t\t}\n\t}',
    4,
  ],
];

const [early, late] = [LIBRARY_FLOWS.filter((_, i) => i % 2 === 0), LIBRARY_FLOWS.filter((_, i) => i % 2 === 1)];

describe('Filter: what reaches the cache, from the start-up dump and from events', () => {
  for (const [name, filter, cached] of FILTERS) {
    test(name, async (t) => {
      await loadProtocolModules();
      const ns = await withNetns(t, 'ctd-filter');
      await createFlows(ns, early);
      const pair = await startPair(t, ns, { general: filter });
      await createFlows(ns, late);
      await assertSameCache(pair, cached);
      await assertPairings(pair, ['-s', 'cache']);
    });
  }
});

describe('-F flushes the kernel table except what the filter ignores, logging what it flushed', () => {
  const flushCase = (name: string, general: string | undefined, kept: number, commands: string[][]): void => {
    test(name, async (t) => {
      await loadProtocolModules();
      const ns = await withNetns(t, 'ctd-flush');
      const ref = await assertAloneRuns(ns, {
        cfg: general === undefined ? {} : { general },
        setup: (n) => createFlows(n, LIBRARY_FLOWS),
        commands,
        settled: async (n, daemon) => (await kernelCount(n)) === kept && (await daemon.file('statsLog')).split('\n').length > LIBRARY_FLOWS.length - kept,
      });
      assert.equal(ref.table.split('\n').filter((l) => l !== '').length, 2 * kept, 'reference: entries kept (save and extended lines)');
    });
  };
  flushCase('no filter: -F', undefined, 0, [['-F']]);
  flushCase('Protocol Accept { TCP UDP }: -F ct', FILTERS[0]![1], 5, [['-F', 'ct']]);
  flushCase('Address Ignore, kernel-side: -F', FILTERS[3]![1], 9, [['-F']]);
  flushCase('-F expect leaves flows alone', undefined, LIBRARY_FLOWS.length, [['-F', 'expect']]);
});
