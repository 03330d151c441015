/**
 * conntrack-exporter on real tables, scraped by a real Prometheus server
 * (the Debian binary, its own temporary config and storage), both inside a
 * monitoring namespace of their own; the exporter watches a second
 * namespace (`--netns`) that carries real TCP and UDP traffic and nothing
 * else, so the kernel table the values are checked against holds still.
 * Also: promtool on the real output, OpenMetrics negotiation, the landing
 * page, and conntrackd metrics from our daemon and the C 1.4.7 one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Conntrack } from '../../src/api/conntrack';
import { FLOW_KEYS } from '../../src/api/flow-keys';
import { flowKeyText } from '../../src/format/flow-key-text';
import { Daemon, referenceConntrackd, subjectConntrackd } from '../diff/conntrackd-harness';
import { CT_STATE_RULESET, run, withNetns, type Netns } from './netns';
import { until } from './wait';

const EXPORTER = path.resolve(__dirname, '../../../bin/conntrack-exporter.js');
const EXPORTER_ADDRESS = '127.0.0.1:9466';
const PROMETHEUS_ADDRESS = '127.0.0.1:9090';
const CONNECTIONS = 25;

/** Real traffic: CONNECTIONS TCP connections held open on loopback, and one UDP flow refreshed twice a second. */
const TRAFFIC = `
const net = require('node:net'), dgram = require('node:dgram');
const server = net.createServer(() => {}).listen(7000, '127.0.0.1', () => {
  let open = 0;
  for (let i = 0; i < ${CONNECTIONS}; i++) net.connect(7000, '127.0.0.1', () => { if (++open === ${CONNECTIONS}) console.log('ready'); });
});
const udp = dgram.createSocket('udp4');
setInterval(() => udp.send('x', 7001, '127.0.0.1'), 500);
`;

/** GETs `url` from inside `ns` (the test process stays in the host namespace): [status, content-type, body]. */
async function fetchIn(ns: Netns, url: string, accept?: string): Promise<{ status: number; type: string; body: string }> {
  const code = `fetch(${JSON.stringify(url)}, { headers: ${JSON.stringify(accept ? { Accept: accept } : {})} })
    .then(async (r) => process.stdout.write(JSON.stringify({ status: r.status, type: r.headers.get('content-type'), body: await r.text() })))
    .catch((e) => process.stdout.write(JSON.stringify({ status: 0, type: '', body: String(e) })));`;
  const r = await ns.exec(process.execPath, ['-e', code]);
  return JSON.parse(r.stdout.toString()) as { status: number; type: string; body: string };
}

