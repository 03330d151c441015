/**
 * Differential test of command-line failures: every case is a command line
 * that conntrack 1.4.7 rejects before sending any request to the kernel. The
 * reference binary runs it inside a throw-away network namespace (a case
 * that unexpectedly succeeded must never touch the host's table); we run
 * parseInvocation() + validateForExecution() + renderProblem() on the same
 * argv. stderr (reference banner replaced by ours) and exit status must be
 * identical. The table of bad input by kind (addresses, ports, protocols,
 * states, …), run through the real command, is bad-input.test.ts; this
 * file keeps the parser's corners, -R files, the D12 crashes, random
 * command lines and the usage text.
 *
 * This tier needs root, iproute2 and /usr/sbin/conntrack; without them it
 * fails, it never skips.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, closeSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseCommandLine, parseInvocation, validateForExecution, type CommandLine, type ParseEnvironment } from '../../src/cli/parse';
import { BANNER, CliProblem, renderProblem, VERSION } from '../../src/cli/problems';
import { protocolHelpText, usageText } from '../../src/cli/usage';

const REFERENCE = '/usr/sbin/conntrack';
const REFERENCE_BANNER = 'conntrack v1.4.7 (conntrack-tools)';
const NETNS = `ctts-cli-${process.pid}`;

interface Case {
  readonly argv: readonly string[];
  /** Content of a -R file; `@FILE` in argv stands for its path. */
  readonly file?: string | Buffer;
  /** Content of standard input (for `-R -`). */
  readonly stdin?: string;
  readonly env?: Readonly<Record<string, string>>;
}

const A = '10.0.0.1';
const B = '10.0.0.2';
const TCP_TUPLE = ['-s', A, '-d', B, '--sport', '1', '--dport', '2'];

