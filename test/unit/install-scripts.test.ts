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
import { addonCandidates } from '../../src/netlink/socket';

const ROOT = path.resolve(__dirname, '../../..');
const readJson = (file: string): Record<string, unknown> => JSON.parse(readFileSync(path.join(ROOT, file), 'utf8')) as Record<string, unknown>;

/** Scripts npm runs when the package is installed from the registry, a tarball or git. */
const INSTALL_TIME = ['preinstall', 'install', 'postinstall', 'prepublish', 'preprepare', 'prepare', 'postprepare', 'prepack', 'postpack', 'dependencies'];

/** The only ones we have, and exactly what they run. */
const ALLOWED: Record<string, string> = {
  // The prebuilt addon when it loads here, else node-gyp rebuild.
  install: 'node native/install.js',
  prepare: 'tsc -p tsconfig.json && node dist/tools/bundle.js',
  // Copies the addon built here into prebuilds/ for the tarball.
  prepack: 'node dist/tools/prebuild.js',
};

test('install-time lifecycle scripts use or compile the addon and compile the TypeScript, nothing else', () => {
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

test('the install script runs nothing but node-gyp rebuild, and only when the prebuilt addon does not load', () => {
  const script = readFileSync(path.join(ROOT, 'native/install.js'), 'utf8');
  assert.deepEqual([...script.matchAll(/spawnSync\(([^)]*)\)/g)].map((m) => m[1]), ["'node-gyp', ['rebuild'], { cwd: root, stdio: 'inherit' }"]);
  assert.match(script, /if \(!\(existsSync\(prebuilt\) && loads\(prebuilt\)\)\)/);
});

test('the loader prefers a local build, then the prebuilt addon on linux with glibc only', () => {
  const root = '/pkg';
  let asked = 0;
  const glibc = (answer: boolean) => (): boolean => {
    asked++;
    return answer;
  };
  const first = addonCandidates(root, 'linux', 'x64', glibc(true));
  assert.equal(first.next().value, '/pkg/build/Release/netlink_socket.node');
  assert.equal(asked, 0, 'no glibc probe while the local build is tried');
  assert.deepEqual([...first], ['/pkg/prebuilds/linux-x64-glibc/netlink_socket.node']);
  assert.deepEqual([...addonCandidates(root, 'linux', 'x64', glibc(false))], ['/pkg/build/Release/netlink_socket.node']);
  assert.deepEqual([...addonCandidates(root, 'darwin', 'arm64', glibc(true))], ['/pkg/build/Release/netlink_socket.node']);
});
