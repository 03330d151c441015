import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CountersAttr, CtAttr, SecctxAttr, TimestampAttr } from '../../src/ctnetlink/constants';
import type { Counters, Flow } from '../../src/ctnetlink/flow';
import { decodeFlow, encodeFlow } from '../../src/ctnetlink/flow-codec';
import { WireEntry } from '../../src/ctnetlink/wire-entry';
import { formatText, type TextOptions } from '../../src/format/text';
import { TextBuffer } from '../../src/format/text-buffer';
import { writeTextLine } from '../../src/format/text-wire';
import { MessageWriter } from '../../src/netlink/attributes';
import { flowFixtureNames, loadMessage } from './ctnetlink-fixtures';
import { labelMap, loadCapture, ORACLE_CASES } from './format-fixtures';

/*
 * writeTextLine (bytes in, bytes out) must print exactly what formatText
 * prints for the decoded entry, for every entry and every option: the CLI
 * uses the first, everything else the second.
 */

process.env.TZ = 'UTC';

/** The attributes a dump would carry for `f`: what encodeFlow writes plus the read-only state. */
function wireOf(f: Flow): Buffer {
  const w = new MessageWriter();
  encodeFlow(w, f);
  if (f.use !== undefined) w.u32be(CtAttr.USE, f.use);
  if (f.secmark !== undefined) w.u32be(CtAttr.SECMARK, f.secmark);
  if (f.secctx !== undefined) {
    const n = w.beginNested(CtAttr.SECCTX);
    w.string(SecctxAttr.NAME, f.secctx);
    w.endNested(n);
  }
  const counters = (type: number, c: Counters | undefined, narrow: boolean): void => {
    if (!c) return;
    const n = w.beginNested(type);
    if (narrow && c.packets < 2n ** 32n) w.u32be(CountersAttr.PACKETS32, Number(c.packets));
    else w.u64be(CountersAttr.PACKETS, c.packets);
    w.u64be(CountersAttr.BYTES, c.bytes);
    w.endNested(n);
  };
  counters(CtAttr.COUNTERS_ORIG, f.countersOrig, false);
  counters(CtAttr.COUNTERS_REPLY, f.countersReply, true);
  if (f.timestamp) {
    const n = w.beginNested(CtAttr.TIMESTAMP);
    if (f.timestamp.start !== undefined) w.u64be(TimestampAttr.START, f.timestamp.start);
    if (f.timestamp.stop !== undefined) w.u64be(TimestampAttr.STOP, f.timestamp.stop);
    w.endNested(n);
  }
  return w.toBuffer();
}

const LABELS = labelMap({ 0: 'zero', 1: 'one', 5: 'five-5', 9: 'nine', 70: 'seventy' });
const OPTIONS: TextOptions[] = ([
  {},
  { extended: true },
  { id: true, ktimestamp: true },
  { labelName: LABELS, extended: true, id: true },
  { event: 'new' },
  { event: 'destroy', extended: true, ktimestamp: true, labelName: LABELS },
] as TextOptions[]).map((o) => ({ ...o, nowSeconds: () => 1795424651 }));

function assertSame(buf: Buffer, start: number, end: number, family: number, what: string): void {
  const entry = new WireEntry().set(buf, start, end, family);
  const flow = decodeFlow(buf, start, end, family);
  for (const opts of OPTIONS) {
    const out = new TextBuffer(16);
    writeTextLine(out, entry, opts);
    writeTextLine(out, entry, opts);
    const line = formatText(flow, opts) + '\n';
    assert.equal(out.buf.toString('utf8', 0, out.length), line + line, `${what} ${JSON.stringify({ ...opts, labelName: !!opts.labelName })}`);
  }
}

describe('writeTextLine prints what formatText prints', () => {
  test('captured kernel messages', () => {
    for (const name of flowFixtureNames()) {
      const m = loadMessage(name);
      assertSame(m.buf, m.start, m.end, m.family, name);
    }
  });

  test('the format capture (counters, timestamps, labels, every protocol)', () => {
    for (const [i, flow] of loadCapture().flows.entries()) {
      const wire = wireOf(flow);
      assertSame(wire, 0, wire.length, flow.family, `flows.json #${i}`);
    }
  });

  test('the oracle edge cases (absent fields, odd families and states, 64-bit counters)', () => {
    for (const c of ORACLE_CASES) {
      const wire = wireOf(c.flow);
      assertSame(wire, 0, wire.length, c.flow.family, c.name);
    }
  });

  test('a line longer than the buffer makes it grow', () => {
    const flow = loadCapture().flows[0]!;
    const wire = wireOf(flow);
    const out = new TextBuffer(1);
    writeTextLine(out, new WireEntry().set(wire, 0, wire.length, flow.family), {});
    assert.equal(out.buf.toString('utf8', 0, out.length), formatText(decodeFlow(wire, 0, wire.length, flow.family)) + '\n');
  });
});