const CASES: readonly Case[] = [
  // getopt: unknown options, clusters, permutation
  { argv: ['-L', '-xz'] },
  { argv: ['-xz'] },
  { argv: ['foo', '-xz'] },
  { argv: ['-L', '-zx'] },
  { argv: ['x', 'y', '-zk'] },
  { argv: ['-L', '-', '-x'] },
  { argv: ['-s', '1.1.1.1', '--', '-L'] },
  { argv: ['junk1', '-L', 'junk2'] },
  { argv: ['-zL', 'foo'] },
  { argv: ['-Lx', '-D'] },
  { argv: ['-L', 'conntrack', 'x', '-Lz'] },
  { argv: ['-s', '1.1.1.1', 'junk', '-L'], env: { POSIXLY_CORRECT: '1' } },
  // missing arguments
  { argv: ['-zs'] },
  { argv: ['x', '-s'] },
  { argv: ['-L', '--protonum'] },
  { argv: ['-L', '-s', '1.1.1.1', '--dst'] },
  { argv: ['-L', '-p', 'tcp', '--dport'] },
  // long options: abbreviations, ambiguity, values
  { argv: ['--stats=1'] },
  { argv: ['--or'] },
  { argv: ['--stat'] },
  { argv: ['-L', '--tuple', '1'] },
  { argv: ['-L', '--mask', '1'] },
  { argv: ['-L', '--o', '1'] },
  { argv: ['--f'] },
  { argv: ['--e'] },
  { argv: ['--c'] },
  { argv: ['--a'] },
  { argv: ['-L', '--=x'] },
  { argv: ['-L', '--load'] },
  { argv: ['-L', '-p', 'tcp', '--s', '1'] },
  { argv: ['-L', '-p', 'icmp', '--i', '1'] },
  { argv: ['-L', '-p', 'tcp', '-p', 'udp', '--sp', '1'] },
  { argv: ['-L', '-p', 'tcp', '--dport=', '-x'] },
  // a second -p: options reach the last module by their 1.4.7 code
  { argv: ['-L', '-p', 'tcp', '--state', 'ESTABLISHED', '-p', 'udp'] },
  { argv: ['-L', '-p', 'udp', '-p', 'tcp', '--tuple-port-src', '5'] },
  { argv: ['-D', '-p', 'dccp', '-p', 'sctp', '--role', 'client'] },
  // protocol options exist only after -p
  { argv: ['-L', '-p', 'icmp', '--icmp-type', '8', '--tuple-port-src', '1'] },
  // -R placement
  { argv: ['-R'] },
  { argv: ['-L', '-R', 'x'] },
  { argv: ['--load-file'] },
  // commands and tables
  { argv: ['-L', '--dump=expect'] },
  { argv: ['-L', '-D', 'foo'] },
  { argv: ['-S', 'dying'] },
  { argv: ['-h', 'dying'] },
  { argv: ['-V', 'unconfirmed'] },
  { argv: ['-L', 'expect', '-p', 'tcp'] },
  { argv: ['-I', 'expect'] },
  { argv: ['-E', 'expect', '-e', 'NEW'] },
  // addresses
  { argv: ['-L', '-s', '1.2.65536'] },
  { argv: ['-L', '-s', '0x'] },
  { argv: ['-L', '-s', '1.2.3.4/-1'] },
  { argv: ['-L', '-s', '::1/64', '-d', '1.1.1.1'] },
  { argv: ['-L', '-d', '1.1.1.1', '-s', '::1/200'] },
  { argv: ['-L', '-q', '1.2.3.4/32'] },
  { argv: ['-L', '--mask-src', '1.2.3.4/32'] },
  { argv: ['-L', '-s', `1.2.3.4${'a'.repeat(60)}`] },
  { argv: ['-L', '-s', '1.2.3.4/99999999999'] },
  { argv: ['-L', '--tuple-src', '1.1.1.1'] },
  { argv: ['-I', 'expect', '--tuple-src', 'x'] },
  { argv: ['-L', '-s', '1.2.3.4 trailing', '-d', '::1'] },
  // NAT arguments
  { argv: ['-L', '-n', '[]:80'] },
  { argv: ['-L', '-n', '1.2.3.4:+80'] },
  { argv: ['-L', '-n', ':80'] },
  { argv: ['-L', '-g', '1.2.3.4/24:80'] },
  { argv: ['-L', '-j', '1.2.3.4/8'] },
  { argv: ['-L', '-n', 'foo'] },
  { argv: ['-L', '-g', '[fe80::1]:80', '-s', '1.1.1.1'] },
  { argv: ['-I', '-p', 'tcp', '-j'] },
  // protocols
  { argv: ['-L', '-p', 'ipv6-icmp', '--icmpv6-type', '1'] },
  { argv: ['-E', '-b', 'x', '-p', 'tcp', '--state', 'FOO'] },
  { argv: ['-L', '-p', 'dccp', '--role', 'server'] },
  { argv: ['-L', '-p', 'tcp', '--state', 'LISTEN', '-t', '1'] },
  // status, event and output lists
  { argv: ['-L', '-u', '!'] },
  { argv: ['-L', '-u', 'A,!FOO,B'] },
  { argv: ['-L', '-u', ',A'] },
  { argv: ['-L', '-u', 'S,D,X'] },
  { argv: ['-L', '-u', 'UNREPLIED,', '-x'] },
  { argv: ['-E', '-e', 'D,FOO'] },
  { argv: ['-L', '-o', 'xml,bogus'] },
  { argv: ['-L', '-o', 's,d,q'] },
  { argv: ['-L', '-o', 'xml', '-o', 'save'] },
  { argv: ['-L', '-o', 'labels', '-o', 'save'] },
  { argv: ['-L', '-o', 'save,userspace', '-u', 'X'] },
  { argv: ['-L', '-a', '1', '-x'] },
  { argv: ['-a', '1', '-s', '1.1.1.1'] },
  // labels
  { argv: ['-U', '--label-del=x', '--label-add', 'a'] },
  // legality
  { argv: ['-s', '1.1.1.1'] },
  { argv: ['-p', 'tcp'] },
  { argv: ['--reply-zone', '1', '--orig-zone', '2'] },
  { argv: ['-I', '-p', 'tcp', '-s', A, '-d', B] },
  { argv: ['-I', '-p', 'dccp', '-s', A, '-d', B, '-t', '1', '--state', 'OPEN', '--role', 'c', '--reply-port-src', '1'] },
  { argv: ['-G', 'expect', '-p', 'tcp', '-s', A, '-d', B, '--sport', '0', '--dport', '1'] },
  { argv: ['-I', '-p', 'udp', '-s', A, '-t', '1'] },
  { argv: ['-I', '-p', 'udp', '-r', A, '-t', '1'] },
  { argv: ['-I', '-p', 'udp', '-s', A, '-r', A, '-t', '1'] },
  { argv: ['-G', '-p', 'gre', '-s', A, '-d', B, '--reply-key-src', '1'] },
  { argv: ['-I', '-p', 'icmp', '-s', A, '-d', B, '-t', '1', '--icmp-type', '8'] },
  { argv: ['-A', '-p', 'icmpv6', '-s', '::1', '-d', '::2', '-t', '1', '--icmpv6-code', '0'] },
  { argv: ['-F', '-s', '1.1.1.1'] },
  { argv: ['-E', 'expect', '-o', 'xml', '-e', 'NEW'] },
  { argv: ['-h', '-s', '1.1.1.1'] },
  { argv: ['-V', '-p', 'tcp'] },
  { argv: ['-I', '-s', '1.1.1.0/24', '-d', B, '-p', 'tcp', '--sport', '1', '--dport', '2', '-t', '1', '--state', 'SYN_SENT'] },
  { argv: ['-G', '-p', 'tcp', ...TCP_TUPLE, '-m', '1'] },
  { argv: ['-L', '-p', 'tcp', '--tuple-port-src', '1'] },
  { argv: ['-D', 'expect', '-s', A, '-d', B, '-p', 'udp', '--sport', '1', '--dport', '2'] },
  { argv: ['-I', 'expect', '-s', A, '-d', B, '-p', 'tcp', '-t', '1', '--tuple-src', A, '--tuple-dst', B] },
  { argv: ['-I', '-p', 'tcp', ...TCP_TUPLE, '--state', 'LISTEN', '-t', '1', '-o', 'xml'] },
  { argv: ['-I', '-p', 'tcp', ...TCP_TUPLE, '-n', '1.2.3.4:80', '-t', '1'] },
  { argv: ['-L', 'dying', '-e', 'NEW'] },
  // checks made when the command starts
  { argv: ['-L', '-z', '-c', '1'] },
  { argv: ['-L', '-z', '-u', 'ASSURED'] },
  { argv: ['-L', '-w', '1', '--orig-zone', '2', '-z'] },
  { argv: ['-D', '--mask-dst', '255.0.0.0', '-s', '1.1.1.1'] },
  { argv: ['-E', '--mask-src', '1.2.3.4'] },
  // -R / --load-file
  { argv: ['-R', '/nonexistent/ctts'] },
  { argv: ['--load-file', '/nonexistent/ctts', 'extra'] },
  { argv: ['-R', '@FILE'], file: '-L\n' },
  { argv: ['-R', '@FILE'], file: '-L\n-X\n' },
  { argv: ['-R', '@FILE'], file: '-X\n-L\n' },
  { argv: ['-R', '@FILE'], file: '   ' },
  { argv: ['-R', '@FILE'], file: '"-F" x\n-L' },
  { argv: ['-R', '@FILE'], file: '-I expect\n' },
  { argv: ['-R', '@FILE'], file: '-C expect' },
  { argv: ['-R', '@FILE'], file: `-I expect -s ${A} -d ${B} -p tcp --tuple-src ${A} --tuple-dst ${B} --mask-src ${A} --mask-dst ${B} --sport 1 --dport 1 --mask-port-src 1 --mask-port-dst 1 --tuple-port-src 1 --tuple-port-dst 1 -t 10` },
  { argv: ['-R', '@FILE'], file: '-U -u S\n-L\n' },
  { argv: ['-R', '@FILE'], file: '-D -l foo' },
  { argv: ['-R', '@FILE'], file: '-R x' },
  { argv: ['-R', '@FILE'], file: '-D --mask-src 1.2.3.4\n' },
  { argv: ['-R', '@FILE'], file: '-S\n-L\n' },
  { argv: ['-R', '@FILE'], file: '# comment\n\n  \t\n-E' },
  { argv: ['-R', '@FILE'], file: '-D "-p" \'tcp\'' },
  { argv: ['-R', '@FILE'], file: '-D -p tcp --state "TIME\\"WAIT"' },
  { argv: ['-R', '@FILE'], file: `-F conntrack ${'x '.repeat(252)}\n` },
  { argv: ['-R', '@FILE'], file: `-F conntrack ${'x'.repeat(1024)}\n` },
  { argv: ['-R', '@FILE'], file: Buffer.from('-L\0-F\n') },
  { argv: ['-R', '-'], stdin: '-D\n-L expect\n' },
];

