import { readFileSync } from 'node:fs';
import type { CpuStats } from '../../api/conntrack';
import { OtherProblem } from '../problems';
import type { RunContext } from './context';

/** 1.4.7's names of CTA_STATS_* 1..15, then placeholders for numbers it does not know. */
const NAMES = [
  'searched', 'found', 'new', 'invalid', 'ignore', 'delete', 'delete_list', 'insert',
  'insert_failed', 'drop', 'early_drop', 'error', 'search_restart', 'clash_resolve', 'chaintoolong',
  'unknown1', 'unknown2', 'unknown3', 'unknown4',
];

const PROC_STATS = '/proc/net/stat/nf_conntrack';

/** `-S`: one line of counters per CPU (spec §7.16). */
export async function stats(ctx: RunContext): Promise<number> {
  let lines: string[];
  try {
    lines = (await ctx.conntrack().stats()).map(netlinkLine);
  } catch {
    lines = procLines();
  }
  for (const line of lines) ctx.out.write(line);
  return 0;
}

const cpuPrefix = (cpu: number): string => `cpu=${String(cpu).padEnd(4)}\t`;

function netlinkLine(s: CpuStats): string {
  let line = cpuPrefix(s.cpu);
  const counters = [...s.counters].sort((a, b) => a.type - b.type);
  for (const { type, value } of counters) {
    const name = NAMES[type - 1];
    if (name !== undefined) line += `${name}=${value} `;
  }
  return `${line}\n`;
}

/** The /proc fallback: a header line of names, then one line of hex numbers per CPU. */
function procLines(): string[] {
  let text: string;
  try {
    text = readFileSync(PROC_STATS, 'utf8');
  } catch {
    throw new OtherProblem("Can't open /proc interface");
  }
  const [header, ...rows] = text.trim().split('\n');
  const names = (header ?? '').trim().split(/\s+/);
  return rows.map((row, cpu) => {
    let line = cpuPrefix(cpu);
    row.trim().split(/\s+/).forEach((hex, i) => (line += `${names[i]}=${Number.parseInt(hex, 16)} `));
    return `${line}\n`;
  });
}
