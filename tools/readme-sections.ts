/**
 * The generated sections of README.md: the option list, from the option
 * table that also drives getopt, the legality checks and `conntrack -h`
 * (src/cli/options.ts, src/cli/protocols.ts), and the member tables of the
 * JSON output, from its schema (schema/conntrack-json.v1.json). Each sits
 * between `<!-- NAME:begin -->` and `<!-- NAME:end -->`; tools/gen-readme.ts
 * rewrites them and a unit test fails while README.md is out of date.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { COMMANDS, OPTIONS, type CommandKind, type LegalityRow } from '../src/cli/options';
import { PROTOCOL_MODULES } from '../src/cli/protocols';

export const REPO_ROOT = path.join(__dirname, '..', '..');
export const README_FILE = path.join(REPO_ROOT, 'README.md');
export const JSON_SCHEMA_FILE = path.join(REPO_ROOT, 'schema', 'conntrack-json.v1.json');

/** Replaces what lies between the markers of section `name`; throws when they are missing. */
export function replaceSection(text: string, name: string, content: string): string {
  const begin = `<!-- ${name}:begin -->\n`;
  const end = `<!-- ${name}:end -->`;
  const from = text.indexOf(begin);
  const to = text.indexOf(end, from);
  if (from < 0 || to < 0) throw new Error(`README.md has no ${begin.trim()} … ${end} section`);
  return text.slice(0, from + begin.length) + content + text.slice(to);
}

/** Text inside a table cell: pipes escaped, tabs and runs of spaces collapsed. */
const cell = (s: string): string => s.replace(/\s+/g, ' ').replace(/\|/g, '\\|').trim();
const code = (s: string): string => `\`${s}\``;

/** How the README names each command kind: `-L`, `-L expect`, … (the first command of a kind names it). */
const KIND_NAMES: ReadonlyMap<CommandKind, string> = new Map(
  COMMANDS.flatMap((c) => c.kinds.flatMap((kind, i) => (kind ? [[kind, `-${c.letter}${i === 1 ? ' expect' : ''}`] as const] : []))).reverse(),
);

/** The commands an option is allowed with, in table order; `*` marks those that require it. */
function allowedWith(legal: LegalityRow): string {
  const allowed = [...KIND_NAMES].filter(([kind]) => legal[kind] !== '.');
  const byKindOrder = allowed.sort(([a], [b]) => COMMAND_ORDER.indexOf(a) - COMMAND_ORDER.indexOf(b));
  return byKindOrder.map(([kind, name]) => code(name) + (legal[kind] === 'M' ? '\\*' : '')).join(' ');
}
const COMMAND_ORDER: readonly CommandKind[] = COMMANDS.flatMap((c) => c.kinds.filter((k): k is CommandKind => k !== undefined));

const argument = (name: string | undefined, arg: 'none' | 'required' | 'optional'): string => {
  const word = name?.trim() || (arg === 'none' ? '' : 'value');
  return word === '' ? '' : code(arg === 'optional' ? `[${word}]` : word);
};

/** The option list: commands, generic options, protocol options. */
export function optionsMarkdown(): string {
  const commands = COMMANDS.map((c) => {
    const names = [`-${c.letter}`, ...c.longs.map((l) => `--${l}`)].map(code).join(', ');
    const expect = c.kinds[1] !== undefined && c.kinds[1] !== c.kinds[0];
    return `| ${names} | ${expect ? code('expect') : ''} | ${cell(c.help?.text ?? c.doc ?? '')} |`;
  });
  const options = OPTIONS.map((o) => {
    const names = [...(o.letter ? [`-${o.letter}`] : []), ...o.longs.map((l) => `--${l}`)].map(code).join(', ');
    return `| ${names} | ${argument(o.help?.argName, o.arg)} | ${cell(o.help?.text ?? o.doc ?? '')} | ${allowedWith(o.legal)} |`;
  });
  const protocols = PROTOCOL_MODULES.map((m) => {
    const names = m.options.map((o) => o.longs.map((l) => code(`--${l}`)).join('/')).join(', ');
    return `| ${code(`-p ${m.name}`)} | ${names} |`;
  });
  return [
    'Commands; those with a table act on the conntrack table unless it is `expect` (`-L dying` and',
    '`-L unconfirmed` list those two kernel lists):',
    '',
    '| command | table | does |',
    '|---|---|---|',
    ...commands,
    '',
    'Options, and the commands that accept them (`*`: required there):',
    '',
    '| option | argument | meaning | commands |',
    '|---|---|---|---|',
    ...options,
    '',
    'Protocol options, accepted after `-p` names the protocol (`conntrack -h -p NAME` describes them;',
    'other protocols, by name or number, have none):',
    '',
    '| protocol | options |',
    '|---|---|',
    ...protocols,
    '',
  ].join('\n');
}

