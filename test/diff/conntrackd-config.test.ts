/**
 * Differential: the config corpus through 1.4.7's conntrackd and through our
 * parser. For each file both must agree on the verdict (the daemon starts,
 * or refuses with an exit status) and on every line of stderr once the date
 * and pid of the log prefix are masked.
 *
 * The C daemon runs in a namespace of the test's own with the corpus link;
 * one that starts is stopped as soon as it says so. Cases run several at a
 * time, each with its own directory and port.
 *
 * Env: CTD_REFERENCE overrides the reference binary path.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { ConfigError, parseConfig, readConfig, type ParseResult } from '../../src/conntrackd/config/parse';
import { withNetns, type Netns } from '../kernel/netns';
import {
  configCorpus,
  configMutations,
  corpusNetnsSetup,
  materializeCase,
  type CorpusCase,
  type CorpusVerdict,
} from './conntrackd-config-corpus';

const REFERENCE = process.env.CTD_REFERENCE ?? '/usr/sbin/conntrackd';
const PARALLEL = 8;
const FIRST_PORT = 14000;

interface Outcome {
  verdict: CorpusVerdict;
  /** Exit status of a refusal. */
  status?: number;
  stderr: string;
}

/** 1.4.7's log line, with the date and pid masked. */
const logLine = (level: string, text: string): string => `[DATE] (pid=PID) [${level}] ${text}\n`;

/** Our parser's outcome, printed the way the daemon prints it (see parse.ts). */
function ours(run: () => { warnings: string[]; modeWarnings: string[] }): Outcome {
  try {
    const { warnings, modeWarnings } = run();
    return { verdict: 'start', stderr: [...warnings, ...modeWarnings].map((w) => logLine('warning', w)).join('') };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const lines = err.warnings.map((w) => logLine('warning', w));
    lines.push(err.plain ? `${err.message}\n` : logLine('ERROR', err.message));
    return { verdict: 'refuse', status: err.exitCode, stderr: lines.join('') };
  }
}

/** How long the C daemon may take to start or refuse; far more than it ever needs. */
const DECISION_MS = 20_000;
const STARTED = '-- starting in console mode --';

/**
 * Runs the C daemon until it has decided: it exits (a refusal), or it prints
 * that it is running, and is then stopped with SIGTERM.
 */
async function reference(ns: Netns, file: string): Promise<Outcome> {
  const child = ns.spawn(REFERENCE, ['-C', file]);
  child.stdin!.end();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let started = false;
  child.stdout!.on('data', (b: Buffer) => {
    out.push(b);
    if (!started && Buffer.concat(out).includes(STARTED)) {
      started = true;
      child.kill('SIGTERM');
    }
  });
  child.stderr!.on('data', (b: Buffer) => err.push(b));
  const timer = setTimeout(() => child.kill('SIGKILL'), DECISION_MS);
  const [status] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  const stderr = Buffer.concat(err).toString('latin1').replace(/^\[[^\]\n]*\] \(pid=\d+\)/gm, '[DATE] (pid=PID)');
  if (started) return { verdict: 'start', stderr };
  // What comes after the config's own lines when the set-up fails.
  const failed = /^\[DATE\] \(pid=PID\) \[ERROR\] (?!parsing config file)[^\n]*\n(?:.*\n)*.*conntrackd cannot start, please review your configuration\n$/m.exec(stderr);
  if (failed) return { verdict: 'fail', status: status ?? -1, stderr: stderr.slice(0, failed.index) };
  return { verdict: 'refuse', status: status ?? -1, stderr };
}

function assertReference(): void {
  assert.ok(existsSync(REFERENCE), `reference daemon ${REFERENCE} not found (apt-get install conntrackd)`);
}

/** Runs `jobs` at most `limit` at a time. */
async function pool<T>(jobs: readonly (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]!();
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return results;
}

/**
 * Runs every case through 1.4.7 and our parser and checks they agree, in a
 * namespace with the corpus link. `keep` may drop a case whose file would
 * reach outside its directory (the system lock file, log file or syslog).
 */
async function compareAll(
  t: TestContext,
  cases: readonly CorpusCase[],
  keep: (parsed: ParseResult | undefined, dir: string) => boolean = () => true,
): Promise<void> {
  assertReference();
  const ns = await withNetns(t, 'ctdcfg');
  for (const args of corpusNetnsSetup()) await ns.execOk('ip', args);
  const interfaces = new Set((await ns.execOk('ls', ['/sys/class/net'])).stdout.toString().split(/\s+/).filter(Boolean));
  const parseOptions = { interfaceExists: (name: string) => interfaces.has(name) };
  const root = await mkdtemp(path.join(tmpdir(), 'ctd-config-'));
  t.after(() => rm(root, { recursive: true, force: true }));

  const jobs = cases.flatMap((c, i) => {
    const dir = path.join(root, String(i));
    const text = materializeCase(c, dir, FIRST_PORT + i);
    let parsed: ParseResult | undefined;
    try {
      parsed = parseConfig(text, parseOptions);
    } catch {
      parsed = undefined;
    }
    if (!keep(parsed, dir)) return [];
    return [
      async () => {
        await mkdir(dir);
        const file = path.join(dir, 'conntrackd.conf');
        await writeFile(file, text, 'latin1');
        const subject = ours(() => parseConfig(text, parseOptions));
        return { c, c1: await reference(ns, file), subject };
      },
    ];
  });
  const outcomes = await pool(jobs, PARALLEL);
  for (const { c, c1, subject } of outcomes) {
    await t.test(c.name, () => {
      if (c.expected) assert.equal(c1.verdict, c.expected, `1.4.7 should ${c.expected}: ${c1.stderr}`);
      // A set-up failure is the daemon's business: the parser's part is to accept the file with the same warnings.
      assert.deepEqual(c1.verdict === 'fail' ? { ...subject, verdict: 'fail', status: c1.status } : subject, c1);
    });
  }
}

test('conntrackd config corpus: 1.4.7 and parseConfig agree', async (t) => {
  const corpus = configCorpus();
  assert.ok(corpus.length >= 60, 'the corpus holds the examples and the edge cases');
  await compareAll(t, corpus);
});

test('conntrackd config, seeded mutations of the corpus: 1.4.7 and parseConfig agree', async (t) => {
  const inside = (file: string | undefined, dir: string): boolean => file === undefined || file.startsWith(dir + path.sep);
  await compareAll(t, configMutations(60, 20261207), (parsed, dir) => {
    // A refusal touches nothing; an accepted file must keep to its directory.
    if (!parsed) return true;
    const { general, stats } = parsed.config;
    return general.lockFile === path.join(dir, 'lock') && inside(general.logFile, dir) && inside(stats?.logFile, dir) && !general.syslog && !stats?.syslog;
  });
});

test('conntrackd config file that cannot be read: 1.4.7 and readConfig agree', async (t) => {
  assertReference();
  const ns = await withNetns(t, 'ctdcfg');
  const root = await mkdtemp(path.join(tmpdir(), 'ctd-config-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  for (const file of [path.join(root, 'missing.conf'), root]) {
    assert.deepEqual(ours(() => readConfig(file)), await reference(ns, file), file);
  }
});
