/**
 * Differential testing: the reference conntrack-tools 1.4.7 binary and the
 * command under test run the same argv against the same kernel state, inside
 * one throw-away network namespace, and must agree on stdout, stderr and the
 * exit status — byte for byte after a small, explicit set of normalizations:
 *
 *  - the banner `conntrack v1.4.7 (conntrack-tools)` becomes the subject's
 *    (`conntrack v<package.json version> (conntrack-ts)`), and `Version 1.4.7`
 *    in the usage text becomes `Version <version>` (spec: our own name and
 *    version in the same shape, everything after it matches);
 *  - `Usage: ARGV0` — the usage line prints argv[0] as invoked, which is
 *    `/usr/sbin/conntrack` for one and a node script for the other;
 *  - "ticking" numbers (remaining timeouts, delta-time) are lifted out of the
 *    text and compared with a tolerance of the seconds that passed between the
 *    two observations, plus one for rounding (a loaded machine stretches it;
 *    CT_DIFF_TICK_TOLERANCE sets a minimum, default 1);
 *  - when the state had to be rebuilt (commands that change the table), the
 *    conntrack ids, which the kernel derives from object addresses, are masked.
 *
 * Read-only commands run one after the other against the same state (the dump
 * order is a property of the namespace, so it is the same for both). Commands
 * that change the table (-I -A -U -D -F -R) run on a freshly built state each:
 * setup, reference, snapshot, flush, setup again, subject, snapshot — and the
 * two resulting tables must agree as well. Rebuilding in the same namespace
 * keeps the dump order: the hash depends on the namespace, and entries are
 * inserted in the same order.
 *
 * Env: CT_UNDER_TEST="cmd args..." replaces the command under test (default:
 * `node <repo>/bin/conntrack.js`); CT_UNDER_TEST=/usr/sbin/conntrack runs every
 * case reference-vs-reference, which validates the harness itself.
 * CT_REFERENCE overrides the reference binary path.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { createNetns, REFERENCE_CONNTRACK, type ExecResult, type Netns } from '../kernel/netns';

export const REPO_ROOT = path.resolve(__dirname, '../../..');
export const REFERENCE_BANNER = 'conntrack v1.4.7 (conntrack-tools)';
const REFERENCE_VERSION = '1.4.7';
const MIN_TICK_TOLERANCE = Number(process.env.CT_DIFF_TICK_TOLERANCE ?? 1);

/** A conntrack implementation the harness can run. */
export interface Command {
  argv: readonly string[];
  banner: string;
  version: string;
}

export const reference: Command = {
  argv: [REFERENCE_CONNTRACK],
  banner: REFERENCE_BANNER,
  version: REFERENCE_VERSION,
};

let cachedSubject: Command | undefined;

/**
 * The command under test. Throws (the case fails, it is not skipped) when our
 * CLI has not been built.
 */
export function subject(): Command {
  if (cachedSubject) return cachedSubject;
  const override = process.env.CT_UNDER_TEST;
  if (override) {
    const argv = override.trim().split(/\s+/);
    const v = spawnSync(argv[0], [...argv.slice(1), '-V'], { encoding: 'utf8' });
    const banner = (v.stdout ?? '').trim();
    const version = /^\S+ v(\S+) /.exec(banner)?.[1];
    if (v.status !== 0 || !version) {
      throw new Error(`CT_UNDER_TEST=${override}: \`-V\` did not print a banner (status ${v.status}): ${v.stderr}`);
    }
    cachedSubject = { argv, banner, version };
  } else {
    const script = path.join(REPO_ROOT, 'bin/conntrack.js');
    if (!existsSync(script)) {
      throw new Error(
        `the command under test does not exist: ${script} (build conntrack-ts first; ` +
          'CT_UNDER_TEST=/usr/sbin/conntrack checks the harness against the reference)',
      );
    }
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    cachedSubject = {
      argv: [process.execPath, script],
      banner: `conntrack v${pkg.version} (conntrack-ts)`,
      version: pkg.version,
    };
  }
  return cachedSubject;
}

/** Runs `cmd argv` in the namespace, behind `wrap` (a command prefix such as `setpriv …`) if given. */
export function runConntrack(ns: Netns, cmd: Command, argv: readonly string[], stdin?: string, wrap: readonly string[] = []): Promise<ExecResult> {
  const [program, ...args] = [...wrap, ...cmd.argv, ...argv];
  return ns.exec(program!, args, stdin === undefined ? {} : { input: stdin });
}