/** 1.4.7 defects we fix (D12): the reference crashes; our message instead. */
const CRASHES: readonly { readonly argv: readonly string[]; readonly stderr: string }[] = [
  { argv: ['-D', '--id'], stderr: "option `--id' requires an argument" },
  { argv: ['-L', '-p', 'icmp', '--id'], stderr: "option `--id' requires an argument" },
  { argv: ['-L', '-p', 'sctp', '--state', 'FOO'], stderr: "unknown SCTP state `FOO'" },
  { argv: ['-I', '-p', 'sctp', '--state', 'HEARTBEAT_SENT'], stderr: "unknown SCTP state `HEARTBEAT_SENT'" },
];

let workdir = '';

before(() => {
  if (!existsSync(REFERENCE)) throw new Error(`reference conntrack not found at ${REFERENCE}: this tier cannot run`);
  const added = spawnSync('ip', ['netns', 'add', NETNS], { encoding: 'utf8' });
  if (added.error || added.status !== 0) {
    throw new Error(`cannot create network namespace ${NETNS} (need root and iproute2): ${added.error ?? added.stderr}`);
  }
  workdir = mkdtempSync(path.join(tmpdir(), 'ctts-cli-diff-'));
});

after(() => {
  spawnSync('ip', ['netns', 'del', NETNS]);
  if (workdir) rmSync(workdir, { recursive: true, force: true });
});

