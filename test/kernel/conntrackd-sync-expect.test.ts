import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test, type TestContext } from 'node:test';
import { bed, client, start, type Impl, type Node, type SyncSetup } from './conntrackd-sync-bed';
import { FtpLab } from './ftp';
import { REFERENCE_CONNTRACK } from './netns';
import { until } from './wait';

/*
 * ExpectationSync between our daemon and the C conntrackd 1.4.7 in every
 * direction (conntrackd-sync-bed.ts): a real FTP control connection on the
 * primary announces a data connection (PORT), the kernel's ftp helper
 * expects it, and the expectation reaches the backup's external
 * expectation cache; `-c` on the backup commits the master flow, then the
 * expectation, which must equal the primary's. The C→C run is the
 * reference for the client's texts. The peer's resync request is logged
 * as 1.4.7 logs it. The four pairings run at the same time (each bed is
 * namespaces of its own).
 */
const SETUP: SyncSetup = { mode: 'FTFW', link: 'UDP', expectationSync: 'On' };
/** The FTP client and server on the primary, on an address the bed's Filter does not ignore. */
const HOST = '10.1.1.1';
const CLIENT_PORT = 40000;
const DATA_PORT = 10000;
const PORT_COMMAND = `PORT 10,1,1,1,${DATA_PORT >> 8},${DATA_PORT & 255}`;

/** Cache dump lines without their ages, sorted. */
const withoutAges = (text: string): string[] =>
  text.split('\n').filter(Boolean).map((l) => l.replace(/ \[active since \d+s\]$/, '')).sort();

interface Replicated {
  primary: Node;
  backup: Node;
  /** The primary's `-i expect` and the backup's `-e expect`, without ages, and their `-x` twins. */
  texts: { internal: string[]; external: string[]; internalXml: string[]; externalXml: string[] };
}

/** Both daemons up, and the expectation made on the primary. */
async function announce(t: TestContext, impls: [Impl, Impl], setup = SETUP): Promise<[Node, Node]> {
  const [primary, backup] = await bed(t, impls, setup);
  await primary.ns.execOk('ip', ['addr', 'add', `${HOST}/32`, 'dev', 'lo']);
  await start(primary);
  await start(backup);
  const lab = await FtpLab.start(primary.ns);
  t.after(() => lab.stop());
  await lab.announce(HOST, CLIENT_PORT, PORT_COMMAND);
  return [primary, backup];
}

/** Both daemons up, the expectation made on the primary and replicated to the backup. */
async function replicateExpectation(t: TestContext, impls: [Impl, Impl]): Promise<Replicated> {
  const [primary, backup] = await announce(t, impls);
  let external: string[] = [];
  const arrived = await until(async () => (external = withoutAges(await client(backup, '-e', 'expect'))).length === 1, 30_000);
  assert.ok(arrived, `the backup's external expectation cache: ${external.join('\n')}\n${await readFile(backup.log, 'utf8')}`);
  return {
    primary,
    backup,
    texts: {
      internal: withoutAges(await client(primary, '-i', 'expect')),
      external,
      internalXml: withoutAges(await client(primary, '-i', 'expect', '-x')),
      externalXml: withoutAges(await client(backup, '-e', 'expect', '-x')),
    },
  };
}

/** `conntrack -L expect` of a node without the ticking timeout, and the timeout. */
async function kernelExpectation(node: Node): Promise<{ line: string; timeout: number }> {
  const out = (await node.ns.execOk(REFERENCE_CONNTRACK, ['-L', 'expect'])).stdout.toString().split('\n').filter(Boolean);
  assert.equal(out.length, 1, out.join('\n'));
  const [, timeout, line] = /^(\d+) (.*)$/.exec(out[0]!)!;
  return { line: line!, timeout: Number(timeout) };
}

/** Whether a node's kernel has an expectation. */
async function hasExpectation(node: Node): Promise<boolean> {
  return (await node.ns.execOk(REFERENCE_CONNTRACK, ['-L', 'expect'])).stdout.length > 0;
}

