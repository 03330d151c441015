import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test, type TestContext } from 'node:test';
import { FLOWS, client, commitIntoKernel, externalLines, replicate, start, stop } from './conntrackd-sync-bed';
import { REFERENCE_CONNTRACK } from './netns';
import { until } from './wait';

/*
 * Replication over FTFW/UDP between every pairing of our daemon and the C
 * conntrackd 1.4.7 (conntrackd-sync-bed.ts); the C→C run is the reference
 * for `-e` and `-e -x`.
 */
let reference: Promise<{ lines: string[]; xml: string[] }> | undefined;
/** The C backup's `-e` and `-e -x` with a C primary. */
async function referenceCache(t: TestContext): Promise<{ lines: string[]; xml: string[] }> {
  reference ??= replicate(t, ['c', 'c']).then(async (r) => ({ lines: r.external, xml: xmlLines(await client(r.backup, '-e', '-x')) }));
  return reference;
}
const referenceExternal = async (t: TestContext): Promise<string[]> => (await referenceCache(t)).lines;

/** `-e -x`, one flow per line, sorted. */
const xmlLines = (text: string): string[] => text.split('\n').filter(Boolean).sort();

test('C primary → C backup: the reference external cache', async (t) => {
  const lines = await referenceExternal(t);
  assert.ok(lines.some((l) => / mark=7$/.test(l)), lines.join('\n'));
});

test('our primary → C backup: the C external cache is the reference, -c gives the primary\'s entries', async (t) => {
  const expected = await referenceExternal(t);
  const { primary, backup, external } = await replicate(t, ['ours', 'c']);
  assert.deepEqual(external, expected);
  await commitIntoKernel(backup, primary);
});

test('C primary → our backup: -e as 1.4.7, -c makes the primary\'s entries, restart + -n refills', async (t) => {
  const expected = await referenceExternal(t);
  const { primary, backup } = await replicate(t, ['c', 'ours']);
  // The sync statistics have 1.4.7's shape, and count what arrived.
  const shape = (text: string): string => text.replace(/ *\d+/g, ' N').replace(/fw-[ab]/g, 'DEV');
  for (const kind of [[], ['queue'], ['link'], ['network'], ['cache']]) {
    assert.equal(shape(await client(backup, '-s', ...kind)), shape(await client(primary, '-s', ...kind)), `-s ${kind.join('')}`);
  }
  assert.match(await client(backup, '-s', 'cache'), new RegExp(`cache:external\tactive objects:\t\t +${FLOWS.length}\n`));
  const raw = await client(backup, '-e');
  assert.deepEqual(externalLines(raw), expected);
  assert.match(raw, / \[active since \d+s\]\n/);
  assert.deepEqual(xmlLines(await client(backup, '-e', '-x')), (await referenceCache(t)).xml);

  await commitIntoKernel(backup, primary);
  const log = await readFile(backup.log, 'utf8');
  assert.match(log, /committing all external caches/);
  assert.match(log, new RegExp(`Committed ${FLOWS.length} new entries`));

  await client(backup, '-f', 'external');
  assert.equal(await client(backup, '-e'), '');
  await stop(backup);
  await start(backup);
  await client(backup, '-n');
  assert.ok(await until(async () => externalLines(await client(backup, '-e')).length === FLOWS.length), 'no refill after -n');
});

test('our primary → our backup: replicated, committed, deletes propagated', async (t) => {
  const expected = await referenceExternal(t);
  const { primary, backup, external } = await replicate(t, ['ours', 'ours']);
  assert.deepEqual(external, expected);
  await commitIntoKernel(backup, primary);

  await primary.ns.execOk(REFERENCE_CONNTRACK, ['-D', '-p', 'tcp', '--orig-port-src', '1000']);
  assert.ok(await until(async () => !(await client(backup, '-e')).includes('sport=1000 ')), 'the delete did not reach the backup');
});
