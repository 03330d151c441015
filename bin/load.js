'use strict';
const fs = require('node:fs');
const path = require('node:path');

const dist = path.join(__dirname, '..', 'dist');
const bundle = path.join(dist, 'conntrack.bundle.js');
const codeCache = `${bundle}.cache`;

/**
 * The module `entry` (a path under dist/src, e.g. 'cli/main.js') from the
 * one-file bundle (tools/bundle.ts) with V8's code cache of it: start-up is
 * most of what a one-shot command costs, and reading one precompiled file
 * saves the loader's work on ~40 files. Undefined when the build made no
 * bundle, or tsc ran after it (tsc rewrites every file it emits, so the
 * bundle must be newer than the entry to hold the same code).
 */
function fromBundle(entry) {
  let source;
  try {
    if (fs.statSync(bundle).mtimeMs < fs.statSync(path.join(dist, 'src', entry)).mtimeMs) return undefined;
    source = fs.readFileSync(bundle, 'utf8');
  } catch {
    return undefined;
  }
  let cachedData;
  try {
    cachedData = fs.readFileSync(codeCache);
  } catch {
    // First run after a build: made at exit below.
  }
  const vm = require('node:vm');
  const script = new vm.Script(source, { filename: bundle, cachedData });
  if (cachedData === undefined || script.cachedDataRejected) {
    // At exit the functions this run compiled are in the cache too. A read-only install just goes without.
    process.once('exit', () => {
      try {
        const temp = `${codeCache}.${process.pid}`;
        fs.writeFileSync(temp, script.createCachedData());
        fs.renameSync(temp, codeCache);
      } catch {
        // No cache: the next run compiles again.
      }
    });
  }
  return script.runInThisContext()(require, path.join(dist, 'src'))(entry);
}

/** The exports of dist/src/`entry`, from the bundle when it is current. */
exports.load = (entry) => fromBundle(entry) ?? require(path.join(dist, 'src', entry));
