/**
 * The generated sections of README.md (tools/readme-sections.ts) are up to
 * date with the option table and the JSON schema: run
 * `node dist/tools/gen-readme.js` after changing either.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { COMMANDS, GENERIC_LONG_OPTIONS } from '../../src/cli/options';
import { PROTOCOL_MODULES } from '../../src/cli/protocols';
import { generatedReadme, jsonSchemaMarkdown, optionsMarkdown, README_FILE, replaceSection } from '../../tools/readme-sections';
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
