import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Conntrack } from '../../src/api/conntrack';
import type { Flow } from '../../src/ctnetlink/flow';
import { makeTraffic, runOk, withNetns } from './netns';
import { until } from './wait';

const TOP = path.resolve(__dirname, '../../../bin/conntrack-top.js');
const TCP = 6;

/** `count` TCP entries from `src` (so group-by src has a known answer). */
function fromSource(src: string, count: number): Flow[] {
  return Array.from({ length: count }, (_, i) => ({
    family: 2,
    orig: { l3: 2, src, dst: '10.6.0.1', proto: TCP, sport: 2000 + i, dport: 22 },
    reply: { l3: 2, src: '10.6.0.1', dst: src, proto: TCP, sport: 22, dport: 2000 + i },
    timeout: 600,
    tcp: { state: 3 },
  }));
}

/** A tmux session running conntrack-top; screen() is what the terminal shows now. */
class Tty {
  constructor(readonly name: string) {}

  static async start(name: string, command: string): Promise<Tty> {
    await runOk('tmux', ['new-session', '-d', '-s', name, '-x', '160', '-y', '30', command]);
    return new Tty(name);
  }

  /** The screen as text; with `escapes`, with the attributes and colours as SGR sequences. */
  async screen(escapes = false): Promise<string> {
    return (await runOk('tmux', ['capture-pane', '-p', ...(escapes ? ['-e'] : []), '-t', this.name])).stdout.toString();
  }

  async keys(...keys: string[]): Promise<void> {
    await runOk('tmux', ['send-keys', '-t', this.name, ...keys]);
  }

  /** Waits (with a deadline, not a fixed sleep) until the screen satisfies `ok`; fails with the last screen. */
  async waitFor(what: string, ok: (screen: string) => boolean, ms = 20_000): Promise<string> {
    let last = '';
    const seen = await until(async () => ok((last = await this.screen())), ms);
    assert.ok(seen, `screen never showed ${what}:\n${last}`);
    return last;
  }

  async kill(): Promise<void> {
    await runOk('tmux', ['kill-session', '-t', this.name]).catch(() => {});
  }
}

