/**
 * The generated sections of README.md (tools/readme-sections.ts) are up to
 * date with the option table and the JSON schema: run
 * `node dist/tools/gen-readme.js` after changing either.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';
import { COMMANDS, GENERIC_LONG_OPTIONS } from '../../src/cli/options';
import { PROTOCOL_MODULES } from '../../src/cli/protocols';
import { generatedReadme, jsonSchemaMarkdown, optionsMarkdown, README_FILE, REPO_ROOT, replaceSection } from '../../tools/readme-sections';
import { loadOutputSchema } from './json-schema-validator';

test('README.md is up to date with the option table and the JSON schema (node dist/tools/gen-readme.js)', () => {
  const readme = readFileSync(README_FILE, 'utf8');
  assert.equal(readme, generatedReadme(readme));
});

test('the option list names every command, option and protocol option', () => {
  const list = optionsMarkdown();
  const longs = [...GENERIC_LONG_OPTIONS.map((o) => o.name), ...PROTOCOL_MODULES.flatMap((m) => m.options.flatMap((o) => o.longs))];
  for (const name of longs) assert.match(list, new RegExp(`\`--${name}\``), name);
  for (const c of COMMANDS) assert.match(list, new RegExp(`^\\| \`-${c.letter}\`, .* \\| \\S.* \\|$`, 'm'), `-${c.letter} has a description`);
});

test('the JSON tables list every member of the schema', () => {
  const tables = jsonSchemaMarkdown(loadOutputSchema());
  const defs = loadOutputSchema().$defs;
  for (const def of ['flow', 'expectation', 'tupleFields', 'direction']) {
    for (const name of Object.keys(defs[def].properties)) assert.match(tables, new RegExp(`\\| \`${name}\` \\|`), `${def}.${name}`);
  }
});

test('a section is replaced between its markers only, and must exist', () => {
  const text = 'a\n<!-- x:begin -->\nold\n<!-- x:end -->\nb\n';
  assert.equal(replaceSection(text, 'x', 'new\n'), 'a\n<!-- x:begin -->\nnew\n<!-- x:end -->\nb\n');
  assert.throws(() => replaceSection(text, 'y', ''), /no <!-- y:begin -->/);
});

/** README.md's `## Library` section. */
function librarySection(): string {
  const readme = readFileSync(README_FILE, 'utf8');
  const from = readme.indexOf('\n## Library\n');
  assert.ok(from >= 0, 'README.md has a ## Library section');
  const to = readme.indexOf('\n## ', from + 1);
  return readme.slice(from, to < 0 ? undefined : to);
}

/** The public methods of a class as the package's declarations show them (private and internal ones are not there). */
function publicMethods(declarations: string, className: string): string[] {
  const file = ts.createSourceFile('x.d.ts', readFileSync(declarations, 'utf8'), ts.ScriptTarget.ES2022);
  const cls = file.statements.find((s): s is ts.ClassDeclaration => ts.isClassDeclaration(s) && s.name?.text === className)!;
  return cls.members
    .filter((m) => ts.isMethodDeclaration(m) && ts.isIdentifier(m.name))
    .filter((m) => !ts.getModifiers(m as ts.MethodDeclaration)?.some((mod) => mod.kind === ts.SyntaxKind.PrivateKeyword))
    .map((m) => (m.name as ts.Identifier).text);
}

test('the Library section names every public method of Conntrack and every exported constant', () => {
  const section = librarySection();
  const methods = publicMethods(path.join(REPO_ROOT, 'dist/src/api/conntrack.d.ts'), 'Conntrack');
  assert.ok(methods.includes('dump'), methods.join(' '));
  // The CLI's and conntrackd's fast paths over undecoded entries are not the package's API.
  for (const internal of ['dumpRaw', 'submitBatch', 'pipeline', 'deleteEntries', 'deleteWhere', 'bulkChange']) {
    assert.ok(!methods.includes(internal), `${internal} is public`);
  }
  assert.doesNotMatch(readFileSync(path.join(REPO_ROOT, 'dist/src/index.d.ts'), 'utf8'), /WireEntry/);
  for (const name of methods) assert.match(section, new RegExp(`\`(Conntrack\\.)?${name}\\(`), `${name}() is not in the Library section`);
  // ... and the methods table names nothing else (a method made internal or removed).
  const listed = [...section.matchAll(/^\| `(\w+)\(/gm)].map((m) => m[1]!);
  assert.ok(listed.includes('createMany'), listed.join(' '));
  assert.deepEqual(listed.filter((name) => !methods.includes(name)), [], 'listed in the Library section but not public');
  for (const name of ['Protocol', 'Family', 'Status', 'TcpState', 'SctpState', 'DccpState', 'EventMask', 'NetlinkError', 'ProtocolError', 'DumpInterruptedError']) {
    assert.match(section, new RegExp(`\`${name}\``), name);
  }
});
