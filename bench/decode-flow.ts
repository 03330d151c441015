/**
 * Microbenchmark of decodeFlow, the per-entry cost of `conntrack -L`.
 * Decodes captured kernel messages (test/fixtures/ctnetlink) 1,000,000 times
 * per run and prints nanoseconds per entry of the best of five runs, because
 * other processes on a shared machine only ever make a run slower.
 * Run: node dist/bench/decode-flow.js
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { decodeFlow } from '../src/ctnetlink/flow-codec';
import { NFGENMSG_LEN } from '../src/nfnetlink/header';
import { NLMSG_HDRLEN } from '../src/netlink/constants';

const FIXTURES = path.join(__dirname, '..', '..', 'test', 'fixtures', 'ctnetlink');
const ROUNDS = 1_000_000;
const RUNS = 5;

/** A dump of a default-configured table, then one with nf_conntrack_acct and _timestamp on, then IPv6. */
const CASES = ['tcp-ipv4-established-assured-mark', 'real-tcp-ipv4-established', 'real-tcp-ipv6-established'];

function load(name: string): Buffer {
  const text = readFileSync(path.join(FIXTURES, `${name}.hex`), 'utf8');
  return Buffer.from(text.replace(/^#.*$/gm, '').replace(/\s+/g, ''), 'hex');
}

function run(message: Buffer, rounds: number): number {
  // Reading fields keeps the optimiser from dropping the decode; the sum is printed.
  let sink = 0;
  const start = NLMSG_HDRLEN + NFGENMSG_LEN;
  const family = message[NLMSG_HDRLEN]!;
  for (let i = 0; i < rounds; i++) {
    const flow = decodeFlow(message, start, message.length, family);
    sink += flow.orig.sport! + flow.reply.src!.length;
  }
  return sink;
}

for (const name of CASES) {
  const message = load(name);
  run(message, ROUNDS / 10);
  let best = Infinity;
  let sink = 0;
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint();
    sink = run(message, ROUNDS);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / ROUNDS);
  }
  console.log(`${name.padEnd(36)} ${String(message.length).padStart(4)} bytes  ${best.toFixed(0).padStart(5)} ns/entry  (${sink})`);
}
