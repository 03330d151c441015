/**
 * Bursts of flows on the two-node bed's primary and the check that the
 * backup's external cache ends equal to the primary's kernel table: what
 * the fault and loss tests share.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { Conntrack } from '../../src/api/conntrack';
import type { Flow } from '../../src/ctnetlink/flow';
import { subjectConntrackd } from '../diff/conntrackd-harness';
import { client, type Node } from './conntrackd-sync-bed';
import { REFERENCE_CONNTRACK, type Netns } from './netns';
import { until } from './wait';

export const SYNC_PORT = 3790;
/** The burst's flows: TCP ESTABLISHED from 10.50/16, one per index. */
const BURST = /src=10\.50\./;

export function burstFlow(i: number): Flow {
  const src = `10.50.${(i >> 8) & 255}.${i & 255}`;
  return { family: 2, orig: { l3: 2, src, dst: '10.60.0.1', proto: 6, sport: 1024 + (i >> 16), dport: 80 }, reply: {}, timeout: 600, tcp: { state: 3 } };
}

/** Creates flows [first, first + n) in the node's kernel, pipelined. */
export async function burst(ns: Netns, first: number, n: number): Promise<void> {
  const ct = Conntrack.open({ netns: ns.name });
  try {
    await Promise.all(Array.from({ length: n }, (_, i) => ct.create(burstFlow(first + i))));
  } finally {
    ct.close();
  }
}

/** The burst flows of a listing (`conntrack -L` or `conntrackd -e`), by their original tuple and mark, sorted. */
export const burstKeys = (text: string): string[] =>
  text
    .split('\n')
    .filter((l) => BURST.test(l))
    .map((l) => `${/src=\S+ dst=\S+ sport=\d+ dport=\d+/.exec(l)![0]} ${/mark=\d+/.exec(l)?.[0] ?? 'mark=0'}`)
    .sort();

export async function kernelKeys(ns: Netns): Promise<string[]> {
  return burstKeys((await ns.execOk(REFERENCE_CONNTRACK, ['-L', '-p', 'tcp'])).stdout.toString());
}

/** Waits until the backup's external cache holds exactly the primary's burst flows. */
export async function converges(primary: Node, backup: Node, ms = 60_000): Promise<void> {
  const expected = await kernelKeys(primary.ns);
  let external: string[] = [];
  const equal = await until(async () => {
    external = burstKeys(await client(backup, '-e'));
    return external.length === expected.length && external.every((k, i) => k === expected[i]);
  }, ms);
  const missing = expected.filter((k) => !external.includes(k));
  const extra = external.filter((k) => !expected.includes(k));
  const log = backup.impl === 'ours' ? await readFile(backup.log, 'utf8') : '';
  assert.ok(equal, `external ${external.length} / kernel ${expected.length}, missing e.g. ${missing.slice(0, 3).join('; ')}, extra e.g. ${extra.slice(0, 3).join('; ')}\n${log}`);
}

/** `-s network` (or another kind) of our daemon, in JSON. */
export async function stats(node: Node, kind: string): Promise<Record<string, any>> {
  const [cmd, ...args] = subjectConntrackd().argv;
  const out = await node.ns.execOk(cmd!, [...args, '-C', node.config, '-s', kind, '--json']);
  return JSON.parse(out.stdout.toString()) as Record<string, any>;
}