// ---------------------------------------------------------------------------
// Normalization

/** Text with its ticking numbers lifted out, by kind, in order of appearance. */
export interface Normalized {
  text: string;
  ticks: Record<string, number[]>;
}

/**
 * Ticking fields. Each regex has three groups: text before, the number, text after;
 * the number is replaced by `<kind>`.
 */
const TICKING: readonly (readonly [kind: string, re: RegExp])[] = [
  // default and extended lines: [timestamp\t] [event] [l3 name num] l4name num TIMEOUT ...
  [
    'timeout',
    /^((?:\[[0-9. ]+\]\t)?(?: *\[(?:NEW|UPDATE|DESTROY)\] )?(?:(?:ipv4|ipv6|unknown) +\d+ )?[a-z0-9]+ +\d+ )(\d+)( )/gm,
  ],
  // expectation lines start with the timeout
  ['timeout', /^((?:\[[0-9. ]+\]\t)?(?: *\[(?:NEW|UPDATE|DESTROY)\] )?)(\d+)( proto=)/gm],
  ['timeout', /^(-[ADU] -t )(\d+)( )/gm],
  ['timeout', /(<timeout>)(\d+)(<\/timeout>)/g],
  ['delta-time', /( delta-time=)(\d+)( |$)/gm],
  ['delta-time', /(<deltatime>)(\d+)(<\/deltatime>)/g],
];

/**
 * Conntrack ids (`-o id`, XML <id>): derived from kernel object addresses, so
 * only stable while the state is not rebuilt. ICMP ids (`code=N id=N`) are not ids.
 */
const IDS: readonly RegExp[] = [/(?<!code=\d+)( id=)(\d+)( |$)/gm, /(<id>)(\d+)(<\/id>)/g];

export function liftTicks(text: string): Normalized {
  const ticks: Record<string, number[]> = {};
  for (const [kind, re] of TICKING) {
    text = text.replace(re, (_m, before: string, n: string, after: string) => {
      (ticks[kind] ??= []).push(Number(n));
      return `${before}<${kind}>${after}`;
    });
  }
  return { text, ticks };
}

export function maskIds(text: string): string {
  for (const re of IDS) text = text.replace(re, (_m, before: string, _n: string, after: string) => `${before}<id>${after}`);
  return text;
}

/** What the reference printed, as the subject must print it. */
export function rebrand(text: string, from: Command, to: Command): string {
  if (from.banner === to.banner && from.version === to.version) return text;
  return text
    .split(from.banner)
    .join(to.banner)
    .replace(/^(Command line interface for the connection tracking system\. Version )(\S+)$/m, (m, p: string, v: string) =>
      v === from.version ? p + to.version : m,
    );
}

/** The usage line prints argv[0] as invoked. */
export function maskArgv0(text: string): string {
  return text.replace(/^Usage: \S+ \[commands\] \[options\]$/m, 'Usage: ARGV0 [commands] [options]');
}

function assertTicksClose(what: string, expected: Normalized, actual: Normalized, tolerance: number): void {
  for (const kind of new Set([...Object.keys(expected.ticks), ...Object.keys(actual.ticks)])) {
    const e = expected.ticks[kind] ?? [];
    const a = actual.ticks[kind] ?? [];
    assert.equal(a.length, e.length, `${what}: number of ${kind} fields`);
    const off = e.findIndex((v, i) => Math.abs(v - a[i]) > tolerance);
    assert.ok(
      off < 0,
      `${what}: ${kind} #${off} differs by more than ${tolerance}: reference ${e[off]}, subject ${a[off]}\n` +
        `reference: ${JSON.stringify(e)}\nsubject:   ${JSON.stringify(a)}`,
    );
  }
}

/** Compares two texts after the shared normalizations. */
export function assertSameText(
  what: string,
  expected: string,
  actual: string,
  opts: { maskIds: boolean; tickTolerance: number; normalize?: ((s: string) => string) | undefined },
): void {
  const prep = (s: string): Normalized => {
    let t = maskArgv0(s);
    if (opts.maskIds) t = maskIds(t);
    if (opts.normalize) t = opts.normalize(t);
    return liftTicks(t);
  };
  const e = prep(expected);
  const a = prep(actual);
  assert.equal(a.text, e.text, `${what} differs`);
  assertTicksClose(what, e, a, opts.tickTolerance);
}

