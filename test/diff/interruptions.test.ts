/**
 * Commands cut short on a big table, the reference and ours under the same cut:
 *  - the reader goes away after the first line (`conntrack -L | head -1`):
 *    both die of SIGPIPE, silently;
 *  - SIGINT or SIGTERM in the middle of `-L` and `-D`: both die of the
 *    signal. Ours must leave only complete lines (1.4.7 loses its stdio
 *    buffer, which ends mid-line: a defect we do not copy), and every entry
 *    `-D` printed must be gone while no entry it did not match is;
 *  - SIGINT or SIGTERM stopping `-E` during a mass delete: both exit 0 and
 *    ours counts exactly the lines it printed, all of them complete.
 * The signal goes out when the first output arrives: mid-run for both
 * (the reference writes every 4 KiB, ours every 256 KiB of a 30 MB listing).
 */
import { describe, before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createNetns, ctFill, REFERENCE_CONNTRACK, type Netns } from '../kernel/netns';
import { reference, subject, type Command } from './framework';

const BIG = 200_000;
const MARKS = 5;
const LIMIT_MS = 60_000;

/** `n` ESTABLISHED tcp entries, marks 0..MARKS-1 in turn. */
function entries(n: number): string[][] {
  return Array.from({ length: n }, (_, i) =>
    `-s 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255} -d 10.200.0.1 -p tcp --sport ${1024 + (i % 60000)} --dport 80 --state ESTABLISHED -t 6000 -m ${i % MARKS}`.split(' '),
  );
}

interface Cut {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `cmd argv` in the namespace and, once its first output arrived, stops
 * reading (`'reader-gone'`) or sends it a signal.
 */
async function cut(ns: Netns, cmd: Command, argv: readonly string[], how: 'reader-gone' | NodeJS.Signals): Promise<Cut> {
  const child = ns.spawn(cmd.argv[0]!, [...cmd.argv.slice(1), ...argv]);
  child.stdin!.end();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stderr!.on('data', (b: Buffer) => err.push(b));
  child.stdout!.on('data', (b: Buffer) => {
    if (how === 'reader-gone') {
      child.stdout!.destroy();
      return;
    }
    if (out.length === 0) child.kill(how);
    out.push(b);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), LIMIT_MS);
  const [status, signal] = (await new Promise((resolve) => child.once('exit', (...a) => resolve(a)))) as [number | null, NodeJS.Signals | null];
  clearTimeout(timer);
  // 'exit' can come before the pipes are drained.
  if (!child.stderr!.readableEnded) await new Promise((resolve) => child.stderr!.once('close', resolve));
  if (how !== 'reader-gone' && !child.stdout!.readableEnded) await new Promise((resolve) => child.stdout!.once('close', resolve));
  assert.notEqual(signal, 'SIGKILL', `${argv.join(' ')} did not end within ${LIMIT_MS} ms`);
  return { status, signal, stdout: Buffer.concat(out).toString('latin1'), stderr: Buffer.concat(err).toString('latin1') };
}

/** Every line ends with a newline and passes `complete`; returns the lines. */
function completeLines(text: string, complete: RegExp): string[] {
  assert.ok(text.length > 0, 'printed nothing before the cut');
  assert.ok(text.endsWith('\n'), `the last line is cut: ...${JSON.stringify(text.slice(-80))}`);
  const lines = text.slice(0, -1).split('\n');
  const bad = lines.find((line) => !complete.test(line));
  assert.equal(bad, undefined, 'a line is incomplete');
  return lines;
}

const how = (c: Cut): { status: number | null; signal: NodeJS.Signals | null } => ({ status: c.status, signal: c.signal });

/** The original tuple of a default-format line: what identifies the entry. */
const tupleOf = (line: string): string => /src=\S+ dst=\S+ sport=\d+ dport=\d+/.exec(line)![0];

async function listMark(ns: Netns, mark: number): Promise<string[]> {
  const r = await ns.execOk(REFERENCE_CONNTRACK, ['-L', '-m', String(mark)]);
  return r.stdout.toString().split('\n').filter((l) => l !== '');
}

describe(`-L on ${BIG} entries, cut short`, () => {
  let ns: Netns;
  before(async () => {
    ns = await createNetns('cut');
    await ctFill(ns, entries(BIG));
  });
  after(() => ns?.destroy());

  for (const argv of [['-L'], ['-L', '-o', 'xml'], ['-L', '-o', 'save']]) {
    test(`conntrack ${argv.join(' ')} | head -1: silent death by SIGPIPE, as the reference`, async () => {
      const ref = await cut(ns, reference, argv, 'reader-gone');
      const ours = await cut(ns, subject(), argv, 'reader-gone');
      assert.deepEqual(how(ref), { status: null, signal: 'SIGPIPE' }, 'the reference');
      assert.deepEqual(how(ours), how(ref));
      assert.equal(ours.stderr, '');
    });
  }

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    test(`${signal} during conntrack -L: the reference's status, complete lines only`, async () => {
      const ref = await cut(ns, reference, ['-L'], signal);
      const ours = await cut(ns, subject(), ['-L'], signal);
      assert.deepEqual(how(ours), how(ref));
      assert.equal(ours.stderr, ref.stderr);
      const lines = completeLines(ours.stdout, /^tcp +6 \d+ ESTABLISHED src=.* mark=\d use=1$/);
      assert.ok(lines.length < BIG, 'the signal came after the end');
    });
  }
});

