/**
 * A JSON Schema (draft 2020-12) validator for the subset of keywords our
 * schema files use — small enough to read in one sitting, so the tests that
 * check our `-o json` output against schema/ need no dependency. A schema
 * that uses any keyword outside the subset is refused when the validator is
 * built: a keyword silently ignored would make every document pass it.
 *
 * Subset: type, enum, const, pattern, minLength, minimum, maximum, required,
 * properties, additionalProperties, unevaluatedProperties, items, $ref (to
 * `#/…` inside the same document), anyOf, oneOf; annotations $schema, $id,
 * $defs, $comment, title, description, format (an annotation in 2020-12).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The schema of `-o json` (README "JSON output"). */
export const OUTPUT_SCHEMA_FILE = path.join(__dirname, '..', '..', '..', 'schema', 'conntrack-json.v1.json');

/** The schema of `-o json`, parsed. */
export function loadOutputSchema(): Record<string, any> {
  return JSON.parse(readFileSync(OUTPUT_SCHEMA_FILE, 'utf8')) as Record<string, any>;
}

type SchemaObject = { readonly [keyword: string]: unknown };
type Schema = boolean | SchemaObject;

const ANNOTATIONS = new Set(['$schema', '$id', '$defs', '$comment', 'title', 'description', 'format']);
const ASSERTIONS = new Set([
  'type', 'enum', 'const', 'pattern', 'minLength', 'minimum', 'maximum', 'required', 'properties',
  'additionalProperties', 'unevaluatedProperties', 'items', '$ref', 'anyOf', 'oneOf',
]);

/** What evaluating a value against a schema found: errors, and the object members it evaluated (for unevaluatedProperties). */
interface Outcome {
  errors: string[];
  evaluated: Set<string>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function typeMatches(type: string, v: unknown): boolean {
  switch (type) {
    case 'object':
      return isObject(v);
    case 'array':
      return Array.isArray(v);
    case 'integer':
      return Number.isInteger(v);
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'null':
      return v === null;
    default:
      return typeof v === type;
  }
}

/** Equality of JSON values (what enum and const compare by). */
function jsonEqual(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => k in b && jsonEqual(a[k], b[k]));
  }
  return a === b;
}

export class SchemaValidator {
  constructor(private readonly root: SchemaObject) {
    this.checkKeywords(root, '#');
  }

  /** The problems of `value` as `path: message` lines; empty when it is valid. */
  validate(value: unknown, pointer = '#'): string[] {
    return this.evaluate(this.resolve(pointer), value, '').errors;
  }

  /** The subschema at a `#/…` JSON pointer of the root document. */
  resolve(pointer: string): Schema {
    if (!pointer.startsWith('#')) throw new Error(`only same-document references are supported: ${pointer}`);
    let node: unknown = this.root;
    for (const raw of pointer.slice(1).split('/').slice(1)) {
      const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
      if (!isObject(node) || !(key in node)) throw new Error(`unresolvable reference ${pointer}`);
      node = node[key];
    }
    if (typeof node !== 'boolean' && !isObject(node)) throw new Error(`${pointer} is not a schema`);
    return node;
  }

  private checkKeywords(schema: unknown, at: string): void {
    if (typeof schema === 'boolean') return;
    if (!isObject(schema)) throw new Error(`${at}: not a schema`);
    for (const [keyword, sub] of Object.entries(schema)) {
      if (!ANNOTATIONS.has(keyword) && !ASSERTIONS.has(keyword)) throw new Error(`${at}: unsupported keyword ${keyword}`);
      if (keyword === '$ref') this.resolve(sub as string);
      if (keyword === 'properties' || keyword === '$defs') {
        for (const [name, s] of Object.entries(sub as object)) this.checkKeywords(s, `${at}/${keyword}/${name}`);
      }
      if (keyword === 'anyOf' || keyword === 'oneOf') (sub as unknown[]).forEach((s, i) => this.checkKeywords(s, `${at}/${keyword}/${i}`));
      if (keyword === 'items' || keyword === 'additionalProperties' || keyword === 'unevaluatedProperties') this.checkKeywords(sub, `${at}/${keyword}`);
    }
  }