/** An SGR sequence that sets a foreground colour (30-37), alone or among attributes. */
const COLOUR = /\x1b\[(?:[\d;]*;)?3[0-7](?:;[\d;]*)?m/;

/** The list rows of a group screen: [group, entries] under the column titles. */
function groupRows(screen: string, title: string): [string, number][] {
  const lines = screen.split('\n');
  const at = lines.findIndex((l) => l.startsWith(`${title} `));
  if (at < 0) return [];
  const rows: [string, number][] = [];
  for (const line of lines.slice(at + 1)) {
    const m = /^(\S+)\s+(\d+)\s/.exec(line);
    if (!m) break;
    rows.push([m[1]!, Number(m[2])]);
  }
  return rows;
}

test('conntrack-top live view in a terminal: real flows, group-by, sort, delete, resize, quit', async (t) => {
  const ns = await withNetns(t, 'toplive');
  const traffic = await makeTraffic(ns, { keepOpen: true, ipv6: false, icmp: false, udp: false });
  t.after(() => traffic.close());
  const ct = Conntrack.open({ netns: ns.name });
  t.after(() => ct.close());
  await Promise.all([...fromSource('10.7.0.1', 3), ...fromSource('10.7.0.2', 1)].map((f) => ct.create(f)));

  const tty = await Tty.start(`ctt-${process.pid}`, `node ${TOP} --netns ${ns.name} --interval 0.5; echo EXITED-$?; sleep 60`);
  t.after(() => tty.kill());

  // Flow mode: the open TCP connection made by real traffic, with its kernel-chosen ports.
  const open = traffic.flows.find((f) => f.open)!;
  await tty.waitFor('the real connection', (s) => s.includes(`${open.src}:${open.sport}`) && s.includes('ESTABLISHED') && /entries \d+ \/ max/.test(s));
  // The counters hint (nf_conntrack_acct is off in a new namespace) is coloured (compare NO_COLOR below).
  assert.match(await tty.screen(true), COLOUR);

  // Group by source: 10.7.0.1 (3 entries) leads; reversed, it is last.
  await tty.keys('g');
  let screen = await tty.waitFor('groups by source', (s) => groupRows(s, 'SRC').length >= 3);
  assert.deepEqual(groupRows(screen, 'SRC')[0], ['10.7.0.1', 3]);
  await tty.keys('r');
  screen = await tty.waitFor('the reversed order', (s) => s.includes('(reversed)') && groupRows(s, 'SRC').at(-1)?.[0] === '10.7.0.1');
  await tty.keys('r');
  await tty.waitFor('the order back', (s) => !s.includes('(reversed)') && groupRows(s, 'SRC')[0]?.[0] === '10.7.0.1');

  // Next key (dst): the 4 made entries share 10.6.0.1.
  await tty.keys('k');
  screen = await tty.waitFor('groups by destination', (s) => groupRows(s, 'DST').length > 0);
  assert.deepEqual(groupRows(screen, 'DST')[0], ['10.6.0.1', 4]);

  // Back to sources (7 more keys cycle round), then delete the selected (first) group after confirming.
  for (let i = 0; i < 7; i++) await tty.keys('k');
  await tty.waitFor('groups by source again', (s) => groupRows(s, 'SRC')[0]?.[0] === '10.7.0.1');
  await tty.keys('d');
  await tty.waitFor('the confirmation', (s) => s.includes('delete the 3 flows of src 10.7.0.1? y/n'));
  await tty.keys('y');
  await tty.waitFor('the deletion', (s) => s.includes('deleted 3 flows') && !groupRows(s, 'SRC').some(([g]) => g === '10.7.0.1'));
  let left = 0;
  for await (const _ of ct.dump({ orig: { src: '10.7.0.1' } })) left++;
  assert.equal(left, 0);
  let kept = 0;
  for await (const _ of ct.dump({ orig: { src: '10.7.0.2' } })) kept++;
  assert.equal(kept, 1, 'only the selected group is deleted');

  // Resize: the status line follows the terminal's new last row.
  await runOk('tmux', ['resize-window', '-t', tty.name, '-x', '100', '-y', '12']);
  await tty.waitFor('the smaller layout', (s) => {
    const lines = s.split('\n');
    return lines.length >= 12 && lines[11]!.includes('q quit') && lines.every((l) => l.length <= 100);
  });

  await tty.keys('q');
  await tty.waitFor('the exit', (s) => s.includes('EXITED-0'));
});

test('conntrack-top live view: NO_COLOR, / filter, s sort by timeout, d on one flow', async (t) => {
  const ns = await withNetns(t, 'toplive2');
  const ct = Conntrack.open({ netns: ns.name });
  t.after(() => ct.close());
  const timeouts = [100, 900, 300];
  await Promise.all([...fromSource('10.7.0.3', 3).map((f, i) => ({ ...f, timeout: timeouts[i] })), ...fromSource('10.7.0.4', 2)].map((f) => ct.create(f)));

  const tty = await Tty.start(`ctt2-${process.pid}`, `NO_COLOR=1 node ${TOP} --netns ${ns.name} --interval 0.5; echo EXITED-$?; sleep 60`);
  t.after(() => tty.kill());
  await tty.waitFor('the flows and the counters hint', (s) => s.includes('10.7.0.4:2001') && s.includes('counters are off'));
  const coloured = await tty.screen(true);
  assert.doesNotMatch(coloured, COLOUR, 'NO_COLOR: no colours');
  assert.match(coloured, /\x1b\[(?:[\d;]*;)?7(?:;[\d;]*)?m/, 'NO_COLOR keeps reverse video');

  // `/` edits the filter (conntrack -L options): only 10.7.0.3's flows stay.
  await tty.keys('/');
  await tty.waitFor('the filter prompt', (s) => s.includes('filter (conntrack -L options'));
  await tty.keys('-l', '--', '-s 10.7.0.3');
  await tty.keys('Enter');
  let screen = await tty.waitFor('the filtered list', (s) => s.includes('filter: -s 10.7.0.3') && !s.includes('10.7.0.4:'));
  assert.equal(screen.match(/10\.7\.0\.3:200\d/g)?.length, 3);

  // `s` twice: by timeout, longest first (ports 2001, 2002, 2000 have 900, 300, 100 s).
  const order = (s: string): string[] => [...s.matchAll(/10\.7\.0\.3:(200\d)/g)].map((m) => m[1]!);
  await tty.keys('s');
  await tty.keys('s');
  screen = await tty.waitFor('the timeout order', (s) => s.includes('sort timeout') && order(s).join() === '2001,2002,2000');

  // `d` on the selected (first) flow, confirmed: that entry leaves the kernel table, the others stay.
  await tty.keys('d');
  await tty.waitFor('the confirmation', (s) => s.includes('delete flow tcp 10.7.0.3:2001 -> 10.6.0.1:22? y/n'));
  await tty.keys('y');
  await tty.waitFor('the deletion', (s) => s.includes('deleted 1 flow') && order(s).join() === '2002,2000');
  const left: number[] = [];
  for await (const f of ct.dump({})) left.push(f.orig.sport!);
  assert.deepEqual(left.sort(), [2000, 2000, 2001, 2002]);

  await tty.keys('q');
  await tty.waitFor('the exit', (s) => s.includes('EXITED-0'));
});