describe('-D cut short by a signal', () => {
  const N = 100_000;
  /** A namespace with N entries, `-D -m 1` in it cut by `signal`; what it printed and what is left. */
  async function deleteCut(cmd: Command, signal: NodeJS.Signals): Promise<{ cut: Cut; left: Map<number, string[]> }> {
    const ns = await createNetns('cutdel');
    try {
      await ctFill(ns, entries(N));
      const c = await cut(ns, cmd, ['-D', '-m', '1'], signal);
      const left = new Map<number, string[]>();
      for (let mark = 0; mark < MARKS; mark++) left.set(mark, await listMark(ns, mark));
      return { cut: c, left };
    } finally {
      await ns.destroy();
    }
  }

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    test(`${signal} during conntrack -D -m 1: the reference's status; what ours printed is gone, nothing else is`, async () => {
      const ref = await deleteCut(reference, signal);
      const ours = await deleteCut(subject(), signal);
      assert.deepEqual(how(ours.cut), how(ref.cut));
      assert.deepEqual(how(ref.cut), { status: null, signal }, 'the reference was still deleting');
      const printed = completeLines(ours.cut.stdout, /^tcp +6 \d+ ESTABLISHED src=.* mark=1 use=\d+$/);
      for (const mark of [0, 2, 3, 4]) assert.equal(ours.left.get(mark)!.length, N / MARKS, `entries with mark ${mark} were deleted`);
      const left = new Set(ours.left.get(1)!.map(tupleOf));
      assert.equal(printed.filter((line) => left.has(tupleOf(line))).length, 0, 'printed as deleted but still there');
      assert.ok(left.size > 0, 'the signal came after the end');
    });
  }
});

describe('-E stopped during a mass delete', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    test(`${signal}: exit 0 as the reference, ours counts exactly the complete lines it printed`, async () => {
      const results: Cut[] = [];
      for (const cmd of [reference, subject()]) {
        const ns = await createNetns('cutev');
        try {
          await ctFill(ns, entries(50_000));
          const listening = cut(ns, cmd, ['-E', '-e', 'DESTROY'], signal);
          // Give the listener time to subscribe: an event is what triggers the signal.
          await new Promise((resolve) => setTimeout(resolve, 500));
          await ns.execOk(REFERENCE_CONNTRACK, ['-D']);
          results.push(await listening);
        } finally {
          await ns.destroy();
        }
      }
      const [ref, ours] = results as [Cut, Cut];
      assert.deepEqual(how(ours), how(ref));
      assert.deepEqual(how(ref), { status: 0, signal: null });
      const lines = completeLines(
        ours.stdout,
        /^\[DESTROY\] tcp +6 \d+ ESTABLISHED src=.* \[UNREPLIED\] src=\S+ dst=\S+ sport=\d+ dport=\d+( mark=\d)? \[USERSPACE\] portid=\d+( progname=\S+)?$/,
      );
      assert.match(ours.stderr, new RegExp(`^${subject().banner.replace(/[().]/g, '\\$&')}: ${lines.length} flow events have been shown\\.\\n`));
    });
  }
});
