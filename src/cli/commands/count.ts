import { readFileSync } from 'node:fs';
import { OtherProblem } from '../problems';
import type { RunContext } from './context';

const COUNT_FILE = '/proc/sys/net/netfilter/nf_conntrack_count';

/** `-C`: the number of entries; /proc when the netlink request fails, as 1.4.7 does (spec §7.15). */
export async function count(ctx: RunContext): Promise<number> {
  let entries: number;
  try {
    entries = await ctx.conntrack().count();
  } catch {
    entries = readCountFile();
  }
  ctx.out.write(`${entries}\n`);
  return 0;
}

function readCountFile(): number {
  let text: string;
  try {
    text = readFileSync(COUNT_FILE, 'utf8');
  } catch {
    throw new OtherProblem(`Can't open ${COUNT_FILE}`);
  }
  const n = Number.parseInt(text, 10);
  if (Number.isNaN(n)) throw new OtherProblem(`Can't read ${COUNT_FILE}`);
  return n;
}
