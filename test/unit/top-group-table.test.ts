import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CtAttr } from '../../src/ctnetlink/constants';
import type { Flow } from '../../src/ctnetlink/flow';
import { attrMask, Slot } from '../../src/ctnetlink/wire-entry';
import { GroupTable } from '../../src/top/group-table';
import { wireEntry } from './conntrackd-fixtures';

const TCP = 6;
const UDP = 17;

/** Entry i of a table whose group answers are known: source i % 3000, some IPv6, some with counters. */
function entry(i: number): { flow: Flow; src: string } {
  const s = i % 3000;
  const v6 = s % 5 === 0;
  const src = v6 ? `2001:db8:${(s + 1).toString(16)}::${((s % 7) + 1).toString(16)}` : `10.${s >> 8}.${s & 255}.1`;
  const dst = v6 ? '2001:db8::1' : '10.200.0.1';
  const l3 = v6 ? 10 : 2;
  const proto = s % 2 ? UDP : TCP;
  return {
    src,
    flow: {
      family: l3,
      orig: { l3, src, dst, proto, sport: 1000 + (i % 50000), dport: 53 },
      reply: { l3, src: dst, dst: src, proto, sport: 53, dport: 1000 + (i % 50000) },
      timeout: 60,
      ...(i % 4 === 0 ? { countersOrig: { packets: 2n, bytes: 100n }, countersReply: { packets: 1n, bytes: BigInt(s) } } : {}),
    },
  };
}

test('GroupTable: thousands of groups past its expected size (grown and rehashed) count like a Map of addresses', () => {
  // Sources s get a count that depends on s (1 + s % 3000 spread over 12000 entries), so the order has ties to break.
  const table = new GroupTable('src', 10);
  const expected = new Map<string, { entries: number; packets: number; bytes: number }>();
  for (let i = 0; i < 12000; i++) {
    if (i >= 3000 && (i % 3000) % 4 !== 0) continue;
    const { flow, src } = entry(i);
    table.add(wireEntry(flow));
    const row = expected.get(src) ?? { entries: 0, packets: 0, bytes: 0 };
    row.entries++;
    row.packets += Number((flow.countersOrig?.packets ?? 0n) + (flow.countersReply?.packets ?? 0n));
    row.bytes += Number((flow.countersOrig?.bytes ?? 0n) + (flow.countersReply?.bytes ?? 0n));
    expected.set(src, row);
  }
  assert.equal(table.size, expected.size);
  assert.ok(table.counted);
  const all = table.top('entries', expected.size);
  assert.equal(all.length, expected.size);
  for (const row of all) assert.deepEqual({ entries: row.entries, packets: row.packets, bytes: row.bytes }, expected.get(row.group), row.group);
  // Largest first; ties in address order, IPv4 before IPv6.
  const v4 = (g: string): number => g.split('.').reduce((n, b) => n * 256 + Number(b), 0);
  for (let i = 1; i < all.length; i++) {
    const [a, b] = [all[i - 1]!.group, all[i]!.group];
    assert.ok(all[i - 1]!.entries >= all[i]!.entries, `${a} before ${b}`);
    if (all[i - 1]!.entries !== all[i]!.entries) continue;
    assert.ok(!(a.includes(':') && !b.includes(':')), `IPv4 ${b} after IPv6 ${a}`);
    if (!a.includes(':') && !b.includes(':')) assert.ok(v4(a) < v4(b), `${a} before ${b}`);
  }
  assert.deepEqual(
    table.top('bytes', 2).map((r) => r.group),
    [...expected].sort(([, x], [, y]) => y.bytes - x.bytes).slice(0, 2).map(([g]) => g),
  );
  assert.deepEqual(
    table.top('entries', 3, true).map((r) => r.entries),
    [...expected.values()].map((r) => r.entries).sort((x, y) => x - y).slice(0, 3),
  );
});

test('GroupTable: an entry without the key field is its own group (dport of ICMP: -)', () => {
  const table = new GroupTable('dport');
  const { flow } = entry(1);
  table.add(wireEntry(flow));
  const icmp = { l3: 2, proto: 1, icmpType: 8, icmpCode: 0, icmpId: 7 };
  table.add(wireEntry({ ...flow, orig: { ...flow.orig, ...icmp, sport: undefined, dport: undefined }, reply: { ...flow.reply, ...icmp, icmpType: 0, sport: undefined, dport: undefined } }));
  assert.deepEqual(
    table.top('entries', 5).map((r) => [r.group, r.entries]),
    [
      ['53/udp', 1],
      ['-', 1],
    ],
  );
});

test('WireEntry.index(only): the slots of the attributes asked for are those of a full index, the others absent until asked', () => {
  for (let i = 0; i < 40; i++) {
    const { flow } = entry(i * 77);
    const full = wireEntry(flow).index();
    const partial = wireEntry(flow).index(attrMask(CtAttr.TUPLE_ORIG, CtAttr.COUNTERS_ORIG));
    for (const slot of [Slot.ORIG, Slot.ORIG + 1, Slot.ORIG + 2, Slot.ORIG + 3, Slot.ORIG + 4, Slot.COUNTERS_ORIG, Slot.PACKETS_ORIG, Slot.BYTES_ORIG]) {
      assert.equal(partial.at[slot], full.at[slot], `slot ${slot}`);
    }
    assert.equal(partial.at[Slot.REPLY], -1);
    assert.equal(partial.at[Slot.TIMEOUT], -1);
    // Asking for more later locates the rest, keeping what was found.
    partial.index(attrMask(CtAttr.TIMEOUT));
    assert.equal(partial.at[Slot.TIMEOUT], full.at[Slot.TIMEOUT]);
    assert.equal(partial.at[Slot.ORIG], full.at[Slot.ORIG]);
    assert.deepEqual(partial.index().at, full.at);
  }
});
