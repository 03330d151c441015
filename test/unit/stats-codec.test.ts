import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StatsCpuAttr, StatsExpAttr, StatsGlobalAttr } from '../../src/ctnetlink/constants';
import { decodeStats } from '../../src/ctnetlink/stats-codec';
import { ProtocolError } from '../../src/netlink/errors';
import { attr, be32, fixtureNames, fixtureText, loadMessage, u8 } from './ctnetlink-fixtures';

/** The names `conntrack -S` gives the per-CPU counters, by attribute number. */
const CPU_STAT_NAMES = new Map<number, string>([
  [StatsCpuAttr.FOUND, 'found'],
  [StatsCpuAttr.INVALID, 'invalid'],
  [StatsCpuAttr.INSERT, 'insert'],
  [StatsCpuAttr.INSERT_FAILED, 'insert_failed'],
  [StatsCpuAttr.DROP, 'drop'],
  [StatsCpuAttr.EARLY_DROP, 'early_drop'],
  [StatsCpuAttr.ERROR, 'error'],
  [StatsCpuAttr.SEARCH_RESTART, 'search_restart'],
  [StatsCpuAttr.CLASH_RESOLVE, 'clash_resolve'],
  [StatsCpuAttr.CHAIN_TOOLONG, 'chaintoolong'],
]);

describe('decodeStats on captured kernel messages', () => {
  const cpus = fixtureNames('stats-cpu-');
  assert.ok(cpus.length > 0, 'per-CPU statistics fixtures exist');
  for (const name of cpus) {
    it(`${name}: the counters conntrack -S printed, in wire order`, () => {
      const m = loadMessage(name);
      const [cpu, ...pairs] = fixtureText(name)!.trim().split(/\s+/);
      assert.equal(cpu, `cpu=${m.resId}`);
      const printed = decodeStats(m.buf, m.start, m.end).map(({ type, value }) => `${CPU_STAT_NAMES.get(type)}=${value}`);
      assert.deepEqual(printed, pairs);
    });
  }

  it('stats-global: the entry count conntrack -C printed, then the table size', () => {
    const m = loadMessage('stats-global');
    const [entries, maxEntries] = decodeStats(m.buf, m.start, m.end);
    assert.deepEqual(entries, { type: StatsGlobalAttr.ENTRIES, value: Number(fixtureText('stats-global')) });
    assert.equal(maxEntries?.type, StatsGlobalAttr.MAX_ENTRIES);
    assert.ok(maxEntries!.value > 0);
  });

  it('stats-expect-cpu-*: new, create, delete', () => {
    for (const name of fixtureNames('stats-expect-cpu-')) {
      const m = loadMessage(name);
      assert.deepEqual(
        decodeStats(m.buf, m.start, m.end).map((s) => s.type),
        [StatsExpAttr.NEW, StatsExpAttr.CREATE, StatsExpAttr.DELETE],
      );
    }
  });
});

describe('decodeStats on hand-made input', () => {
  it('keeps unknown counters, by number and in order', () => {
    const bytes = Buffer.concat([attr(40, be32(7)), attr(StatsCpuAttr.FOUND, be32(0xffffffff))]);
    assert.deepEqual(decodeStats(bytes, 0, bytes.length), [
      { type: 40, value: 7 },
      { type: StatsCpuAttr.FOUND, value: 0xffffffff },
    ]);
  });

  it('throws ProtocolError for a short counter or a truncated message', () => {
    const short = attr(StatsCpuAttr.FOUND, u8(1));
    assert.throws(() => decodeStats(short, 0, short.length), ProtocolError);
    const whole = attr(StatsCpuAttr.FOUND, be32(1));
    assert.throws(() => decodeStats(whole, 0, whole.length - 1), ProtocolError);
  });
});
