/**
 * Checks of the conntrackd harness itself: its masks (pure), and that its
 * comparisons do fail when two daemons differ — two reference daemons whose
 * configs differ by one Filter must not pass as equal.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withNetns } from '../kernel/netns';
import {
  assertPairings,
  assertSameFile,
  createFlows,
  Daemon,
  deleteFlows,
  LIBRARY_FLOWS,
  loadProtocolModules,
  maskDaemonText,
  referenceConntrackd,
  settle,
  sortLines,
  type Pair,
} from './conntrackd-harness';

test('masks: log dates and pids, destroyed-flow dates, entry ages, uptime; nothing else', () => {
  const text =
    '[Mon Dec  7 01:25:14 2026] (pid=6059) [notice] initialization completed\n' +
    'Sun Nov 22 08:26:36 2026\ttcp      6 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 mark=5\n' +
    'udp      17 src=1.1.1.1 dst=2.2.2.2 sport=1 dport=2 [UNREPLIED] mark=0 [active since 17s]\n' +
    'daemon uptime: 3 min\n' +
    'connections created:\t\t           2\tfailed:\t           0\n';
  assert.equal(
    maskDaemonText(text),
    '[DATE] (pid=PID) [notice] initialization completed\n' +
      'DATE\ttcp      6 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 mark=5\n' +
      'udp      17 src=1.1.1.1 dst=2.2.2.2 sport=1 dport=2 [UNREPLIED] mark=0 [active since Ns]\n' +
      'daemon uptime: UPTIME\n' +
      'connections created:\t\t           2\tfailed:\t           0\n',
  );
  assert.equal(sortLines('b\na\n\nc\n'), 'a\nb\nc\n');
  assert.equal(sortLines(''), '');
});

test('two daemons that differ are told apart: cache, statistics and stats log', async (t) => {
  await loadProtocolModules();
  const ns = await withNetns(t, 'ctd-selfcheck');
  await createFlows(ns, LIBRARY_FLOWS);
  const ref = await Daemon.start(ns, referenceConntrackd);
  t.after(() => ref.dispose());
  const sub = await Daemon.start(ns, referenceConntrackd, { general: 'Filter {\n\t\tProtocol Ignore {\n\t\t\tUDP\n\t\t}\n\t}' });
  t.after(() => sub.dispose());
  const pair: Pair = { ref, sub };
  await assert.rejects(assertPairings(pair, ['-i'], { sort: true }), /differs/);
  await assert.rejects(assertPairings(pair, ['-s']), /differs/);
  // Where the two agree (neither caches expectations), the same comparison passes.
  await assertPairings(pair, ['-i', 'expect']);
  await deleteFlows(ns, LIBRARY_FLOWS);
  assert.ok(await settle(async () => (await sub.file('statsLog')).split('\n').length > 3), 'destroyed flows were logged');
  await assert.rejects(assertSameFile(pair, 'statsLog', { sort: true }), /statsLog differs/);
});