  private evaluate(schema: Schema, v: unknown, path: string): Outcome {
    const out: Outcome = { errors: [], evaluated: new Set() };
    const fail = (message: string): void => void out.errors.push(`${path || '/'}: ${message}`);
    if (schema === true) return out;
    if (schema === false) {
      fail('no value is allowed here (unexpected member)');
      return out;
    }
    const s = schema;
    /** Another schema applied to the same value: its evaluated members count here too. */
    const merge = (o: Outcome): void => {
      out.errors.push(...o.errors);
      o.evaluated.forEach((k) => out.evaluated.add(k));
    };
    const child = (sub: Schema, value: unknown, at: string): void => void out.errors.push(...this.evaluate(sub, value, at).errors);
    if (s.type !== undefined) {
      const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
      if (!types.some((t) => typeMatches(t, v))) {
        fail(`${JSON.stringify(v)} is not of type ${types.join(' or ')}`);
        return out;
      }
    }
    if (s.enum !== undefined && !(s.enum as unknown[]).some((e) => jsonEqual(e, v))) fail(`${JSON.stringify(v)} is not one of ${JSON.stringify(s.enum)}`);
    if ('const' in s && !jsonEqual(s.const, v)) fail(`${JSON.stringify(v)} is not ${JSON.stringify(s.const)}`);
    if (typeof v === 'string') {
      if (s.pattern !== undefined && !new RegExp(s.pattern as string, 'u').test(v)) fail(`${JSON.stringify(v)} does not match ${s.pattern}`);
      if (s.minLength !== undefined && [...v].length < (s.minLength as number)) fail(`${JSON.stringify(v)} is shorter than ${s.minLength}`);
    }
    if (typeof v === 'number') {
      if (s.minimum !== undefined && v < (s.minimum as number)) fail(`${v} is less than ${s.minimum}`);
      if (s.maximum !== undefined && v > (s.maximum as number)) fail(`${v} is greater than ${s.maximum}`);
    }
    if (s.$ref !== undefined) merge(this.evaluate(this.resolve(s.$ref as string), v, path));
    if (s.anyOf !== undefined) {
      const valid = (s.anyOf as Schema[]).map((b) => this.evaluate(b, v, path)).filter((o) => o.errors.length === 0);
      if (valid.length === 0) fail('matches none of anyOf');
      valid.forEach(merge);
    }
    if (s.oneOf !== undefined) {
      const branches = (s.oneOf as Schema[]).map((b) => this.evaluate(b, v, path));
      const valid = branches.filter((o) => o.errors.length === 0);
      if (valid.length === 1) merge(valid[0]!);
      else if (valid.length > 1) fail(`matches ${valid.length} branches of oneOf`);
      else fail(`matches no branch of oneOf:\n  ${branches.flatMap((o) => o.errors).join('\n  ')}`);
    }
    if (Array.isArray(v) && s.items !== undefined) v.forEach((item, i) => child(s.items as Schema, item, `${path}/${i}`));
    if (isObject(v)) this.evaluateMembers(s, v, path, out, child, fail);
    return out;
  }

  private evaluateMembers(
    s: SchemaObject,
    v: Record<string, unknown>,
    path: string,
    out: Outcome,
    child: (sub: Schema, value: unknown, at: string) => void,
    fail: (message: string) => void,
  ): void {
    for (const name of (s.required as string[] | undefined) ?? []) if (!(name in v)) fail(`missing member ${name}`);
    const properties = (s.properties ?? {}) as Record<string, Schema>;
    for (const [name, value] of Object.entries(v)) {
      const sub = name in properties ? properties[name] : (s.additionalProperties as Schema | undefined);
      if (sub === undefined) continue;
      child(sub, value, `${path}/${name}`);
      out.evaluated.add(name);
    }
    if (s.unevaluatedProperties === undefined) return;
    for (const [name, value] of Object.entries(v)) {
      if (!out.evaluated.has(name)) child(s.unevaluatedProperties as Schema, value, `${path}/${name}`);
    }
  }
}