/** Options that make our dump filter on tuple fields in the kernel, family aside. */
const TUPLE_FILTER_OPTIONS = /^(-p|--proto|--protonum|--sport|--dport|--orig-port-(src|dst)|--reply-port-(src|dst)|--icmp-(type|code|id)|--port-(src|dst))(=|$)/;

/**
 * Our one deliberate ordering difference (README "Differences from 1.4.7"):
 * without -f, a dump filtered on tuple fields runs once per family, because
 * the kernel compares tuples only in single-family dumps, so IPv4 entries
 * come first and IPv6 ones after, each family in kernel order; 1.4.7
 * interleaves the families in hash order. For such command lines both
 * outputs are regrouped the same way (entries within a family keep their
 * order, so that is still compared exactly).
 */
export function familySplit(argv: readonly string[]): ((text: string) => string) | undefined {
  if (argv.some((a) => a === '-f' || a.startsWith('--family'))) return undefined;
  return argv.some((a) => TUPLE_FILTER_OPTIONS.test(a)) ? groupByFamily : undefined;
}

/** Entry lines of the text, XML and save formats. */
const ENTRY_LINE = /src=|<flow>|^-[AID] /;
const IPV6_LINE = /\bipv6\b|src=[0-9a-f]*:[0-9a-f:]*|^-[AID] .*-s [0-9a-f]*:/;

/** Moves the IPv6 entry lines, in order, after the last IPv4 entry line. */
export function groupByFamily(text: string): string {
  const lines = text.split('\n');
  const v6 = lines.filter((l) => ENTRY_LINE.test(l) && IPV6_LINE.test(l));
  if (v6.length === 0) return text;
  const rest = lines.filter((l) => !(ENTRY_LINE.test(l) && IPV6_LINE.test(l)));
  let at = rest.length;
  while (at > 0 && !ENTRY_LINE.test(rest[at - 1]!)) at--;
  if (at === 0) at = lines.findIndex((l) => ENTRY_LINE.test(l));
  rest.splice(at, 0, ...v6);
  return rest.join('\n');
}

// ---------------------------------------------------------------------------
// Cases

export interface DiffCaseSpec {
  name: string;
  /**
   * Builds the kernel state (entries, rules, sysctls, traffic). Called twice for
   * mutating commands. What it returns is handed to argv when argv is a function
   * (e.g. to name the port of a kernel-chosen flow).
   */
  setup?: (ns: Netns) => Promise<unknown>;
  argv: readonly string[] | ((state: unknown) => readonly string[]);
  stdin?: string;
  /** A command prefix both tools run behind, e.g. `setpriv` dropping privileges (state is built and read without it). */
  wrap?: readonly string[];
  /** Extra normalization applied to stdout and stderr of both sides (documents a known nondeterminism). */
  normalize?: (text: string) => string;
  /** Whether argv changes the table (default: inferred from the command option). */
  mutates?: boolean;
  /**
   * For a 1.4.7 defect the spec's policy fixes (e.g. D7): the reference's
   * result turned into what the fixed tool prints and returns.
   */
  fixed?: (reference: ExecResult) => ExecResult;
}

const MUTATING = new Set(['-I', '-A', '-U', '-D', '-F', '-R', '--create', '--add', '--update', '--delete', '--flush', '--load-file']);

function isMutating(spec: DiffCaseSpec): boolean {
  if (spec.mutates !== undefined) return spec.mutates;
  if (typeof spec.argv === 'function') throw new Error(`${spec.name}: argv is a function: say whether it mutates`);
  return spec.argv.some((a) => MUTATING.has(a) || /^-[IAUDFR]./.test(a));
}

function argvOf(spec: DiffCaseSpec, state: unknown): readonly string[] {
  return typeof spec.argv === 'function' ? spec.argv(state) : spec.argv;
}

interface Side {
  argv: readonly string[];
  result: ExecResult;
  table?: string;
  /** performance.now() when this side's state was observed first and last. */
  from: number;
  to: number;
}

/**
 * The table as a sorted list of save and extended lines (save carries the
 * status bits and the protocol state, the extended line the mark, zone and
 * use) and the expectations of both families; sorting makes it independent of the order entries were modified in.
 * Lines sort by their text without ticking numbers, so a timeout that ticked
 * on one side cannot reorder them.
 */
