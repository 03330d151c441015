/**
 * Packs the compiled library and programs (dist/src/**.js) into one file,
 * dist/conntrack.bundle.js, which bin/load.js (for bin/conntrack.js and
 * bin/conntrackd.js) loads when it exists.
 *
 * Why: most of what a one-shot `conntrack -C` costs beyond Node's own
 * start-up is the CommonJS loader finding, reading and wrapping ~40 files
 * (stat, realpath, package.json lookups per file). One file costs one read,
 * and bin/load.js can keep V8's code cache of it (vm.Script cachedData),
 * which Node 20 offers no other way (module.enableCompileCache is Node 22).
 *
 * The bundle is a table of the modules' own compiled code, each wrapped as
 * CommonJS does it and given its original __filename/__dirname, so paths the
 * code computes (the native addon's) stay right. Relative requires resolve
 * inside the table; anything else goes to Node's require.
 *
 *   node dist/tools/bundle.js [OUT]     (after tsc; part of `npm run build`)
 */
import { readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const DIST = path.join(__dirname, '..');
const SRC = path.join(DIST, 'src');
const OUT = process.argv[2] ?? path.join(DIST, 'conntrack.bundle.js');

function modules(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const full = path.join(dir, d.name);
    if (d.isDirectory()) return modules(full);
    return d.name.endsWith('.js') ? [full] : [];
  });
}

/** The loader at the top of the bundle: `(entry) => exports of entry`, ids relative to dist/src. */
const LOADER = `(function (definitions, nodeRequire, root) {
  var cache = {};
  function load(id) {
    var cached = cache[id];
    if (cached) return cached.exports;
    var module = { exports: {} };
    cache[id] = module;
    var file = root + '/' + id;
    var dir = file.slice(0, file.lastIndexOf('/'));
    definitions[id].call(module.exports, module.exports, function (spec) {
      if (spec[0] !== '.') return nodeRequire(spec);
      var parts = (id.slice(0, id.lastIndexOf('/') + 1) + spec).split('/');
      var out = [];
      for (var i = 0; i < parts.length; i++) {
        if (parts[i] === '..') out.pop();
        else if (parts[i] !== '.' && parts[i] !== '') out.push(parts[i]);
      }
      var target = out.join('/');
      return load(definitions[target + '.js'] ? target + '.js' : target + '/index.js');
    }, module, file, dir);
    return module.exports;
  }
  return load;
})`;

function main(): void {
  const parts: string[] = [];
  for (const file of modules(SRC).sort()) {
    const id = path.relative(SRC, file).split(path.sep).join('/');
    const code = readFileSync(file, 'utf8').replace(/\n\/\/# sourceMappingURL=.*$/, '');
    parts.push(`${JSON.stringify(id)}: function (exports, require, module, __filename, __dirname) {\n${code}\n}`);
  }
  // A function of Node's require and the directory of dist/src, so the bundle can move with dist/.
  const text = `(function (nodeRequire, root) {\nreturn ${LOADER}({\n${parts.join(',\n')}\n}, nodeRequire, root);\n})`;
  const temp = `${OUT}.${process.pid}`;
  writeFileSync(temp, text);
  renameSync(temp, OUT);
  process.stderr.write(`bundle: ${parts.length} modules, ${text.length} bytes -> ${path.relative(process.cwd(), OUT)}\n`);
}

main();
