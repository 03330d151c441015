/**
 * conntrackd's engine against conntrackd 1.4.7 on the same namespace: the
 * C daemon (Stats mode, its own config, lock, socket and logs) and our engine
 * (in-process) watch one table; their `-i` / `-i -x` dumps and the stats-log
 * lines of the same destroyed flows must be the same.
 */
import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { test, type TestContext } from 'node:test';
import type { Config } from '../../src/conntrackd/config/config';
import { Request } from '../../src/conntrackd/control/codes';
import { ConntrackdEngine } from '../../src/conntrackd/engine/engine';
import { openStatsLogFile } from '../../src/conntrackd/engine/stats-log';
import { generalDefaults } from '../unit/conntrackd-fixtures';
import { makeTraffic, REFERENCE_CONNTRACK, run, withNetns, type Netns } from '../kernel/netns';
import { until } from '../kernel/wait';
import { fill, BASE } from './states';

const REFERENCE_CONNTRACKD = process.env.CTD_REFERENCE ?? '/usr/sbin/conntrackd';

interface Daemons {
  ns: Netns;
  dir: string;
  conf: string;
  ours: ConntrackdEngine;
}

/** The C daemon and our engine, both in Stats mode, both started on the namespace's table. */
async function daemons(t: TestContext): Promise<Daemons> {
  const ns = await withNetns(t, 'cde-diff');
  const dir = await mkdtemp(path.join(tmpdir(), 'ctts-engine-diff-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await fill(BASE, { 'net.netfilter.nf_conntrack_acct': 1 })(ns);
  const traffic = await makeTraffic(ns, { keepOpen: true });
  t.after(() => traffic.close());

  const conf = path.join(dir, 'c.conf');
  await writeFile(
    conf,
    `General {\n LockFile ${dir}/c.lock\n LogFile ${dir}/c.log\n UNIX { Path ${dir}/c.sock }\n Systemd off\n}\n` +
      `Stats {\n LogFile ${dir}/c-stats.log\n}\n`,
  );
  ns.spawn(REFERENCE_CONNTRACKD, ['-C', conf]);
  t.after(() => run(REFERENCE_CONNTRACKD, ['-C', conf, '-k']).then(() => {}));
  assert.ok(await until(() => existsSync(`${dir}/c.sock`)), 'the C daemon came up');

  const config: Config = { general: generalDefaults(), stats: { logFile: `${dir}/ours-stats.log` } };
  const ours = new ConntrackdEngine({ config, log: { write: () => {} }, netns: ns.name, statsLog: openStatsLogFile(`${dir}/ours-stats.log`) });
  t.after(() => ours.stop());
  await ours.start();
  return { ns, dir, conf, ours };
}

async function reference(conf: string, option: string[]): Promise<string> {
  const r = await run(REFERENCE_CONNTRACKD, ['-C', conf, ...option]);
  assert.equal(r.status, 0, r.stderr.toString());
  return r.stdout.toString();
}

async function ours(engine: ConntrackdEngine, request: Request): Promise<string> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (b: Buffer) => (text += b.toString()));
  await engine.handle(request, out);
  out.end();
  return text;
}

/** Lines in a stable order, the seconds of `[active since Ns]` masked. */
const normalized = (text: string): string[] =>
  text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.replace(/\[active since \d+s\]$/, '[active since Ns]'))
    .sort();

test('-i and -i -x print what 1.4.7 prints for the same table', async (t) => {
  const { conf, ours: engine } = await daemons(t);
  const c = normalized(await reference(conf, ['-i']));
  assert.ok(c.length >= BASE.length, `the C daemon cached ${c.length} flows`);
  assert.deepEqual(normalized(await ours(engine, Request.CT_DUMP_INTERNAL)), c);
  assert.deepEqual(normalized(await ours(engine, Request.CT_DUMP_INT_XML)), normalized(await reference(conf, ['-i', '-x'])));
});

test('the stats log has the same line for each destroyed flow', async (t) => {
  const { ns, dir, conf, ours: engine } = await daemons(t);
  await ns.execOk(REFERENCE_CONNTRACK, ['-F']);
  const lines = async (file: string): Promise<string[]> =>
    normalized((await readFile(path.join(dir, file), 'utf8').catch(() => '')).replace(/^.{24}\t/gm, 'DATE\t'));
  assert.ok(await until(async () => (await lines('c-stats.log')).length >= BASE.length), 'the C daemon logged the flush');
  assert.ok(await until(async () => (await lines('ours-stats.log')).length === (await lines('c-stats.log')).length));
  assert.deepEqual(await lines('ours-stats.log'), await lines('c-stats.log'));
  // The same flows created, updated and destroyed, and the same traffic.
  for (const [option, request] of [
    [['-s'], Request.STATS],
    [['-s', 'cache'], Request.STATS_CACHE],
  ] as const) {
    assert.equal(await ours(engine, request), await reference(conf, [...option]), option.join(' '));
  }
});