interface Outcome {
  readonly stderr: string;
  readonly status: number | null;
  readonly signal?: NodeJS.Signals | null;
}

/** The argv with `@FILE` replaced by the path of the case's file, written on first use. */
function materialize(c: Case, index: number): string[] {
  if (c.file === undefined) return [...c.argv];
  const file = path.join(workdir, `case-${index}`);
  writeFileSync(file, c.file);
  return c.argv.map((a) => (a === '@FILE' ? file : a));
}

/** The reference's environment: C messages, and getopt permuting unless the case says otherwise. */
function referenceEnv(extra: Readonly<Record<string, string>> | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C', ...extra };
  if (!extra?.POSIXLY_CORRECT) delete env.POSIXLY_CORRECT;
  return env;
}

function runReference(argv: readonly string[], c: Case, index: number): Outcome {
  let stdin: number | 'ignore' = 'ignore';
  if (c.stdin !== undefined) {
    // A regular file: conntrack opens /dev/stdin, which fails on Node's socketpair pipes.
    const file = path.join(workdir, `stdin-${index}`);
    writeFileSync(file, c.stdin);
    stdin = openSync(file, 'r');
  }
  try {
    const r = spawnSync('ip', ['netns', 'exec', NETNS, REFERENCE, ...argv], {
      encoding: 'utf8',
      stdio: [stdin, 'pipe', 'pipe'],
      env: referenceEnv(c.env),
      timeout: 10_000,
    });
    return { stderr: r.stderr.split(REFERENCE_BANNER).join(BANNER), status: r.status, signal: r.signal };
  } finally {
    if (typeof stdin === 'number') closeSync(stdin);
  }
}

