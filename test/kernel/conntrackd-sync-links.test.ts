import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { bed, client, externalLines, start, syncLink, type Impl, type Node } from './conntrackd-sync-bed';
import { ctFill, REFERENCE_CONNTRACK } from './netns';
import { until } from './wait';

/*
 * Redundant sync links (conntrackd-sync-bed.ts): two links, the active one
 * goes down, replication goes on on the other, and `-s link` shows the
 * roles as 1.4.7 shows them.
 */

/** `count` TCP flows from 10.1.<block>.x, as `conntrack -I` arguments. */
const flows = (block: number, count: number): string[][] =>
  Array.from({ length: count }, (_, i) =>
    `-p tcp -s 10.1.${block}.${1 + (i % 250)} -d 10.2.2.2 --sport ${1000 + Math.floor(i / 250)} --dport 80 --state ESTABLISHED -u ASSURED -t 300`.split(' '),
  );

/** How many flows the node's external cache holds. */
const externalCount = async (node: Node): Promise<number> => externalLines(await client(node, '-e')).length;

/** `-s link` with the counters masked. */
const linkShape = async (node: Node): Promise<string> => (await client(node, '-s', 'link')).replace(/[ \t]+\d+/g, ' N');

/**
 * Two links; the primary's active one goes down. Returns each node's
 * `-s link` before and after, once a flow made after the failure has
 * reached the backup.
 */
async function linkFailover(t: TestContext, impls: [Impl, Impl]): Promise<string[]> {
  const [primary, backup] = await bed(t, impls, { mode: 'FTFW', link: 'UDP', links: 2 });
  // A daemon reads each link's status when it starts; 1.4.7 learns a later
  // change only from a link event, so start once every end has its carrier.
  for (const [i, node] of [primary, backup].entries()) {
    for (const k of [0, 1]) {
      const dev = syncLink(i, k).dev;
      const up = async (): Promise<boolean> => /LOWER_UP/.test((await node.ns.execOk('ip', ['link', 'show', 'dev', dev])).stdout.toString());
      assert.ok(await until(up, 15_000), `${dev} has no carrier`);
    }
  }
  await start(primary);
  await start(backup);
  await ctFill(primary.ns, flows(1, 1));
  assert.ok(await until(async () => (await externalCount(backup)) === 1), 'nothing replicated on the first link');
  const before = [await linkShape(primary), await linkShape(backup)];
  await primary.ns.execOk('ip', ['link', 'set', syncLink(0, 0).dev, 'down']);
  assert.ok(
    await until(async () => / device=fw-a2 status=RUNNING role=ACTIVE/.test(await client(primary, '-s', 'link')), 15_000),
    await client(primary, '-s', 'link'),
  );
  await ctFill(primary.ns, flows(2, 1));
  assert.ok(await until(async () => (await externalCount(backup)) === 2, 15_000), 'nothing replicated on the second link');
  // The backup's end of the downed link loses its carrier: when a daemon
  // learns that (a link event it reads in its own time) is not ordered
  // against our request, for 1.4.7 as for ours, so either status is right.
  const after = [await linkShape(primary), (await linkShape(backup)).replace(/status=(RUNNING|NO-CARRIER) role=BACKUP/, 'status=RUNNING-or-NO-CARRIER role=BACKUP')];
  const deleted = await primary.ns.execOk(REFERENCE_CONNTRACK, ['-D', '-s', '10.1.1.1']);
  assert.equal(deleted.status, 0);
  assert.ok(await until(async () => (await externalCount(backup)) === 1, 15_000), 'the delete did not arrive on the second link');
  return [...before, ...after];
}

test('redundant links: the active link goes down, replication goes on on the next, -s link as 1.4.7', async (t) => {
  const reference = await linkFailover(t, ['c', 'c']);
  assert.match(reference[2]!, /device=fw-a status=DOWN role=BACKUP:\n[^]*device=fw-a2 status=RUNNING role=ACTIVE/);
  assert.deepEqual(await linkFailover(t, ['ours', 'ours']), reference);
});
