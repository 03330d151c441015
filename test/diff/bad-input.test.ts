/** Bad command lines, first half (see bad-input-rows.ts), and the table's coverage. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeHalf, ROWS } from './bad-input-rows';

describeHalf(0);

test('the bad-input table covers every category, at least 60 rows, no row twice', () => {
  const categories = new Set(ROWS.map(([c]) => c));
  assert.equal(categories.size, 15);
  assert.ok(ROWS.length >= 60, `${ROWS.length} rows`);
  assert.equal(new Set(ROWS.map(([, line]) => line)).size, ROWS.length);
});
