/**
 * Library methods made for daemons: undecoded events, the port ids of the
 * library's own sockets, a delete by predicate, and growing an event
 * socket's buffer while it listens.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { Conntrack } from '../../src/api/conntrack';
import type { RawConntrackEvent } from '../../src/api/events';
import { decodeFlow } from '../../src/ctnetlink/flow-codec';
import { Slot, TupleField } from '../../src/ctnetlink/wire-entry';
import { ctFill, REFERENCE_CONNTRACK, withNetns } from './netns';
import { until } from './wait';

const entries = (n: number): string[][] =>
  Array.from({ length: n }, (_, i) => `-s 10.0.0.${i + 1} -d 10.9.0.1 -p udp --sport 1000 --dport 53 -t 600`.split(' '));

test('rawEvents: undecoded events with their port id; deleteWhere deletes what the predicate picks, through a socket portIds() names', async (t) => {
  const ns = await withNetns(t, 'lib-raw');
  const ct = Conntrack.open({ netns: ns.name });
  t.after(() => ct.close());
  const events: RawConntrackEvent[] = [];
  const stream = ct.rawEvents();
  t.after(() => stream.close());
  stream.on('event', (e) => events.push(e));

  await ctFill(ns, entries(4));
  assert.ok(await until(() => events.length === 4));
  const flow = decodeFlow(events[0]!.attributes, 0, events[0]!.attributes.length, events[0]!.family);
  assert.deepEqual([events[0]!.type, events[0]!.family, flow.orig.src, flow.orig.dport], ['new', 2, '10.0.0.1', 53]);
  const ctlPortid = events[0]!.portid;
  assert.notEqual(ctlPortid, 0, 'conntrack -I made it');

  const deleted: string[] = [];
  const count = await ct.deleteWhere(
    (entry) => entry.index().buf[entry.at[Slot.ORIG + TupleField.SRC]! + 3]! % 2 === 0,
    (entry) => deleted.push(entry.flow().orig.src!),
  );
  assert.equal(count, 2);
  assert.deepEqual(deleted.sort(), ['10.0.0.2', '10.0.0.4']);
  assert.ok(await until(() => events.length === 6));
  const destroys = events.slice(4);
  assert.ok(destroys.every((e) => e.type === 'destroy' && ct.portIds().includes(e.portid)));
  assert.ok(!ct.portIds().includes(ctlPortid));
  assert.ok(destroys.every((e) => ct.ownsPort(e.portid)));
  assert.equal(ct.ownsPort(ctlPortid), false);
  assert.equal(ct.ownsPort(0), false);
  assert.deepEqual((await ns.execOk(REFERENCE_CONNTRACK, ['-C'])).stdout.toString().trim(), '2');
});

test('EventStream.resize changes the receive buffer of a listening stream', async (t) => {
  const ns = await withNetns(t, 'lib-resize');
  const ct = Conntrack.open({ netns: ns.name });
  t.after(() => ct.close());
  const stream = ct.rawEvents({ bufferSize: 8192 });
  t.after(() => stream.close());
  assert.equal(stream.bufferSize, 16384, 'the kernel doubles what is asked');
  assert.equal(stream.resize(65536), 131072);
  assert.equal(stream.bufferSize, 131072);
});

test('rawEvents({ transient }): a listener gets each event, one object, in the receive buffer; what an iteration keeps is a copy', async (t) => {
  const ns = await withNetns(t, 'lib-transient');
  const ct = Conntrack.open({ netns: ns.name });
  t.after(() => ct.close());
  const heard: string[] = [];
  const lent: RawConntrackEvent[] = [];
  const buffers: ArrayBufferLike[] = [];
  const listened = ct.rawEvents({ transient: true });
  t.after(() => listened.close());
  listened.on('event', (e) => {
    lent.push(e);
    buffers.push(e.buf.buffer);
    heard.push(decodeFlow(e.buf, e.start, e.end, e.family).orig.src!);
    assert.ok(e.attributes.equals(e.buf.subarray(e.start, e.end)));
  });
  const iterated = ct.rawEvents({ transient: true });
  t.after(() => iterated.close());
  const kept: RawConntrackEvent[] = [];
  const iteration = (async () => {
    for await (const e of iterated) {
      if (e.type === 'lost') continue;
      kept.push(e);
      if (kept.length === 40) break;
    }
  })();

  await ctFill(ns, entries(40));
  await iteration;
  // Two sockets: the listener's events may come after the iteration's.
  assert.ok(await until(() => heard.length === 40));
  const sources = Array.from({ length: 40 }, (_, i) => `10.0.0.${i + 1}`);
  assert.deepEqual(heard, sources, 'each event, read while its listener ran');
  // Kept past their delivery, the iteration's events still say what they said.
  assert.deepEqual(kept.map((e) => decodeFlow(e.attributes, 0, e.attributes.length, e.family).orig.src), sources);
  assert.ok(kept.every((e) => e.attributes.equals(e.buf.subarray(e.start, e.end))));
  // The listener's were lent, not copied: one event object, its attributes all in the stream's one receive buffer.
  assert.ok(lent.every((e) => e === lent[0]));
  assert.ok(buffers.every((b) => b === buffers[0]));
});