function runOurs(argv: readonly string[], c: Case): Outcome {
  const env: ParseEnvironment = { posixlyCorrect: c.env?.POSIXLY_CORRECT !== undefined };
  let warnings = '';
  try {
    const invocation = parseInvocation([REFERENCE, ...argv], env);
    if (invocation.kind === 'single') validateForExecution(invocation.command);
    else {
      const commands: CommandLine[] = [];
      invocation.script.check(
        (line) => (warnings += `${line}\n`),
        // A line of the fast path is an -I/-A, which has nothing to validate before it runs.
        (line) => 'cmd' in line && commands.push(line.cmd),
      );
      for (const command of commands) validateForExecution(command);
    }
  } catch (e) {
    if (!(e instanceof CliProblem)) throw e;
    return { stderr: warnings + renderProblem(e), status: e.exitCode };
  }
  return { stderr: '(parsed and validated without error)', status: null };
}

/** `-R -` reads our own standard input: run the parser in a child whose stdin is the case's input. */
function runOursWithStdin(argv: readonly string[], c: Case, index: number): Outcome {
  const file = path.join(workdir, `our-stdin-${index}`);
  writeFileSync(file, c.stdin!);
  const fd = openSync(file, 'r');
  try {
    const script = `
      const { parseInvocation, validateForExecution } = require(${JSON.stringify(require.resolve('../../src/cli/parse'))});
      const { CliProblem, renderProblem } = require(${JSON.stringify(require.resolve('../../src/cli/problems'))});
      try {
        const inv = parseInvocation(${JSON.stringify([REFERENCE, ...argv])});
        if (inv.kind === 'single') validateForExecution(inv.command);
        else {
          const commands = [];
          inv.script.check((line) => process.stderr.write(line + '\\n'), (cmd) => commands.push(cmd));
          for (const cmd of commands) validateForExecution(cmd);
        }
      } catch (e) {
        if (!(e instanceof CliProblem)) throw e;
        process.stderr.write(renderProblem(e));
        process.exit(e.exitCode);
      }`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', stdio: [fd, 'pipe', 'pipe'] });
    return { stderr: r.stderr, status: r.status };
  } finally {
    closeSync(fd);
  }
}

describe('command-line failures match conntrack 1.4.7', () => {
  CASES.forEach((c, index) => {
    test(`${c.env ? `${Object.keys(c.env).join(' ')} ` : ''}conntrack ${c.argv.join(' ')}${c.file !== undefined ? ` <<< ${JSON.stringify(String(c.file).slice(0, 60))}` : ''}`, () => {
      const argv = materialize(c, index);
      const reference = runReference(argv, c, index);
      assert.notEqual(reference.status, 0, `the reference accepted this command line:\n${reference.stderr}`);
      const ours = c.stdin !== undefined ? runOursWithStdin(argv, c, index) : runOurs(argv, c);
      assert.deepEqual(ours, { stderr: reference.stderr, status: reference.status });
    });
  });
});

describe('1.4.7 crashes (D12) become errors', () => {
  for (const c of CRASHES) {
    test(`conntrack ${c.argv.join(' ')}`, () => {
      const reference = runReference(c.argv, { argv: c.argv }, -1);
      assert.equal(reference.signal, 'SIGSEGV', 'the reference is expected to crash here');
      const ours = runOurs(c.argv, { argv: c.argv });
      assert.deepEqual(ours, {
        stderr: `${BANNER}: ${c.stderr}\nTry \`conntrack -h' or 'conntrack --help' for more information.\n`,
        status: 2,
      });
    });
  }
});

/**
 * Random command lines from a fixed vocabulary (no -E, which never ends):
 * where the reference fails while parsing (exit 2, or one of the two exit-1
 * parse errors) our output must be identical; where it gets past parsing we
 * must not fail; where it crashes (D12) we must fail cleanly. Commands that
 * run, run inside the test namespace.
 */
