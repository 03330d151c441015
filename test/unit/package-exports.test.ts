/**
 * What a consumer of the built package sees: every value the declarations
 * export exists at runtime (a const enum would be declared but undefined),
 * and a consumer compiled file by file (isolatedModules, as esbuild, Vite
 * and swc do) under strict can use each of them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ts from 'typescript';

const ROOT = path.resolve(__dirname, '../../..');
const ENTRY = path.join(ROOT, 'dist/src/index');

/** The names the package's declarations export as values (functions, classes, constants, enums). */
function declaredValueExports(): string[] {
  // Only the export list is read here: no type checking, so no @types/node either.
  const program = ts.createProgram([`${ENTRY}.d.ts`], { noEmit: true, noLib: true, types: [] });
  const checker = program.getTypeChecker();
  const module = checker.getSymbolAtLocation(program.getSourceFile(`${ENTRY}.d.ts`)!)!;
  return checker
    .getExportsOfModule(module)
    .filter((symbol) => {
      if (!(symbol.flags & ts.SymbolFlags.Alias)) return (symbol.flags & ts.SymbolFlags.Value) !== 0;
      const specifier = symbol.declarations?.find(ts.isExportSpecifier);
      if (specifier && (specifier.isTypeOnly || specifier.parent.parent.isTypeOnly)) return false;
      return (checker.getAliasedSymbol(symbol).flags & ts.SymbolFlags.Value) !== 0;
    })
    .map((symbol) => symbol.name)
    .sort();
}

test('every value export of the declarations exists at runtime', () => {
  const declared = declaredValueExports();
  assert.ok(declared.includes('Conntrack') && declared.includes('Status'), declared.join(' '));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const runtime = require(ENTRY) as Record<string, unknown>;
  assert.deepEqual(declared.filter((name) => runtime[name] === undefined), []);
});

test('a consumer compiled with isolatedModules and strict uses every value export', () => {
  const names = declaredValueExports();
  const dir = mkdtempSync(path.join(tmpdir(), 'ctts-consumer-'));
  try {
    const file = path.join(dir, 'consumer.ts');
    writeFileSync(file, `import { ${names.join(', ')} } from ${JSON.stringify(ENTRY)};\nexport const used = [${names.join(', ')}];\n`);
    const program = ts.createProgram([file], {
      strict: true,
      isolatedModules: true,
      noEmit: true,
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      lib: ['lib.es2022.d.ts'],
      // The declarations themselves are checked by the build; what matters is the consumer's use.
      skipLibCheck: true,
      types: ['node'],
      typeRoots: [path.join(ROOT, 'node_modules/@types')],
    });
    const problems = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    assert.deepEqual(problems, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the package names its licence file and lets consumers read its package.json', () => {
  // npm puts LICENSE in every tarball, whatever `files` says.
  assert.ok(existsSync(path.join(ROOT, 'LICENSE')));
  assert.match(readFileSync(path.join(ROOT, 'LICENSE'), 'utf8'), /GNU GENERAL PUBLIC LICENSE\s+Version 2/);
  // A package resolves its own name through `exports`, as a consumer would.
  assert.equal(require.resolve('conntrack-ts/package.json'), path.join(ROOT, 'package.json'));
});