type Schema = { readonly [keyword: string]: any };

/** A member's type in words, from its schema. */
function typeText(s: Schema, defs: Schema): string {
  if (s.$ref !== undefined) {
    const name = (s.$ref as string).replace('#/$defs/', '');
    const def = defs[name] as Schema;
    if (def.title !== undefined) return def.title.toLowerCase();
    return typeText(def, defs);
  }
  if (s.enum !== undefined) {
    const values = s.enum as string[];
    return values.length <= 9 ? values.map(code).join(', ') : `name (${values.length} in the schema)`;
  }
  if (s.anyOf !== undefined) return [...new Set((s.anyOf as Schema[]).map((b) => typeText(b, defs)))].join(' or ');
  if (s.type === 'array') return `array of ${typeText(s.items as Schema, defs)}`;
  if (s.type === 'integer') {
    if (s.maximum === 9007199254740991) return 'integer up to 2^53 − 1';
    return s.maximum === undefined ? 'integer' : `integer ${s.minimum ?? ''}–${s.maximum}`;
  }
  if (s.format === 'date-time') return 'ISO 8601 string';
  if (s.type === 'string' && /^\^\[1-9\]\[0-9\]/.test(s.pattern ?? '')) return 'decimal string';
  return s.type as string;
}

/** The description of a member, or of the definition it refers to. */
function describe(s: Schema, defs: Schema): string {
  if (s.description !== undefined) return s.description as string;
  return s.$ref === undefined ? '' : describe(defs[(s.$ref as string).replace('#/$defs/', '')] as Schema, defs);
}

function memberRows(properties: Schema, defs: Schema, prefix = ''): string[] {
  return Object.entries(properties).flatMap(([name, s]: [string, Schema]) => [
    `| ${code(prefix + name)} | ${cell(typeText(s, defs))} | ${cell(describe(s, defs))} |`,
    ...(s.type === 'object' && s.properties ? memberRows(s.properties as Schema, defs, `${prefix}${name}.`) : []),
  ]);
}

/** The member tables of each object of the JSON output. */
export function jsonSchemaMarkdown(schema: Schema = JSON.parse(readFileSync(JSON_SCHEMA_FILE, 'utf8'))): string {
  const defs = schema.$defs as Schema;
  const table = (def: string, intro: string): string[] => {
    const d = defs[def] as Schema;
    const properties = d.$ref === undefined ? d.properties : { ...defs[(d.$ref as string).replace('#/$defs/', '')].properties, ...d.properties };
    const required = (d.required as string[] | undefined) ?? [];
    const always = required.length > 0 ? ` Always present: ${required.map(code).join(', ')}.` : '';
    return [`**${d.title}** (${code(`#/$defs/${def}`)}): ${intro}${always}`, '', '| member | type | meaning |', '|---|---|---|', ...memberRows(properties as Schema, defs), ''];
  };
  return [
    ...table('flow', 'one per line of `-L`, `-G`, `-D`, `-U` and `-E`.'),
    ...table('expectation', 'one per line of `-L expect` and `-E expect`.'),
    ...table('tuple', cell(describe(defs.tupleFields as Schema, defs))),
    ...table('direction', '`orig` and `reply` of an entry: the tuple members and the counters.'),
  ].join('\n');
}

/** README.md with every generated section up to date. */
export function generatedReadme(text: string): string {
  return replaceSection(replaceSection(text, 'options', optionsMarkdown()), 'json-schema', jsonSchemaMarkdown());
}