/** One instant query: label set (as JSON) -> value. */
async function query(ns: Netns, expr: string): Promise<Map<string, number>> {
  const r = await fetchIn(ns, `http://${PROMETHEUS_ADDRESS}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const out = new Map<string, number>();
  if (r.status !== 200) return out;
  const answer = JSON.parse(r.body) as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
  for (const { metric, value } of answer.data.result) out.set(metric.state ?? metric.protocol ?? '', Number(value[1]));
  return out;
}

/** The kernel's table of `ns`, counted by state and by protocol names as the exporter labels them. */
async function kernelCounts(ns: Netns): Promise<{ entries: number; state: Map<string, number>; protocol: Map<string, number> }> {
  const ct = Conntrack.open({ netns: ns.name });
  const state = new Map<string, number>();
  const protocol = new Map<string, number>();
  try {
    const entries = await ct.dumpRaw({}, {}, (e) => {
      e.index();
      const s = flowKeyText('state', FLOW_KEYS.state(e)!);
      const p = flowKeyText('proto', FLOW_KEYS.proto(e)!);
      state.set(s, (state.get(s) ?? 0) + 1);
      protocol.set(p, (protocol.get(p) ?? 0) + 1);
    });
    return { entries, state, protocol };
  } finally {
    ct.close();
  }
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

async function lineFrom(child: ChildProcess, stream: 'stdout' | 'stderr', pattern: RegExp): Promise<void> {
  let seen = '';
  await new Promise<void>((resolve, reject) => {
    child[stream]!.on('data', (b: Buffer) => {
      seen += b.toString();
      if (pattern.test(seen)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`exited (${code}) before ${pattern}: ${seen}`)));
  });
}

test('Prometheus scrapes the exporter during real traffic; its values equal the kernel table', async (t) => {
  const monitor = await withNetns(t, 'expmon');
  const traffic = await withNetns(t, 'exptraffic');
  const dir = await mkdtemp(path.join(tmpdir(), 'ctts-prometheus-'));
  t.after(() => rm(dir, { recursive: true, force: true }));

  const exporter = monitor.spawn(process.execPath, [EXPORTER, `--web.listen-address=${EXPORTER_ADDRESS}`, '--netns', traffic.name, '--collector.top-sources=2']);
  t.after(() => stop(exporter));
  await lineFrom(exporter, 'stderr', /listening on/);

  await traffic.nft(CT_STATE_RULESET);
  const load = traffic.spawn(process.execPath, ['-e', TRAFFIC]);
  t.after(() => stop(load));
  await lineFrom(load, 'stdout', /ready/);

  await writeFile(path.join(dir, 'prometheus.yml'), `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: conntrack\n    static_configs:\n      - targets: ['${EXPORTER_ADDRESS}']\n`);
  const prometheus = monitor.spawn('prometheus', [
    `--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=${PROMETHEUS_ADDRESS}`,
  ]);
  t.after(() => stop(prometheus));

  let kernel = await kernelCounts(traffic);
  let seen = new Map<string, number>();
  const agreed = await until(async () => {
    kernel = await kernelCounts(traffic);
    seen = await query(monitor, `conntrack_entries_by_state{netns="${traffic.name}"}`);
    return kernel.state.get('ESTABLISHED') === CONNECTIONS && JSON.stringify([...seen].sort()) === JSON.stringify([...kernel.state].sort());
  }, 90_000);
  assert.ok(agreed, `Prometheus ${JSON.stringify([...seen])} vs kernel ${JSON.stringify([...kernel.state])}`);
  assert.deepEqual([...(await query(monitor, `conntrack_entries_by_protocol{netns="${traffic.name}"}`))].sort(), [...kernel.protocol].sort());
  assert.equal((await query(monitor, `conntrack_entries{netns="${traffic.name}"}`)).get(''), kernel.entries);
  assert.equal((await query(monitor, `conntrack_up{netns="${traffic.name}"}`)).get(''), 1);
  assert.equal((await query(monitor, 'up{job="conntrack"}')).get(''), 1, 'Prometheus scraped without error');

  // The real output passes promtool's checks (format and naming).
  const metrics = await fetchIn(monitor, `http://${EXPORTER_ADDRESS}/metrics`);
  assert.equal(metrics.type, 'text/plain; version=0.0.4; charset=utf-8');
  const promtool = await run('promtool', ['check', 'metrics'], { input: metrics.body });
  assert.equal(promtool.status, 0, promtool.stdout.toString() + promtool.stderr.toString());
  assert.match(metrics.body, /^conntrack_top_source_entries\{netns="[^"]+",src="127\.0\.0\.1"\} \d+$/m);

  const open = await fetchIn(monitor, `http://${EXPORTER_ADDRESS}/metrics`, 'application/openmetrics-text;version=1.0.0,text/plain;q=0.5');
  assert.match(open.type, /^application\/openmetrics-text; version=1\.0\.0/);
  assert.match(open.body, /^# TYPE conntrack_stat_found counter$/m);
  assert.ok(open.body.endsWith('# EOF\n'));
  const landing = await fetchIn(monitor, `http://${EXPORTER_ADDRESS}/`);
  assert.match(landing.body, /href="\/metrics"/);
  assert.equal((await fetchIn(monitor, `http://${EXPORTER_ADDRESS}/nothing`)).status, 404);
});

test('conntrackd metrics from our daemon and the C 1.4.7 daemon; a daemon that stops is conntrackd_up 0, and 1 again once restarted', async (t) => {
  const ns = await withNetns(t, 'expctd');
  await ns.execOk('conntrack', ['-I', '-p', 'tcp', '-s', '10.1.0.1', '-d', '10.1.0.2', '--sport', '1000', '--dport', '80', '--state', 'ESTABLISHED', '-t', '600']);
  const daemons = await Promise.all([Daemon.start(ns, subjectConntrackd()), Daemon.start(ns, referenceConntrackd)]);
  t.after(() => Promise.all(daemons.map((d) => d.dispose())));
  const exporter = ns.spawn(process.execPath, [EXPORTER, `--web.listen-address=${EXPORTER_ADDRESS}`, ...daemons.flatMap((d) => ['--conntrackd.socket', d.paths.socket])]);
  t.after(() => stop(exporter));
  await lineFrom(exporter, 'stderr', /listening on/);

  const scrape = async (): Promise<string> => (await fetchIn(ns, `http://${EXPORTER_ADDRESS}/metrics`)).body;
  for (const d of daemons) {
    const socket = d.paths.socket;
    assert.ok(
      await until(async () => new RegExp(`^conntrackd_cache_entries\\{socket="${socket}",cache="stats"\\} 1$`, 'm').test(await scrape())),
      `${d.impl.name}: ${await scrape()}`,
    );
    const text = await scrape();
    assert.match(text, new RegExp(`^conntrackd_up\\{socket="${socket}"\\} 1$`, 'm'), d.impl.name);
    assert.match(text, new RegExp(`^conntrackd_kernel_events_received_total\\{socket="${socket}"\\} \\d+$`, 'm'), d.impl.name);
    // Stats mode resends nothing and commits nothing; 1.4.7 could not say so anyway.
    assert.doesNotMatch(text, new RegExp(`^conntrackd_(messages_resent_total|last_commit_\\w+)\\{socket="${socket}"`, 'm'), d.impl.name);
  }
  for (const d of daemons) {
    const socket = d.paths.socket;
    await d.stop();
    const after = await fetchIn(ns, `http://${EXPORTER_ADDRESS}/metrics`);
    assert.equal(after.status, 200, d.impl.name);
    assert.match(after.body, new RegExp(`^conntrackd_up\\{socket="${socket}"\\} 0$`, 'm'), d.impl.name);
    assert.match(after.body, new RegExp(`^conntrack_exporter_scrape_errors_total\\{collector="conntrackd:${socket}"\\} [1-9]`, 'm'), d.impl.name);
    // The same socket path, a new daemon: the exporter asks it at the next scrape, nothing to restart.
    const again = await d.restart();
    t.after(() => again.dispose());
    assert.ok(await until(async () => new RegExp(`^conntrackd_up\\{socket="${socket}"\\} 1$`, 'm').test(await scrape())), `${d.impl.name}: ${await scrape()}`);
  }
});

/** The exporter's `family{netns="NETNS",LABEL="X"} N` samples of a scrape, by X. */
function samples(text: string, family: string, netns: string, label: string): Map<string, number> {
  const re = new RegExp(`^${family}\\{netns="${netns}",${label}="([^"]*)"\\} (\\d+)$`, 'gm');
  return new Map([...text.matchAll(re)].map((m) => [m[1]!, Number(m[2])]));
}

function scalar(text: string, family: string, netns: string): number | undefined {
  const m = new RegExp(`^${family}\\{netns="${netns}"\\} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

const sorted = (m: Map<string, number>): string => JSON.stringify([...m].sort());

test('event overruns of a tiny listener buffer: events lost, counts re-converge to a dump\'s, every scrape served, also during reconciling dumps', async (t) => {
  const monitor = await withNetns(t, 'expovmon');
  const burst = await withNetns(t, 'expovburst');
  // A buffer the kernel's minimum: a burst overruns it at once. Dumps every half second, so scrapes meet some running.
  const exporter = monitor.spawn(process.execPath, [EXPORTER, `--web.listen-address=${EXPORTER_ADDRESS}`, '--netns', burst.name, '--events.buffer-size=1', '--reconcile.interval=0.5']);
  t.after(() => stop(exporter));
  await lineFrom(exporter, 'stderr', /listening on/);

  const statuses: number[] = [];
  let duringDump = '';
  let scraping = true;
  const scraper = (async () => {
    while (scraping) {
      const r = await fetchIn(monitor, `http://${EXPORTER_ADDRESS}/metrics`);
      statuses.push(r.status);
      const served = samples(r.body, 'conntrack_entries_by_protocol', burst.name, 'protocol').size > 0;
      if (!duringDump && served && scalar(r.body, 'conntrack_exporter_reconciling', burst.name) === 1) duringDump = r.body;
    }
  })();
  t.after(() => {
    scraping = false;
    return scraper;
  });

  // 20,000 UDP creates and 5,000 deletes, 512 requests in flight.
  const flows = Array.from({ length: 20_000 }, (_, i) => ({
    family: 2, orig: { l3: 2, src: `10.9.${i >> 8}.${i & 255}`, dst: '10.9.255.1', proto: 17, sport: 1000 + (i % 50_000), dport: 53 }, reply: {}, timeout: 600,
  }));
  const ct = Conntrack.open({ netns: burst.name });
  try {
    for (let i = 0; i < flows.length; i += 512) await Promise.all(flows.slice(i, i + 512).map((f) => ct.create(f)));
    for (let i = 0; i < 5_000; i += 512) await Promise.all(flows.slice(i, Math.min(i + 512, 5_000)).map((f) => ct.delete(f)));
  } finally {
    ct.close();
  }

  const scrape = async (): Promise<string> => (await fetchIn(monitor, `http://${EXPORTER_ADDRESS}/metrics`)).body;
  const lost = await until(async () => (scalar(await scrape(), 'conntrack_exporter_events_lost_total', burst.name) ?? 0) > 0, 30_000);
  assert.ok(lost, await scrape());
  const kernel = await kernelCounts(burst);
  assert.equal(kernel.entries, 15_000);
  let text = '';
  const converged = await until(async () => {
    text = await scrape();
    return sorted(samples(text, 'conntrack_entries_by_state', burst.name, 'state')) === sorted(kernel.state) &&
      sorted(samples(text, 'conntrack_entries_by_protocol', burst.name, 'protocol')) === sorted(kernel.protocol);
  }, 60_000);
  assert.ok(converged, `exporter:\n${text}\nkernel: ${sorted(kernel.state)} ${sorted(kernel.protocol)}`);
  assert.ok(await until(() => duringDump !== '', 30_000), 'no scrape met a reconciling dump');
  assert.equal(scalar(duringDump, 'conntrack_exporter_counts_synced', burst.name), 1);
  scraping = false;
  await scraper;
  assert.ok(statuses.length > 0);
  assert.deepEqual(statuses.filter((s) => s !== 200), [], 'every scrape answered 200');
});
