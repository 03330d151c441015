import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Conntrack } from '../../src/api/conntrack';
import type { Flow } from '../../src/ctnetlink/flow';
import { run, withNetns, type Netns } from './netns';

const TOP = path.resolve(__dirname, '../../../bin/conntrack-top.js');
const TCP = 6;
const UDP = 17;

/** Source 10.9.S.1 with `count` entries; odd-numbered sources' entries are UDP to port 53, others TCP to 443. */
function flows(source: number, count: number): Flow[] {
  const src = `10.9.${source}.1`;
  const proto = source % 2 ? UDP : TCP;
  const dport = proto === UDP ? 53 : 443;
  return Array.from({ length: count }, (_, i) => ({
    family: 2,
    orig: { l3: 2, src, dst: '10.8.0.1', proto, sport: 1024 + i, dport },
    reply: { l3: 2, src: '10.8.0.1', dst: src, proto, sport: dport, dport: 1024 + i },
    timeout: 600,
    ...(proto === TCP ? { tcp: { state: 3 } } : {}),
    mark: source,
  }));
}

async function fixture(ns: Netns): Promise<void> {
  const ct = Conntrack.open({ netns: ns.name });
  try {
    // 3 sources with 500, 300, 200 entries: every grouping below has a known answer.
    await Promise.all([...flows(1, 500), ...flows(2, 300), ...flows(3, 200)].map((f) => ct.create(f)));
  } finally {
    ct.close();
  }
}

async function topRun(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const r = await run('node', [TOP, ...args]);
  return { code: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

const top = (ns: Netns, args: readonly string[]) => topRun(['--netns', ns.name, '--once', ...args]);

test('conntrack-top --once: groups, top N, NDJSON and filters match the table', async (t) => {
  const ns = await withNetns(t, 'toponce');
  await fixture(ns);

  const bySource = await top(ns, ['--group-by', 'src']);
  assert.equal(bySource.code, 0, bySource.stderr);
  assert.deepEqual(bySource.stdout.split('\n').filter(Boolean).map((l) => l.split(/\s+/).slice(0, 2)), [
    ['SRC', 'ENTRIES'],
    ['10.9.1.1', '500'],
    ['10.9.2.1', '300'],
    ['10.9.3.1', '200'],
  ]);

  const topTwo = await top(ns, ['--group-by', 'src/24', '--top', '2', '-o', 'json']);
  assert.deepEqual(topTwo.stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown), [
    { 'src/24': '10.9.1.0/24', entries: 500, packets: 0, bytes: 0 },
    { 'src/24': '10.9.2.0/24', entries: 300, packets: 0, bytes: 0 },
  ]);

  const byProto = await top(ns, ['--group-by', 'proto', '-o', 'json']);
  assert.deepEqual(byProto.stdout.trim().split('\n').map((l) => JSON.parse(l) as { proto: string; entries: number }).map((r) => [r.proto, r.entries]), [
    ['udp', 700],
    ['tcp', 300],
  ]);

  const byDport = await top(ns, ['--group-by', 'dport', '-o', 'json']);
  assert.deepEqual(byDport.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { dport: string }).dport), ['53/udp', '443/tcp']);

  const byMark = await top(ns, ['--group-by', 'mark', '-o', 'json']);
  assert.deepEqual(byMark.stdout.trim().split('\n').map((l) => JSON.parse(l) as { mark: string; entries: number }).map((r) => [r.mark, r.entries]), [
    ['1', 500],
    ['2', 300],
    ['3', 200],
  ]);

  // The conntrack -L filter options narrow what is counted.
  const filtered = await top(ns, ['--group-by', 'state', '-p', 'tcp', '-o', 'json']);
  assert.deepEqual(filtered.stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown), [{ state: 'ESTABLISHED', entries: 300, packets: 0, bytes: 0 }]);

  // IPv6 sources group by /64.
  const ct = Conntrack.open({ netns: ns.name });
  try {
    for (const [src, sport] of [['2001:db8:1:2::5', 1], ['2001:db8:1:2:ffff::6', 2], ['2001:db8:1:3::5', 3]] as const) {
      await ct.create({
        family: 10,
        orig: { l3: 10, src, dst: '2001:db8::1', proto: UDP, sport, dport: 53 },
        reply: { l3: 10, src: '2001:db8::1', dst: src, proto: UDP, sport: 53, dport: sport },
        timeout: 600,
      });
    }
  } finally {
    ct.close();
  }
  const v6 = await top(ns, ['--group-by', 'src/24', '-f', 'ipv6', '-o', 'json']);
  assert.deepEqual(v6.stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown), [
    { 'src/24': '2001:db8:1:2::/64', entries: 2, packets: 0, bytes: 0 },
    { 'src/24': '2001:db8:1:3::/64', entries: 1, packets: 0, bytes: 0 },
  ]);

  // Without --group-by: the top flows, one NDJSON object each.
  const flowsOut = await top(ns, ['--top', '5', '-o', 'json', '-s', '10.9.3.1']);
  const rows = flowsOut.stdout.trim().split('\n').map((l) => JSON.parse(l) as { src: string; proto: string });
  assert.equal(rows.length, 5);
  for (const r of rows) assert.match(r.src, /^10\.9\.3\.1:\d+$/);
});

test('conntrack-top: a bad argument is one line on stderr and exit 2, a missing namespace one line and exit 1', async () => {
  for (const args of [['--group-by', 'port'], ['--top', 'x'], ['-o', 'xml'], ['-p', 'bogus'], ['--top']]) {
    const r = await topRun(['--once', ...args]);
    assert.equal(r.code, 2, args.join(' '));
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
    assert.match(r.stderr, /^conntrack-top: /);
  }
  const missing = await topRun(['--once', '--netns', 'ctts-top-no-such-namespace']);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, 'conntrack-top: network namespace ctts-top-no-such-namespace: open ENOENT\n');
});