export async function snapshot(ns: Netns): Promise<string> {
  const listings = await Promise.all(
    [['-L', '-o', 'save'], ['-L', '-o', 'extended'], ['-L', 'expect'], ['-L', 'expect', '-f', 'ipv6']].map((argv) =>
      runConntrack(ns, reference, argv),
    ),
  );
  const lines = listings.flatMap((r) => r.stdout.toString('latin1').split('\n'));
  return (
    lines
      .filter((l) => l !== '')
      .map((line) => ({ line, key: liftTicks(line).text }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .map((l) => l.line)
      .join('\n') + '\n'
  );
}

/** Empties the conntrack and expectation tables of the namespace. */
export async function resetState(ns: Netns): Promise<void> {
  await runConntrack(ns, reference, ['-F']);
  await runConntrack(ns, reference, ['-F', 'expect']);
}

async function runSide(
  ns: Netns,
  cmd: Command,
  spec: DiffCaseSpec,
  state: unknown,
  build: 'no' | 'fresh' | 'rebuild',
): Promise<Side> {
  const from = performance.now();
  if (build === 'rebuild') await resetState(ns);
  if (build !== 'no') state = await spec.setup?.(ns);
  const argv = argvOf(spec, state);
  const result = await runConntrack(ns, cmd, argv, spec.stdin, spec.wrap);
  const table = build === 'no' ? undefined : await snapshot(ns);
  return { argv, result, table, from, to: performance.now() };
}

/**
 * How far apart a ticking number may be on the two sides: the seconds between
 * the observations compared (both runs on one state; or, on a rebuilt state,
 * the longer of the two build-to-snapshot spans), plus one for rounding.
 */
function tickTolerance(ref: Side, got: Side, mutating: boolean): number {
  const spanMs = mutating ? Math.max(ref.to - ref.from, got.to - got.from) : got.to - ref.from;
  return Math.max(MIN_TICK_TOLERANCE, Math.ceil(spanMs / 1000) + 1);
}

/**
 * Runs one differential case; throws an assertion error on any difference.
 * `log` receives the reference's transcript (diffCase passes it to the test's
 * diagnostics when CT_DIFF_VERBOSE is set).
 */
export async function runDiff(spec: DiffCaseSpec, log?: (line: string) => void): Promise<void> {
  const sub = subject();
  const mutating = isMutating(spec);
  const ns = await createNetns('diff');
  try {
    const state = mutating ? undefined : await spec.setup?.(ns);
    const ref = await runSide(ns, reference, spec, state, mutating ? 'fresh' : 'no');
    if (spec.fixed) ref.result = spec.fixed(ref.result);
    const got = await runSide(ns, sub, spec, state, mutating ? 'rebuild' : 'no');
    const split = familySplit(got.argv);
    const normalize = split && spec.normalize ? (t: string): string => split(spec.normalize!(t)) : (split ?? spec.normalize);
    const opts = { maskIds: mutating, tickTolerance: tickTolerance(ref, got, mutating), normalize };
    const cmdline = `conntrack ${got.argv.join(' ')}`;
    const refErr = ref.result.stderr.toString('latin1');
    log?.(`${cmdline} -> status ${ref.result.status}\n${ref.result.stdout.toString('latin1')}${refErr}`);
    for (const [who, side] of [['reference', ref], ['subject', got]] as const) {
      assert.ok(!side.result.timedOut, `${cmdline}: the ${who} hung and was killed (stderr: ${side.result.stderr.toString('latin1').trim()})`);
    }
    assertSameText(`${cmdline}: stderr`, rebrand(refErr, reference, sub), got.result.stderr.toString('latin1'), opts);
    const refOut = ref.result.stdout.toString('latin1');
    assertSameText(`${cmdline}: stdout`, rebrand(refOut, reference, sub), got.result.stdout.toString('latin1'), opts);
    assert.deepEqual(
      { status: got.result.status, signal: got.result.signal },
      { status: ref.result.status, signal: ref.result.signal },
      `${cmdline}: exit status differs (reference stderr: ${refErr.trim()})`,
    );
    if (mutating) assertSameText(`${cmdline}: resulting table`, ref.table!, got.table!, { ...opts, normalize: undefined });
  } finally {
    await ns.destroy();
  }
}

/** Registers a node:test test for one differential case. */
export function diffCase(spec: DiffCaseSpec): void {
  test(spec.name, (t) => runDiff(spec, process.env.CT_DIFF_VERBOSE ? (line) => t.diagnostic(line) : undefined));
}
