import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test, type TestContext } from 'node:test';
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
 * as 1.4.7 logs it.
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

/** Both daemons up, the expectation made on the primary and replicated to the backup. */
async function replicateExpectation(t: TestContext, impls: [Impl, Impl]): Promise<Replicated> {
  const [primary, backup] = await bed(t, impls, SETUP);
  await primary.ns.execOk('ip', ['addr', 'add', `${HOST}/32`, 'dev', 'lo']);
  await start(primary);
  await start(backup);
  const lab = await FtpLab.start(primary.ns);
  t.after(() => lab.stop());
  await lab.announce(HOST, CLIENT_PORT, PORT_COMMAND);
  let external: string[] = [];
  const arrived = await until(async () => (external = withoutAges(await client(backup, '-e', 'expect'))).length === 1);
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

/**
 * `-c` on the backup (a C backup also needs `-c expect`: defect 20 of
 * docs/1.4.7-defects.md): its kernel then has the primary's expectation
 * (tuple, mask, master, helper, class, flags; timeout ±10 s).
 */
async function commitExpectation(r: Replicated): Promise<void> {
  await client(r.backup, '-c');
  if (r.backup.impl === 'c') await client(r.backup, '-c', 'expect');
  const original = await kernelExpectation(r.primary);
  // The C client may return before the C daemon's commit is over.
  await until(async () => (await r.backup.ns.execOk(REFERENCE_CONNTRACK, ['-L', 'expect'])).stdout.length > 0, 5000);
  const committed = await kernelExpectation(r.backup).catch(async (err: Error) => assert.fail(`${err.message}\n${await readFile(r.backup.log, 'utf8')}`));
  assert.equal(committed.line, original.line);
  assert.ok(Math.abs(committed.timeout - original.timeout) <= 10, `timeout ${committed.timeout}, the primary's ${original.timeout}`);
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
