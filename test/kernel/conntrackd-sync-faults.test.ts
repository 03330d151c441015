/**
 * Faults on the sync link between two of our daemons (FTFW over UDP, the
 * two-node bed): random loss, the backup restarting mid-burst, the link
 * down and up again, the primary's event socket overrunning, and hostile
 * traffic on the sync port. Each case ends with the backup's external cache
 * equal to the primary's kernel table, reached by the daemons alone (no
 * `-n`, no `-B`). Short versions; bench/conntrackd-faults.sh runs the long
 * ones and measures them.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import test from 'node:test';
import { NODES, bed, client, start, stop, type Node, type SyncSetup } from './conntrackd-sync-bed';
import { SYNC_PORT, burst, burstKeys, converges, kernelKeys, stats } from './conntrackd-sync-burst';

const FTFW: SyncSetup = { mode: 'FTFW', link: 'UDP' };

/** Drops `percent`% of the sync datagrams leaving a node, at random. */
async function lossy(node: Node, percent: number): Promise<void> {
  await node.ns.nft(`table inet synclink {
  chain out { type filter hook output priority 0; udp dport ${SYNC_PORT} numgen random mod 100 < ${percent} drop; }
}`);
}

for (const percent of [10, 30]) {
  test(`${percent}% of the sync datagrams lost both ways during a burst of 1,000 flows: FTFW delivers every flow`, async (t) => {
    const [primary, backup] = await bed(t, ['ours', 'ours'], FTFW);
    await Promise.all([start(primary), start(backup)]);
    await Promise.all([lossy(primary, percent), lossy(backup, percent)]);
    await burst(primary.ns, 0, 1000);
    await converges(primary, backup);
    const [sent, received] = [await stats(primary, 'network'), await stats(backup, 'network')];
    assert.ok(received.network.sequenceLost > 0, 'the backup saw gaps');
    assert.ok(sent.network.sendResent > 0, 'the primary resent what the backup asked for');
  });
}

test('the backup restarts mid-burst: the primary sends it everything again, unasked', async (t) => {
  const [primary, backup] = await bed(t, ['ours', 'ours'], FTFW);
  await Promise.all([start(primary), start(backup)]);
  await burst(primary.ns, 0, 1000);
  backup.daemon!.kill('SIGKILL');
  await stop(backup);
  await burst(primary.ns, 1000, 1000);
  await start(backup);
  await burst(primary.ns, 2000, 1000);
  await converges(primary, backup);
});

test('the sync link goes down and comes back: the flows made meanwhile arrive', async (t) => {
  const [primary, backup] = await bed(t, ['ours', 'ours'], FTFW);
  await Promise.all([start(primary), start(backup)]);
  await burst(primary.ns, 0, 500);
  await primary.ns.execOk('ip', ['link', 'set', NODES[0].dev, 'down']);
  await burst(primary.ns, 500, 1500);
  // Keep-alives go unanswered for a while (the bench keeps it down for 10 s).
  await new Promise((resolve) => setTimeout(resolve, 3000));
  assert.ok((await kernelKeys(primary.ns)).length > burstKeys(await client(backup, '-e')).length, 'the backup misses flows while the link is down');
  await primary.ns.execOk('ip', ['link', 'set', NODES[0].dev, 'up']);
  await converges(primary, backup);
});

test("the primary's event socket overruns (4 KiB buffer): the resync sends what the lost events carried", async (t) => {
  const small = { ...FTFW, general: 'NetlinkBufferSize 4096 NetlinkBufferSizeMaxGrowth 8192 NetlinkOverrunResync 1' };
  const [primary, backup] = await bed(t, ['ours', 'ours'], small);
  await Promise.all([start(primary), start(backup)]);
  await burst(primary.ns, 0, 5000);
  assert.ok((await stats(primary, 'runtime')).netlink.overruns > 0, 'the burst overran the event socket');
  await converges(primary, backup);
});

for (const link of ['UDP', 'TCP'] as const) {
  test(`hostile ${link} traffic on the sync port: counted as malformed or foreign, and replication goes on`, async (t) => {
    const [primary, backup] = await bed(t, ['ours', 'ours'], { mode: 'FTFW', link });
    await Promise.all([start(primary), start(backup)]);
    const fuzz = (...args: string[]): Promise<unknown> =>
      primary.ns.execOk(process.execPath, [path.join(__dirname, '../../tools/sync-fuzz.js'), '--to', NODES[1].addr, '--port', String(SYNC_PORT), ...(link === 'TCP' ? ['--tcp'] : []), ...args]);
    // From the peer's own address: past the sender check, into the decoder.
    await fuzz('--count', '5000', '--seed', '7');
    // From another address of the peer's host: dropped unread.
    await primary.ns.execOk('ip', ['addr', 'add', '192.168.79.3/24', 'dev', NODES[0].dev]);
    await fuzz('--count', link === 'TCP' ? '20' : '2000', '--from', '192.168.79.3');
    await burst(primary.ns, 0, 1000);
    await converges(primary, backup);
    const s = await stats(backup, 'network');
    assert.ok(s.network.receiveMalformed > 100, `malformed: ${JSON.stringify(s.network)}`);
    // Some of the foreign datagrams may be dropped by the kernel when the receive buffer is full.
    assert.ok(s.link.traffic.receiveForeign > 0, `foreign: ${JSON.stringify(s.link.traffic)}`);
    assert.match(await client(backup, '-s', 'network'), /Foreign recv/);
    assert.equal(backup.daemon!.exitCode, null, 'the backup is still running');
  });
}
