/**
 * What installing the package runs: compiling its own addon (node-gyp on
 * binding.gyp) and, for a git checkout, tsc and the bundler — nothing else.
 * A new lifecycle script, a runtime dependency (whose own scripts would run),
 * a gyp command expansion or a dependency with an install script fails here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../../..');
const readJson = (file: string): Record<string, unknown> => JSON.parse(readFileSync(path.join(ROOT, file), 'utf8')) as Record<string, unknown>;

/** Scripts npm runs when the package is installed from the registry, a tarball or git. */
const INSTALL_TIME = ['preinstall', 'install', 'postinstall', 'prepublish', 'preprepare', 'prepare', 'postprepare', 'prepack', 'postpack', 'dependencies'];

/** The only ones we have, and exactly what they run. */
const ALLOWED: Record<string, string> = {
  install: 'node-gyp rebuild',
  prepare: 'tsc -p tsconfig.json && node dist/tools/bundle.js',
};

test('install-time lifecycle scripts compile the addon and the TypeScript, nothing else', () => {
  const scripts = (readJson('package.json').scripts ?? {}) as Record<string, string>;
  const present = Object.fromEntries(INSTALL_TIME.filter((name) => name in scripts).map((name) => [name, scripts[name]]));
  assert.deepEqual(present, ALLOWED);
});

test('no runtime dependency brings scripts of its own', () => {
  const pkg = readJson('package.json');
  for (const field of ['dependencies', 'optionalDependencies', 'peerDependencies', 'bundleDependencies', 'bundledDependencies']) {
    assert.equal(pkg[field], undefined, `package.json has ${field}`);
  }
  const packages = readJson('package-lock.json').packages as Record<string, { hasInstallScript?: boolean }>;
  const scripted = Object.entries(packages).filter(([name, p]) => name !== '' && p.hasInstallScript);
  assert.deepEqual(scripted.map(([name]) => name), [], 'dev dependencies with install scripts');
});

test('binding.gyp runs no commands: no <!(...) expansions, actions or rules', () => {
  const gyp = readFileSync(path.join(ROOT, 'binding.gyp'), 'utf8');
  assert.doesNotMatch(gyp, /<!|"(actions|rules|postbuilds)"/);
  const targets = (JSON.parse(gyp) as { targets: { sources: string[] }[] }).targets;
  assert.deepEqual(targets.flatMap((t) => t.sources), ['native/netlink_socket.c']);
});
