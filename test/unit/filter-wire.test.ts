import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FlowFilter } from '../../src/ctnetlink/filter';
import { compileFilter } from '../../src/ctnetlink/filter-match';
import { compileWirePrefilter } from '../../src/ctnetlink/filter-wire';
import { WireEntry } from '../../src/ctnetlink/wire-entry';
import { flowFixtureNames, loadMessage } from './ctnetlink-fixtures';

/*
 * The prefilter may only ever skip entries the predicate rejects: for every
 * captured entry and filter, prefilter false implies predicate false.
 */

const PROTOS = [undefined, 1, 6, 17, 33, 47, 58, 132, 136, 200];
const FAMILIES = [undefined, 2, 10];

function filters(): FlowFilter[] {
  const out: FlowFilter[] = [];
  for (const family of FAMILIES) {
    for (const o of PROTOS) {
      for (const r of PROTOS) {
        const f: FlowFilter = {};
        if (family !== undefined) f.family = family;
        if (o !== undefined) f.orig = o === 6 ? { proto: o, dport: 443 } : { proto: o };
        if (r !== undefined) f.reply = { proto: r };
        out.push(f);
      }
    }
  }
  return out;
}

test('compileWirePrefilter never rejects what compileFilter accepts', () => {
  const entries = flowFixtureNames().map((name) => {
    const m = loadMessage(name);
    return new WireEntry().set(m.buf, m.start, m.end, m.family);
  });
  let skipped = 0;
  for (const f of filters()) {
    const pre = compileWirePrefilter(f);
    const match = compileFilter(f);
    for (const e of entries) {
      if (pre === undefined || pre(e)) continue;
      skipped++;
      assert.equal(match(e.flow()), false, JSON.stringify(f));
    }
  }
  assert.ok(skipped > 100, `the prefilter skipped ${skipped} entries`);
  assert.equal(compileWirePrefilter({ mark: { value: 1, mask: 1 } }), undefined);
});
