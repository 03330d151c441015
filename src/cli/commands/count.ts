import { readFileSync } from 'node:fs';
import { OtherProblem } from '../problems';
import type { RunContext } from './context';
import { netlinkOrProc } from './proc-fallback';

const COUNT_FILE = '/proc/sys/net/netfilter/nf_conntrack_count';

/** `-C`: the number of entries; /proc when the netlink request fails, as 1.4.7 does. */
export function count(ctx: RunContext): Promise<number> {
  return netlinkOrProc(ctx, () => ctx.conntrack().count(), readCountFile, (entries) => ctx.out.write(`${entries}\n`));
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
