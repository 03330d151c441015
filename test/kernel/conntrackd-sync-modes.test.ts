import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FLOWS, REPLICATED, bed, client, commitIntoKernel, externalLines, kernelLines, replicate, start, type SyncSetup } from './conntrackd-sync-bed';
import { REFERENCE_CONNTRACK } from './netns';
import { until } from './wait';

/*
 * The other modes and the TCP link, between our daemon and the C
 * conntrackd 1.4.7 in both directions (conntrackd-sync-bed.ts). What the C
 * backup received from us and what we received from the C primary must be
 * the same flows, printed the same way; our backup commits them.
 */
const SETUPS: SyncSetup[] = [
  { mode: 'NOTRACK', link: 'UDP' },
  { mode: 'ALARM', link: 'UDP' },
  { mode: 'FTFW', link: 'TCP' },
];

for (const setup of SETUPS) {
  test(`${setup.mode} over ${setup.link}: ours → C and C → ours replicate the same flows`, async (t) => {
    const toC = await replicate(t, ['ours', 'c'], setup);
    const toOurs = await replicate(t, ['c', 'ours'], setup);
    assert.equal(toOurs.external.length, FLOWS.length);
    assert.deepEqual(toOurs.external, toC.external);
    await commitIntoKernel(toOurs.backup, toOurs.primary);
    if (setup.mode === 'ALARM') {
      for (const backup of [toC.backup, toOurs.backup]) assert.match(await client(backup, '-e'), / \[expires in \d+s\] \[active since \d+s\]\n/);
    }
    assert.deepEqual(externalLines(await client(toOurs.backup, '-e')), toOurs.external);
  });
}

for (const impls of [['c', 'ours'], ['ours', 'c']] as const) {
  test(`DisableExternalCache, ${impls[0]} primary → ${impls[1]} backup: the flows go straight into the backup's kernel`, async (t) => {
    const [primary, backup] = await bed(t, [...impls], { mode: 'FTFW', link: 'UDP', disableExternalCache: true });
    await start(primary);
    await start(backup);
    for (const args of FLOWS) await primary.ns.execOk(REFERENCE_CONNTRACK, ['-I', ...args.split(' ')]);
    const count = async (): Promise<number> => (await backup.ns.execOk(REFERENCE_CONNTRACK, ['-L', '-f', 'ipv4'])).stdout.toString().split('\n').filter((l) => REPLICATED.test(l)).length;
    // Five IPv4 flows, and the IPv6 one.
    assert.ok(await until(async () => (await count()) === FLOWS.length - 1), `the backup's kernel has ${await count()} flows`);
    assert.deepEqual(await kernelLines(backup.ns), await kernelLines(primary.ns));
    assert.equal(await client(backup, '-e'), '');
  });
}
