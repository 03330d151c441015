/**
 * FTFW under the loss issue 13 names: nft drops every second sync datagram
 * a node receives (`numgen inc mod 2`), on both nodes or on the backup
 * only, while the primary creates a few hundred flows and then deletes and
 * updates some of them. Every case ends with the backup's external cache
 * equal to the primary's kernel table (tuples and marks), the rule still in
 * place. The pairs with a C daemon run with CT_SYNC_LOSS_MIXED=1, for the
 * record (what they can and cannot guarantee: src/conntrackd/sync/README.md);
 * a C primary's are todo: its sender never resends unasked (defect 21 of
 * docs/1.4.7-defects.md).
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { Conntrack } from '../../src/api/conntrack';
import { bed, start, type Impl, type Node } from './conntrackd-sync-bed';
import { SYNC_PORT, burst, burstFlow, converges, stats } from './conntrackd-sync-burst';

const FLOWS = 300;
/**
 * The event socket's buffers of the Debian example config: with the
 * kernel's default, the burst may overrun the primary's event socket, and
 * the lost events reach the backup only with the resync 30 s later.
 */
const EVENT_BUFFERS = 'NetlinkBufferSize 2097152\n  NetlinkBufferSizeMaxGrowth 8388608';

/** Drops every second sync datagram that reaches the node. */
async function alternatingDrop(node: Node): Promise<void> {
  await node.ns.nft(`table inet synclink {
  chain in { type filter hook input priority 0; udp dport ${SYNC_PORT} numgen inc mod 2 == 0 drop; }
}`);
}

/** Deletes every fifth flow of the burst and gives every fifth other one a mark (a CT_UPD). */
async function churn(node: Node): Promise<void> {
  const ct = Conntrack.open({ netns: node.ns.name });
  try {
    const work: Promise<boolean>[] = [];
    for (let i = 0; i < FLOWS; i += 5) work.push(ct.delete(burstFlow(i)), ct.update({ ...burstFlow(i + 2), mark: 1 }));
    assert.ok((await Promise.all(work)).every(Boolean));
  } finally {
    ct.close();
  }
}

const pairs: [Impl, Impl][] = [['ours', 'ours'], ...(process.env.CT_SYNC_LOSS_MIXED ? ([['c', 'ours'], ['ours', 'c']] as [Impl, Impl][]) : [])];
for (const impls of pairs) {
  for (const where of ['both nodes', 'the backup'] as const) {
    const todo = impls[0] === 'c' ? "defect 21: 1.4.7's sender resends only what a NACK that got through asked for" : undefined;
    test(`${impls[0]} → ${impls[1]}: every second sync datagram dropped on ${where}; ${FLOWS} flows made, some deleted and updated: FTFW delivers them all`, { todo }, async (t) => {
      const [primary, backup] = await bed(t, impls, { mode: 'FTFW', link: 'UDP', general: EVENT_BUFFERS });
      await Promise.all([start(primary), start(backup)]);
      await Promise.all((where === 'both nodes' ? [primary, backup] : [backup]).map(alternatingDrop));
      await burst(primary.ns, 0, FLOWS);
      await churn(primary);
      const begun = Date.now();
      await converges(primary, backup, 120_000);
      const seconds = (Date.now() - begun) / 1000;
      const [sent, runtime] = primary.impl === 'ours' ? [await stats(primary, 'network'), await stats(primary, 'runtime')] : [];
      t.diagnostic(`converged ${seconds} s after the churn; primary resent ${sent?.network.sendResent ?? '?'}, event overruns ${runtime?.netlink.overruns ?? '?'}`);
    });
  }
}
