/**
 * The package as a consumer project gets it: `npm pack`, the tarball
 * installed offline into a fresh directory (no runtime dependencies, the
 * prebuilt addon instead of a compiler), then used from a CommonJS script,
 * an ES module script and a strict, isolatedModules TypeScript file through
 * the package name only — `exports`, `types`, the runtime constants, the
 * error classes and a real dump must all work from outside this repository.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { withNetns } from './netns';

const ROOT = path.resolve(__dirname, '../../..');
const TSC = path.join(ROOT, 'node_modules/typescript/bin/tsc');

/** What each consumer does: constants and errors at runtime, then create and dump one flow in the namespace. */
const USE = `
const ns = process.argv[2];
if (Protocol.UDP !== 17 || Family.INET !== 2 || typeof Status.ASSURED !== 'number') throw new Error('constants');
if (!(new NetlinkError(-2, 'sendmsg') instanceof Error)) throw new Error('NetlinkError');
const flow = { family: Family.INET, orig: { l3: Family.INET, src: '10.9.0.1', dst: '10.9.0.2', proto: 'udp', sport: 5000, dport: 53 }, timeout: 600 };
const ct = Conntrack.open({ netns: ns });
try {
  await ct.create(flow);
  const seen = [];
  for await (const found of ct.dump({ orig: { proto: 'udp' } })) seen.push(flowToJson(found).orig);
  if ((await ct.delete(flow)) !== true) throw new Error('delete');
  console.log(JSON.stringify(seen));
} finally {
  ct.close();
}
`;

const EXPECTED = [{ src: '10.9.0.1', dst: '10.9.0.2', protocol: 'udp', protonum: 17, sport: 5000, dport: 53 }];

/** Runs `cmd args` in `cwd`; throws with what it printed (tsc reports on stdout) unless it exits 0. */
function run(cwd: string, cmd: string, args: readonly string[]): string {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  } catch (err) {
    const { stdout, stderr } = err as { stdout?: string; stderr?: string };
    throw new Error(`${cmd} ${args.join(' ')} failed:\n${stdout ?? ''}${stderr ?? ''}`);
  }
}

test('the packed tarball installs offline and serves CommonJS, ESM and strict isolatedModules TypeScript', async (t) => {
  const work = mkdtempSync(path.join(tmpdir(), 'ctts-consumer-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  // What `npm pack` runs as prepack (the addon into prebuilds/); its prepare (tsc) already ran for these tests.
  run(ROOT, process.execPath, [path.join(ROOT, 'dist/tools/prebuild.js')]);
  const packed = run(ROOT, 'npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', work]);
  const tarball = path.join(work, packed.trim().split('\n').pop()!);

  const app = path.join(work, 'app');
  mkdirSync(app);
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  // The package's install script runs: it must take the prebuilt addon, not a compiler.
  run(app, 'npm', ['install', '--offline', '--no-audit', '--no-fund', tarball]);

  const names = 'Conntrack, Family, NetlinkError, Protocol, Status, flowToJson';
  writeFileSync(path.join(app, 'use.cjs'), `'use strict';\nconst { ${names} } = require('conntrack-ts');\n(async () => {${USE}})().catch((err) => { console.error(err); process.exit(1); });\n`);
  writeFileSync(path.join(app, 'use.mjs'), `import { ${names} } from 'conntrack-ts';\n${USE}`);
  // Typed: the flow, the error class's fields and a protocol name are checked against the package's declarations.
  writeFileSync(
    path.join(app, 'use.ts'),
    `import { Conntrack, Family, NetlinkError, Protocol, Status, type Flow, type FlowInput } from 'conntrack-ts';\n` +
      `const input: FlowInput = { family: Family.INET, orig: { l3: Family.INET, src: '10.0.0.1', dst: '10.0.0.2', proto: 'tcp' } };\n` +
      `export async function firstTcp(ct: Conntrack): Promise<Flow | undefined> {\n` +
      `  for await (const flow of ct.dump({ orig: { proto: Protocol.TCP } })) if ((flow.status ?? 0) & Status.ASSURED) return flow;\n` +
      `  return undefined;\n}\n` +
      `export const errno = (err: unknown): number | undefined => (err instanceof NetlinkError ? err.errno : undefined);\n` +
      `export { input };\n`,
  );

  const ns = await withNetns(t, 'consumer');
  // Each run leaves the table empty again (it deletes what it made), so each sees exactly its own flow.
  assert.deepEqual(JSON.parse(run(app, process.execPath, ['use.cjs', ns.name])), EXPECTED);
  assert.deepEqual(JSON.parse(run(app, process.execPath, ['use.mjs', ns.name])), EXPECTED);

  const types = ['--types', 'node', '--typeRoots', path.join(ROOT, 'node_modules/@types')];
  run(app, process.execPath, [TSC, '--strict', '--isolatedModules', '--noEmit', '--module', 'nodenext', '--target', 'es2022', ...types, 'use.ts']);
});
