/**
 * Differential runs of commands that listen until a signal (`conntrack -E`,
 * `conntrack -E expect`): the reference and the subject listen at the same
 * time in one namespace, so both receive the very same events; once both
 * are subscribed the trigger makes the events, and when both have printed
 * the same number of lines and gone quiet, both get the same signal. Their
 * stdout, stderr and exit status must then agree under the normalizations
 * of framework.ts.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { createNetns, type Netns } from '../kernel/netns';
import { assertSameText, reference, rebrand, subject, type Command } from './framework';

export interface ListenerCaseSpec {
  name: string;
  setup?: (ns: Netns) => Promise<unknown>;
  argv: readonly string[];
  /** The multicast groups the command joins, as bind() bits: how we see that it listens. */
  groups: number;
  /** Makes the events, once both sides listen. */
  trigger: (ns: Netns) => Promise<unknown>;
  signal?: 'SIGINT' | 'SIGTERM';
  /** Extra normalization of stdout and stderr of both sides (timestamps printed at arrival). */
  normalize?: (text: string) => string;
}

const NETLINK_NETFILTER = 12;
const QUIET_MS = 500;
const WAIT_MS = 10_000;

interface Listener {
  child: ChildProcess;
  stdout: Buffer[];
  stderr: Buffer[];
  closed: Promise<[number | null, NodeJS.Signals | null]>;
}

function listen(ns: Netns, cmd: Command, argv: readonly string[]): Listener {
  const child = ns.spawn(cmd.argv[0]!, [...cmd.argv.slice(1), ...argv]);
  const l: Listener = { child, stdout: [], stderr: [], closed: once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]> };
  child.stdout!.on('data', (b: Buffer) => l.stdout.push(b));
  child.stderr!.on('data', (b: Buffer) => l.stderr.push(b));
  return l;
}

const text = (chunks: Buffer[]): string => Buffer.concat(chunks).toString('latin1');
const lineCount = (l: Listener): number => text(l.stdout).split('\n').length;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `count` NETLINK_NETFILTER sockets of the namespace are members of all of `groups` (/proc/net/netlink). */
async function subscribed(ns: Netns, groups: number, count: number): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const table = (await ns.execOk('cat', ['/proc/net/netlink'])).stdout.toString();
    const members = table
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(/\s+/))
      .filter((f) => Number(f[1]) === NETLINK_NETFILTER && (Number.parseInt(f[3] ?? '0', 16) & groups) === groups);
    if (members.length >= count) return;
    if (Date.now() > deadline) throw new Error(`only ${members.length} of ${count} listeners joined groups 0x${groups.toString(16)}`);
    await sleep(20);
  }
}

/** Waits until both sides printed as many lines and nothing changed for a while (or gives up; the comparison then shows why). */
async function quiet(a: Listener, b: Listener): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  let last = '';
  let since = Date.now();
  while (Date.now() < deadline) {
    const now = `${lineCount(a)}/${lineCount(b)}`;
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (lineCount(a) === lineCount(b) && Date.now() - since >= QUIET_MS) {
      return;
    }
    await sleep(50);
  }
}

async function stop(l: Listener, signal: NodeJS.Signals): Promise<[number | null, NodeJS.Signals | null]> {
  l.child.kill(signal);
  const timer = setTimeout(() => l.child.kill('SIGKILL'), WAIT_MS);
  try {
    return await l.closed;
  } finally {
    clearTimeout(timer);
  }
}

export async function runListenerDiff(spec: ListenerCaseSpec): Promise<void> {
  const sub = subject();
  const ns = await createNetns('difflisten');
  try {
    await spec.setup?.(ns);
    const ref = listen(ns, reference, spec.argv);
    const got = listen(ns, sub, spec.argv);
    await subscribed(ns, spec.groups, 2);
    await spec.trigger(ns);
    await quiet(ref, got);
    const signal = spec.signal ?? 'SIGINT';
    const [refStatus, gotStatus] = await Promise.all([stop(ref, signal), stop(got, signal)]);
    const cmdline = `conntrack ${spec.argv.join(' ')}`;
    const opts = { maskIds: false, tickTolerance: 3, normalize: spec.normalize };
    assertSameText(`${cmdline}: stderr`, rebrand(text(ref.stderr), reference, sub), text(got.stderr), opts);
    assertSameText(`${cmdline}: stdout`, rebrand(text(ref.stdout), reference, sub), text(got.stdout), opts);
    assert.deepEqual(gotStatus, refStatus, `${cmdline}: exit status and signal differ`);
  } finally {
    await ns.destroy();
  }
}

/** Registers a node:test test for one listener case. */
export function listenerCase(spec: ListenerCaseSpec): void {
  test(spec.name, () => runListenerDiff(spec));
}
