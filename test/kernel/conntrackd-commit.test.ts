import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { Conntrack } from '../../src/api/conntrack';
import type { Flow, Tuple } from '../../src/ctnetlink/flow';
import { readConntrackdStats } from '../../src/exporter/conntrackd-stats';
import { subjectConntrackd } from '../diff/conntrackd-harness';
import { NODES, bed, client, start, type Node } from './conntrackd-sync-bed';
import { until } from './wait';

/*
 * Our pair (conntrackd-sync-bed.ts): what `-c` reports and its exit status
 * (beyond 1.4.7), and a burst of flows made as fast as the kernel takes
 * them, replicated and committed without a loss and without the commit
 * coming back to the primary.
 */

/** Runs our client against a node's daemon. */
function ours(node: Node, ...args: string[]): Promise<{ stdout: string; status: number | null }> {
  const argv = subjectConntrackd().argv;
  return node.ns.exec(argv[0]!, [...argv.slice(1), '-C', node.config, ...args]).then((r) => ({ stdout: r.stdout.toString(), status: r.status }));
}

/** The external cache's active objects, from `-s cache`. */
async function externalCount(node: Node): Promise<number> {
  const m = /cache:external\tactive objects:\t\t +(\d+)\n/.exec(await client(node, '-s', 'cache'));
  return m ? Number(m[1]) : -1;
}

/**
 * Whether every flow `node` sent is acknowledged (no object in its resend
 * queue; the two nodes' keep-alive ACKs acknowledge each other, so a
 * control message is nearly always there): until then a flow the peer
 * applied may go again, and fill a cache the test has just emptied.
 */
async function allAcknowledged(node: Node): Promise<boolean> {
  const queue = await client(node, '-s', 'rsqueue');
  return queue.startsWith('resent queue') && !/^object -> /m.test(queue);
}

/** The last commit as `-s runtime --json` reports it. */
async function lastCommit(node: Node): Promise<unknown> {
  const r = await ours(node, '-s', 'runtime', '--json');
  return (JSON.parse(r.stdout) as { lastCommit?: unknown }).lastCommit;
}

/** The control socket of a node (its config's `UNIX { Path … }`). */
async function controlSocket(node: Node): Promise<string> {
  return /UNIX \{ Path (\S+) \}/.exec(await readFile(node.config, 'utf8'))![1]!;
}

const tcp = (src: string, sport: number, dport = 80): Tuple => ({ l3: 2, src, dst: '10.2.2.2', proto: 6, sport, dport });
const established = (orig: Tuple, master?: Tuple): Flow => ({ family: 2, orig, reply: {}, status: 0x0e, timeout: 600, tcp: { state: 3 }, ...(master && { master }) });

/** Creates `flows` in `node`'s kernel, many requests in flight at once. */
async function createAll(node: Node, flows: readonly Flow[]): Promise<void> {
  const ct = Conntrack.open({ netns: node.ns.name });
  try {
    for (let i = 0; i < flows.length; i += 512) await Promise.all(flows.slice(i, i + 512).map((f) => ct.create(f)));
  } finally {
    ct.close();
  }
}

test('-c reports what it committed and what failed, exits 1 on a failure, and leaves no commit in progress', async (t) => {
  const [primary, backup] = await bed(t, ['ours', 'ours'], { mode: 'FTFW', link: 'UDP' });
  await start(primary);
  await start(backup);
  // The master involves the sync link's address, which the Filter ignores: its
  // related flow is replicated alone, and the backup's kernel refuses it (ENOENT).
  const master = tcp(NODES[0].addr, 4000, 21);
  await createAll(primary, [established(master), established(tcp('10.1.1.1', 5000, 20), master), ...[1, 2, 3].map((i) => established(tcp('10.1.1.1', 1000 + i)))]);
  assert.ok(await until(async () => (await externalCount(backup)) === 4), 'the backup did not receive the 4 flows');
  assert.ok(await until(() => allAcknowledged(primary)), 'the backup did not acknowledge the 4 flows');

  assert.equal(await lastCommit(backup), undefined);
  const failed = await ours(backup, '-c');
  assert.deepEqual(failed, { stdout: 'commit: 3 entries committed, 1 failed\n', status: 1 });
  // Remembered for the statistics (JSON only) and read by conntrack-exporter.
  const remembered = await lastCommit(backup) as { endedAt: number; durationSeconds: number; committed: number; failed: number };
  assert.deepEqual({ committed: remembered.committed, failed: remembered.failed }, { committed: 3, failed: 1 });
  assert.ok(remembered.durationSeconds >= 0 && Math.abs(remembered.endedAt - Date.now() / 1000) < 600, JSON.stringify(remembered));
  assert.deepEqual((await readConntrackdStats(await controlSocket(backup))).lastCommit, remembered);
  // 1.4.7 would ignore this flush with "commit still in progress".
  assert.equal((await ours(backup, '-f', 'external')).status, 0);
  assert.equal(await externalCount(backup), 0);
  assert.deepEqual(await ours(backup, '-c'), { stdout: 'commit: 0 entries committed, 0 failed\n', status: 0 });
  const empty = await lastCommit(backup) as { committed: number; failed: number };
  assert.deepEqual([empty.committed, empty.failed], [0, 0]);
});

test('a burst of 10,000 flows: all replicated, all committed, none sent back to the primary', async (t) => {
  const n = 10_000;
  // The event socket's buffers of Debian's example config.
  const general = 'NetlinkBufferSize 2097152\n  NetlinkBufferSizeMaxGrowth 8388608';
  const [primary, backup] = await bed(t, ['ours', 'ours'], { mode: 'FTFW', link: 'UDP', general });
  await start(primary);
  await start(backup);
  const flows = Array.from({ length: n }, (_, i) => established(tcp(`10.1.${i >> 8}.${i & 255}`, 1024 + i)));
  await createAll(primary, flows);
  assert.ok(await until(async () => (await externalCount(backup)) === n, 60_000), `the backup holds ${await externalCount(backup)} of ${n} flows`);

  assert.deepEqual(await ours(backup, '-c'), { stdout: `commit: ${n} entries committed, 0 failed\n`, status: 0 });
  // Again: every entry exists now, and is replaced.
  assert.deepEqual(await ours(backup, '-c'), { stdout: `commit: ${n} entries committed, 0 failed\n`, status: 0 });
  assert.match(await readFile(backup.log, 'utf8'), new RegExp(`Committed 0 new entries\n.* ${n} entries updated, already exist\n`));
  // A flow made on the backup afterwards does reach the primary: had the
  // commit's entries been replicated, they would have gone before it.
  await createAll(backup, [established(tcp('10.7.7.7', 7777))]);
  assert.ok(await until(async () => (await externalCount(primary)) >= 1, 30_000), 'the marker flow never reached the primary');
  assert.equal(await externalCount(primary), 1, 'the primary received the committed flows back');
});
