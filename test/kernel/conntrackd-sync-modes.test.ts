import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FLOWS, client, commitIntoKernel, externalLines, replicate, type SyncSetup } from './conntrackd-sync-bed';

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
      for (const backup of [toC.backup, toOurs.backup]) assert.match(await client(backup, '-e'), / \[expires in 1[78]\ds\] \[active since \ds\]\n/);
    }
    assert.deepEqual(externalLines(await client(toOurs.backup, '-e')), toOurs.external);
  });
}
