/**
 * Bulk changes on a busy table: `-D` / `-U` (CLI and library) while real
 * loopback traffic keeps creating and ending flows, short-lived entries
 * expire, and a competitor (the reference tool, in a loop) deletes the very
 * entries we are working on. Whoever loses a race gets ENOENT; for us that
 * is a skipped entry, never an error.
 *
 * The checks are built to catch a wrong answer, not just a crash:
 *  - entries we did not match (mark 2, snapshotted by id) are all there,
 *    unchanged, afterwards;
 *  - the kernel confirms a delete to exactly one deleter, so what we report
 *    as deleted and what the competitor reports are disjoint;
 *  - no entry we matched is left as it was;
 *  - the summary count equals the lines printed, and the exit status
 *    follows it (0 when something changed, else 1), with nothing else on stderr.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import path from 'node:path';
import { Conntrack } from '../../src/api/conntrack';
import { VERSION } from '../../src/cli/problems';
import { ctFill, makeTraffic, REFERENCE_CONNTRACK, withNetns, type ExecResult, type Netns } from './netns';

const TARGETS = 20_000;
const EXPIRING = 500;
const BYSTANDERS = 5_000;
const TARGET_MARK = 1;
const BYSTANDER_MARK = 2;
const NEW_MARK = 5;
const OURS = path.resolve(__dirname, '../../../bin/conntrack.js');
const BANNER = `conntrack v${VERSION} (conntrack-ts)`;

const address = (net: number, i: number): string => `10.${net}.${(i >> 8) & 255}.${i & 255}`;
const entry = (src: string, sport: number, mark: number, timeout: number): string[] =>
  `-s ${src} -d 10.200.0.1 -p tcp --sport ${sport} --dport 80 --state ESTABLISHED -t ${timeout} -m ${mark}`.split(' ');

/** The original tuple of a default-format line. */
const tupleOf = (line: string): string => /src=\S+ dst=\S+ sport=\d+ dport=\d+/.exec(line)![0];
const linesOf = (r: ExecResult): string[] => r.stdout.toString().split('\n').filter((l) => l !== '');

interface Busy {
  ns: Netns;
  /** `id mark` of every bystander before the race. */
  bystanders: string[];
  /** Ends the traffic and the competitor; resolves with the lines the competitor printed as deleted. */
  settle(): Promise<string[]>;
}

/**
 * A namespace with TARGETS long-lived and EXPIRING short-lived entries of
 * TARGET_MARK in 10.1/16, BYSTANDERS entries of BYSTANDER_MARK in 10.2/16,
 * loopback traffic going on (mark 0) and, once `race()` is called, the
 * reference deleting TARGET_MARK entries over and over (1.4.7 stops at the
 * first entry that vanished under it, so it is restarted).
 */
async function busyTable(t: Parameters<typeof withNetns>[0], prefix: string): Promise<Busy & { race(): void }> {
  const ns = await withNetns(t, prefix);
  await ctFill(ns, [
    ...Array.from({ length: TARGETS }, (_, i) => entry(address(1, i), 1024 + i, TARGET_MARK, 6000)),
    ...Array.from({ length: EXPIRING }, (_, i) => entry(address(1, TARGETS + i), 30000 + i, TARGET_MARK, 2)),
    ...Array.from({ length: BYSTANDERS }, (_, i) => entry(address(2, i), 1024 + i, BYSTANDER_MARK, 6000)),
  ]);
  const bystanders = await snapshot(ns, BYSTANDER_MARK);
  assert.equal(bystanders.length, BYSTANDERS);
  const traffic = makeTraffic(ns, { icmp: false, repeatForMs: 3000 });
  traffic.catch(() => {}); // awaited in settle(); a failure before then is not unhandled
  // Let the traffic start: its first flows exist before the race does.
  await new Promise((resolve) => setTimeout(resolve, 300));
  let competitor: Promise<ExecResult> | undefined;
  return {
    ns,
    bystanders,
    race() {
      competitor ??= ns.exec('sh', ['-c', `for i in $(seq 60); do "$0" -D -m ${TARGET_MARK} 2>/dev/null; done`, REFERENCE_CONNTRACK]);
    },
    async settle() {
      await traffic;
      return competitor ? linesOf(await competitor) : [];
    },
  };
}

/**
 * Runs our CLI in the namespace; `onOutput` runs when its first output
 * arrives, i.e. once it is well into its work (it writes every 256 KiB).
 */