const FUZZ_VOCABULARY = [
  '-L', '-D', '-I', '-U', '-G', '-A', '-F', '-C', '-S', '-h', '-V', 'expect', 'conntrack', 'dying', 'x', '-s', '-d', '-r',
  '-q', '1.1.1.1', '::1', '10.0.0.0/8', '1.2.3.4:80', '[::1]:5', '-p', 'tcp', 'udp', 'icmp', 'sctp', 'gre', 'dccp',
  'icmpv6', 'igmp', '-t', '5', '-u', 'ASSURED', '!SEEN_REPLY', 'S', '-m', '3/7', '-n', '-g', '-j', '-w', '1',
  '--orig-zone', '--reply-zone', '-z', '-o', 'xml', 'save', 'id,s', '-f', 'ipv4', 'ipv6', '-c', '-i', '--id=4', '-l',
  '--label-add', '--label-del', '-b', '--sport', '--dport', '--state', 'ESTABLISHED', '--reply-port-src',
  '--reply-port-dst', '--icmp-type', '8', '--icmp-code', '0', '--icmp-id', '--tuple-src', '--tuple-dst', '--mask-src',
  '--mask-dst', '255.0.0.0', '--srckey', '--orig-vtag', '--role', 'client', '-a', '--tuple-port-src', '--mask-port-dst',
  '--dump', '--st', '--src', '--sr', '-zL', '-Lz', '-x', '--', '-', '!', '-e', 'NEW', '--icmpv6-type', '128',
];

describe('random command lines are accepted and refused like conntrack 1.4.7', () => {
  let seed = 20251123;
  const random = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let k = 0; k < 150; k++) {
    const argv = Array.from({ length: 1 + random(7) }, () => FUZZ_VOCABULARY[random(FUZZ_VOCABULARY.length)]!);
    test(`conntrack ${argv.join(' ')}`, () => {
      const reference = runReference(argv, { argv }, -1);
      const ours = runOurs(argv, { argv });
      if (reference.signal === 'SIGSEGV') {
        assert.equal(ours.status, 2, 'a crash of 1.4.7 must be a parameter problem here');
        return;
      }
      const parseFailure =
        reference.status === 2 || /cannot combine save output|cannot use --label-add and --label-del/.test(reference.stderr);
      if (parseFailure) assert.deepEqual(ours, { stderr: reference.stderr, status: reference.status });
      else assert.equal(ours.status, null, `we refused what the reference accepted:\n${ours.stderr}`);
    });
  }
});

/** Command lines that print the usage text (and protocol help) on stdout. */
const USAGE_CASES: readonly (readonly string[])[] = [
  [], ['-h'], ['--help'], ['-a', '1'], ['--reply-zone', '1'],
  ...['tcp', 'udp', 'udplite', 'sctp', 'dccp', 'gre', 'icmp', 'ICMPv6', 'igmp', '200', '0', '0x84'].map((p) => ['-h', '-p', p]),
];

describe('usage text and protocol help match conntrack 1.4.7', () => {
  for (const argv of USAGE_CASES) {
    test(`conntrack ${argv.join(' ')}`, () => {
      const r = spawnSync('ip', ['netns', 'exec', NETNS, REFERENCE, ...argv], { encoding: 'utf8', env: referenceEnv(undefined) });
      assert.equal(r.status, 0);
      const cmd = parseCommandLine([REFERENCE, ...argv], { posixlyCorrect: false });
      const stdout = usageText(cmd.argv0) + (cmd.protocol ? protocolHelpText(cmd.protocol) : '');
      assert.equal(stdout, r.stdout.replace('Version 1.4.7\n', `Version ${VERSION}\n`));
      assert.equal(cmd.warnings.map((w) => `${w}\n`).join(''), r.stderr);
    });
  }
});

test('the case list covers at least 120 command lines', () => {
  assert.ok(CASES.length >= 120, `only ${CASES.length} cases`);
});
