/**
 * The JSON Schema of `-o json` (schema/conntrack-json.v1.json): the small
 * validator the tests use, the schema against every flow the formatters can
 * be given in the unit tier (kernel captures, oracle edge cases, events,
 * expectations), and the schema's name lists against the tables the
 * formatters print from. test/kernel/json-schema.test.ts checks real output.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ExpectFlag } from '../../src/ctnetlink/constants';
import { decodeExpectation } from '../../src/ctnetlink/expect-codec';
import type { Expectation } from '../../src/ctnetlink/expect';
import { decodeFlow } from '../../src/ctnetlink/flow-codec';
import { STATUS_NAMES } from '../../src/ctnetlink/status';
import { formatJson } from '../../src/format/json';
import { formatExpectationJson } from '../../src/format/json-expect';
import { DCCP_STATES, l3Name, l4Name, SCTP_STATES, TCP_STATES } from '../../src/format/names';
import { expectFlagNames } from '../../src/format/text-expect';
import { flowFixtureNames, loadMessage } from './ctnetlink-fixtures';
import { loadCapture, ORACLE_CASES, ORACLE_LABELS } from './format-fixtures';
import { loadOutputSchema, SchemaValidator } from './json-schema-validator';

describe('the schema validator', () => {
  const validator = new SchemaValidator({
    $defs: {
      port: { type: 'integer', minimum: 0, maximum: 65535 },
      base: { type: 'object', properties: { a: { $ref: '#/$defs/port' } } },
      closed: { $ref: '#/$defs/base', properties: { b: { type: 'string' } }, unevaluatedProperties: false },
    },
    type: 'object',
    required: ['kind'],
    additionalProperties: false,
    properties: {
      kind: { enum: ['x', 'y'] },
      name: { type: 'string', pattern: '^[a-z]+$', minLength: 2 },
      list: { type: 'array', items: { anyOf: [{ type: 'string' }, { type: 'integer' }] } },
      one: { oneOf: [{ type: 'integer' }, { type: 'number', minimum: 10 }] },
      closed: { $ref: '#/$defs/closed' },
      fixed: { const: 3 },
    },
  });
  const good = { kind: 'x', name: 'ab', list: ['s', 1], one: 2, closed: { a: 1, b: 'c' }, fixed: 3 };

  test('accepts a valid document', () => {
    assert.deepEqual(validator.validate(good), []);
  });

  const bad: [string, unknown, RegExp][] = [
    ['wrong type', 'x', /is not of type object/],
    ['missing required member', { name: 'ab' }, /missing member kind/],
    ['extra member', { ...good, extra: 1 }, /\/extra: no value is allowed/],
    ['enum miss', { ...good, kind: 'z' }, /\/kind: "z" is not one of/],
    ['pattern miss', { ...good, name: 'AB' }, /does not match/],
    ['too short', { ...good, name: 'a' }, /shorter than 2/],
    ['items: no branch of anyOf', { ...good, list: ['s', true] }, /\/list\/1: matches none of anyOf/],
    ['integer is not a number', { ...good, one: 1.5 }, /matches no branch of oneOf/],
    ['two branches of oneOf', { ...good, one: 12 }, /matches 2 branches of oneOf/],
    ['range through $ref', { ...good, closed: { a: 70000 } }, /\/closed\/a: 70000 is greater than 65535/],
    ['negative', { ...good, closed: { a: -1 } }, /less than 0/],
    ['unevaluated member', { ...good, closed: { a: 1, c: 1 } }, /\/closed\/c: no value is allowed/],
    ['const', { ...good, fixed: 4 }, /is not 3/],
  ];
  for (const [name, doc, message] of bad) {
    test(`rejects: ${name}`, () => {
      const errors = validator.validate(doc);
      assert.ok(errors.some((e) => message.test(e)), `expected ${message} in ${JSON.stringify(errors)}`);
    });
  }

  test('refuses schemas it cannot fully check', () => {
    assert.throws(() => new SchemaValidator({ type: 'object', patternProperties: {} }), /unsupported keyword patternProperties/);
    assert.throws(() => new SchemaValidator({ properties: { a: { minItems: 1 } } }), /#\/properties\/a: unsupported keyword minItems/);
    assert.throws(() => new SchemaValidator({ $ref: '#/$defs/missing' }), /unresolvable reference/);
    assert.throws(() => new SchemaValidator({ $ref: 'other.json#/x' }), /same-document/);
  });
});

describe('schema/conntrack-json.v1.json', () => {
  const schema = loadOutputSchema();
  const validator = new SchemaValidator(schema);
  const assertValid = (line: string): void => assert.deepEqual(validator.validate(JSON.parse(line)), [], line);

  test('is draft 2020-12 and names its version', () => {
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.equal(schema.$id, 'urn:conntrack-ts:json-output:v1');
  });

  test('every captured kernel message, in every shape the printer gives it', () => {
    const names = flowFixtureNames();
    assert.ok(names.length > 20);
    for (const name of names) {
      const m = loadMessage(name);
      const flow = decodeFlow(m.buf, m.start, m.end, m.family);
      assertValid(formatJson(flow));
      assertValid(formatJson(flow, { event: 'destroy', time: new Date(), portid: 4077, progname: 'conntrack' }));
    }
  });

  test('the captured listing, with its label map', () => {
    const capture = loadCapture();
    for (const flow of capture.flows) assertValid(formatJson(flow, { labelName: capture.labelName }));
  });

  test('the oracle edge cases: states past the tables, offload, helpers, labels, huge counters', () => {
    for (const c of ORACLE_CASES) assertValid(formatJson(c.flow, { event: c.event, labelName: c.labels ? ORACLE_LABELS : undefined }));
  });

  test('expectations, captured and with every optional member', () => {
    const m = loadMessage('expect-tcp-ipv4-ftp');
    const captured = decodeExpectation(m.buf, m.start, m.end, m.family);
    assertValid(formatExpectationJson(captured));
    const full: Expectation = {
      ...captured,
      zone: 3,
      flags: ExpectFlag.PERMANENT | ExpectFlag.USERSPACE,
      nat: { dir: 1, tuple: { src: '10.0.0.1', proto: 6, sport: 21 } },
      fn: 'nat-follow-master',
    };
    assertValid(formatExpectationJson(full, { event: 'new', time: new Date() }));
  });

  test('rejects what the formatters must never print', () => {
    const m = loadMessage(flowFixtureNames().find((n) => n.startsWith('real-tcp-ipv4'))!);
    const line = JSON.parse(formatJson(decodeFlow(m.buf, m.start, m.end, m.family))) as Record<string, any>;
    const mutations: [string, (o: Record<string, any>) => void][] = [
      ['a port as a string', (o) => (o.orig.sport = String(o.orig.sport))],
      ['an undocumented member', (o) => (o.ttl = 1)],
      ['an undocumented tuple member', (o) => (o.reply.flags = 0)],
      ['counters outside a direction', (o) => (o.packets = 1)],
      ['an unknown status bit', (o) => (o.status = ['SEEN_REPLY', 'BIT_17'])],
      ['an unknown state', (o) => (o.state = 'LISTEN')],
      ['a negative timeout', (o) => (o.timeout = -1)],
      ['a small counter as a string', (o) => (o.orig.packets = '12')],
      ['no reply tuple', (o) => delete o.reply],
      ['an expectation member', (o) => (o.master = o.orig)],
      ['an address that is neither', (o) => (o.orig.src = 'localhost')],
    ];
    assert.deepEqual(validator.validate(line), []);
    for (const [name, mutate] of mutations) {
      const copy = structuredClone(line);
      mutate(copy);
      assert.notDeepEqual(validator.validate(copy), [], name);
    }
  });

  test('its name lists are the formatters’ tables', () => {
    const defs = schema.$defs;
    assert.deepEqual(defs.flow.properties.status.items.enum, STATUS_NAMES);
    assert.deepEqual(defs.flow.properties.state.enum, [...new Set([...TCP_STATES, ...SCTP_STATES, ...DCCP_STATES])]);
    const everyProtocol = [...new Set(Array.from({ length: 256 }, (_, p) => l4Name(p)))];
    assert.deepEqual([...defs.protocol.enum].sort(), everyProtocol.sort());
    assert.deepEqual(defs.family.enum, [l3Name(2), l3Name(10), l3Name(0)]);
    assert.deepEqual(defs.expectation.properties.flags.items.enum, expectFlagNames(0xffffffff));
  });
});
