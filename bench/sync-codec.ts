/**
 * Microbenchmark of the sync codec, the per-flow cost of replication:
 * decoding the attributes of a CT_NEW (every received update) and encoding
 * one (every sent update and retransmission). Messages come from the golden
 * capture of the C daemon (test/fixtures/conntrackd/sync). Prints
 * nanoseconds per message of the best of five runs (other processes on a
 * shared machine only ever make a run slower).
 * Run: node dist/bench/sync-codec.js
 */
import path from 'node:path';
import { MessageType } from '../src/conntrackd/sync/header';
import { decodeBody, decodeFrame, encodeMessage, readFrames, type Frame, type FlowMessage } from '../src/conntrackd/sync/message';
import { readPcapUdp } from '../test/unit/pcap';

const CAPTURE = path.join(__dirname, '..', '..', 'test', 'fixtures', 'conntrackd', 'sync', 'ftfw-udp.pcap');
const ROUNDS = 500_000;
const RUNS = 5;

/** The first IPv4 TCP flow (mark, window scales, SYNPROXY), the SNAT one and the IPv6 one. */
const frames = readPcapUdp(CAPTURE)
  .flatMap((d) => readFrames(d.payload).frames)
  .filter((f) => f.header.type === MessageType.CT_NEW);
const pick = (what: string, test: (m: FlowMessage) => boolean): [string, Frame] => [what, frames.find((f) => test(decodeFrame(f) as FlowMessage))!];
const CASES = [
  pick('tcp-ipv4-mark', (m) => m.flow.orig.sport === 1000),
  pick('tcp-ipv4-snat', (m) => m.flow.natSrc !== undefined && m.flow.family === 2),
  pick('tcp-ipv6', (m) => m.flow.family === 10 && m.flow.orig.proto === 6),
];

function best(rounds: number, body: () => number): { ns: number; sink: number } {
  let ns = Infinity;
  let sink = 0;
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint();
    for (let r = 0; r < rounds; r++) sink += body();
    ns = Math.min(ns, Number(process.hrtime.bigint() - t0) / rounds);
  }
  return { ns, sink };
}

for (const [name, frame] of CASES) {
  const msg = decodeFrame(frame) as FlowMessage;
  // Reading a field keeps the optimiser from dropping the work; the sums are printed.
  const dec = best(ROUNDS, () => (decodeBody(frame) as FlowMessage).flow.orig.sport!);
  const enc = best(ROUNDS, () => encodeMessage(msg, { windowTracking: true }).length);
  console.log(`${name.padEnd(16)} ${String(frame.header.len).padStart(4)} bytes  decode ${dec.ns.toFixed(0).padStart(5)} ns  encode ${enc.ns.toFixed(0).padStart(5)} ns  (${dec.sink} ${enc.sink})`);
}