async function ours(ns: Netns, args: readonly string[], onOutput: () => void): Promise<ExecResult> {
  const child = ns.spawn(process.execPath, [OURS, ...args]);
  child.stdin!.end();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on('data', (b: Buffer) => {
    if (out.length === 0) onOutput();
    out.push(b);
  });
  child.stderr!.on('data', (b: Buffer) => err.push(b));
  const [status, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  return { stdout: Buffer.concat(out), stderr: Buffer.concat(err), status, signal, timedOut: false };
}

/** `id mark` of every entry with `mark`, sorted. */
async function snapshot(ns: Netns, mark: number): Promise<string[]> {
  const r = await ns.execOk(REFERENCE_CONNTRACK, ['-L', '-m', String(mark), '-o', 'id']);
  return linesOf(r)
    .map((line) => `${/ id=(\d+)/.exec(line)![1]} ${/ mark=(\d+)/.exec(line)![1]}`)
    .sort();
}

async function countMark(ns: Netns, mark: number): Promise<number> {
  return (await snapshot(ns, mark)).length;
}

/** The bystanders are exactly as they were, and no target is left unchanged. */
async function assertOnlyTargetsChanged(busy: Busy): Promise<void> {
  assert.deepEqual(await snapshot(busy.ns, BYSTANDER_MARK), busy.bystanders, 'an entry that did not match was deleted or changed');
  assert.equal(await countMark(busy.ns, TARGET_MARK), 0, 'a matching entry was left as it was');
}

function assertDisjoint(ours: string[], competitor: string[]): void {
  const theirs = new Set(competitor.map(tupleOf));
  const both = ours.filter((line) => theirs.has(tupleOf(line)));
  assert.deepEqual(both, [], 'reported deleted by both deleters: one of them was told ENOENT');
}

/** stderr is the summary alone; the count equals the printed lines; the status follows the count. */
function assertSummary(r: ExecResult, verb: string): string[] {
  const printed = linesOf(r);
  assert.equal(r.signal, null, `killed by ${r.signal}`);
  assert.equal(r.stderr.toString(), `${BANNER}: ${printed.length} flow entries have been ${verb}.\n`);
  assert.equal(r.status, printed.length > 0 ? 0 : 1);
  return printed;
}

test('conntrack -D -m 1 on a busy table, racing another deleter', async (t) => {
  const busy = await busyTable(t, 'race-del');
  const r = await ours(busy.ns, ['-D', '-m', String(TARGET_MARK)], () => busy.race());
  const competitor = await busy.settle();
  const printed = assertSummary(r, 'deleted');
  assert.deepEqual(printed.filter((line) => !line.includes(` mark=${TARGET_MARK} `)), [], 'deleted an entry that did not match');
  assertDisjoint(printed, competitor);
  await assertOnlyTargetsChanged(busy);
  t.diagnostic(`ours deleted ${printed.length}, the competitor ${competitor.length}`);
});

test(`conntrack -U -s 10.1.0.0/16 -m ${NEW_MARK} on a busy table, racing a deleter`, async (t) => {
  const busy = await busyTable(t, 'race-upd');
  const r = await ours(busy.ns, ['-U', '-s', '10.1.0.0/16', '-m', String(NEW_MARK)], () => busy.race());
  const competitor = await busy.settle();
  const printed = assertSummary(r, 'updated');
  const wrong = printed.filter((line) => !line.startsWith('tcp ') || !line.includes(' src=10.1.') || !line.includes(` mark=${NEW_MARK} `));
  assert.deepEqual(wrong, [], 'printed an entry that did not match, or not as updated');
  // The competitor deletes entries we updated only if it dumped them before; never more than we updated.
  assert.ok((await countMark(busy.ns, NEW_MARK)) <= printed.length);
  await assertOnlyTargetsChanged(busy);
  t.diagnostic(`ours updated ${printed.length}, the competitor deleted ${competitor.length}`);
});

test('Conntrack.deleteEach on a busy table, racing another deleter', async (t) => {
  const busy = await busyTable(t, 'race-libdel');
  const ct = Conntrack.open({ netns: busy.ns.name });
  t.after(() => ct.close());
  const visited: string[] = [];
  for await (const { flow, error } of ct.deleteEach({ mark: { value: TARGET_MARK, mask: 0xffffffff } })) {
    busy.race();
    assert.equal(error, undefined);
    assert.equal(flow.mark, TARGET_MARK);
    visited.push(`src=${flow.orig.src} dst=${flow.orig.dst} sport=${flow.orig.sport} dport=${flow.orig.dport}`);
  }
  const deleted = visited.length;
  const competitor = await busy.settle();
  assertDisjoint(visited, competitor);
  await assertOnlyTargetsChanged(busy);
  t.diagnostic(`ours deleted ${deleted}, the competitor ${competitor.length}`);
});

test('Conntrack.updateEach on a busy table: vanished entries are skipped, the rest all updated', async (t) => {
  const busy = await busyTable(t, 'race-libupd');
  const ct = Conntrack.open({ netns: busy.ns.name });
  t.after(() => ct.close());
  let seen = 0;
  let updated = 0;
  const change = (): { mark: number } => {
    // The competitor deletes faster than we update: let it in once we are well started,
    // so that both sides win some of the remaining entries.
    if (++seen === 2000) busy.race();
    return { mark: NEW_MARK };
  };
  for await (const { flow, error } of ct.updateEach({ mark: { value: TARGET_MARK, mask: 0xffffffff } }, change)) {
    assert.equal(error, undefined);
    assert.equal(flow.mark, TARGET_MARK, 'as dumped');
    updated++;
  }
  const vanished = seen - updated;
  await busy.settle();
  // Our updates succeeded for `updated` entries; the competitor may delete some of them afterwards.
  assert.ok((await countMark(busy.ns, NEW_MARK)) <= updated);
  assert.ok(updated > 0, 'nothing was updated: the race left us nothing to test');
  await assertOnlyTargetsChanged(busy);
  t.diagnostic(`ours updated ${updated} (${vanished} vanished first)`);
});