/** The backup's kernel expectation equals the primary's (tuple, mask, master, helper, class, flags; timeout ±10 s). */
async function assertSameExpectation(primary: Node, backup: Node): Promise<void> {
  const original = await kernelExpectation(primary);
  const copy = await kernelExpectation(backup).catch(async (err: Error) => assert.fail(`${err.message}\n${await readFile(backup.log, 'utf8')}`));
  assert.equal(copy.line, original.line);
  assert.ok(Math.abs(copy.timeout - original.timeout) <= 10, `timeout ${copy.timeout}, the primary's ${original.timeout}`);
}

/**
 * `-c` on the backup (a C backup also needs `-c expect`: defect 20 of
 * docs/1.4.7-defects.md): its kernel then has the primary's expectation
 * (assertSameExpectation).
 */
async function commitExpectation(r: Replicated): Promise<void> {
  await client(r.backup, '-c');
  if (r.backup.impl === 'c') await client(r.backup, '-c', 'expect');
  // The C client may return before the C daemon's commit is over.
  await until(() => hasExpectation(r.backup), 5000);
  await assertSameExpectation(r.primary, r.backup);
}

/** The lines a node's LogFile holds after `since` bytes, without their timestamps and pids. */
async function logLines(node: Node, since = 0): Promise<string[]> {
  return (await readFile(node.log, 'utf8')).slice(since).split('\n').filter(Boolean).map((l) => l.replace(/^\[[^\]]*\] \(pid=\d+\) /, ''));
}

/** `-n` on the backup; the primary's log then tells the resync request and the bulk send, in 1.4.7's words. */
async function resyncLog(r: Replicated): Promise<string[]> {
  const since = (await readFile(r.primary.log)).length;
  await client(r.backup, '-n');
  const wanted = ['[notice] resync requested by other node', '[notice] sending bulk update'];
  let lines: string[] = [];
  await until(async () => (lines = await logLines(r.primary, since)).length >= wanted.length);
  assert.deepEqual(lines, wanted);
  return lines;
}

let reference: Promise<Replicated['texts']> | undefined;
/** The C daemons' texts and resync log with a C primary and a C backup. */
function referenceTexts(t: TestContext): Promise<Replicated['texts']> {
  reference ??= replicateExpectation(t, ['c', 'c']).then(async (r) => {
    await resyncLog(r);
    return r.texts;
  });
  return reference;
}

describe('ExpectationSync', { concurrency: true }, () => {
  test('C primary → C backup: the reference texts; a resync request and bulk send are logged', async (t) => {
    const texts = await referenceTexts(t);
    assert.match(texts.external[0]!, new RegExp(`^proto=6 src=${HOST} dst=${HOST} sport=0 dport=${DATA_PORT} .* helper=ftp$`));
  });

  for (const impls of [['ours', 'c'], ['c', 'ours'], ['ours', 'ours']] as const) {
    test(`${impls[0]} primary → ${impls[1]} backup: -i/-e expect as 1.4.7, -c commits the expectation, -n is logged`, async (t) => {
      const expected = await referenceTexts(t);
      const r = await replicateExpectation(t, [...impls]);
      assert.deepEqual(r.texts, expected);
      await commitExpectation(r);
      if (impls[0] === 'ours') await resyncLog(r);
      if (impls[1] === 'ours') {
        const log = await logLines(r.backup);
        assert.ok(log.includes('[notice] Committed 1 new expectations'), log.join('\n'));
      }
    });
  }

  test('C primary → our backup with DisableExternalCache: the expectation goes straight into the kernel after its master', async (t) => {
    const [primary, backup] = await announce(t, ['c', 'ours'], { ...SETUP, disableExternalCache: true });
    assert.ok(await until(() => hasExpectation(backup), 30_000), await readFile(backup.log, 'utf8'));
    await assertSameExpectation(primary, backup);
    assert.equal(await client(backup, '-e', 'expect'), '');
    assert.match(await client(backup, '-s', 'expect'), /external inject:\n.*created:\s+1\s/);
  });
});
