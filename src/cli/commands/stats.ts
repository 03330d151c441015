import { readFileSync } from 'node:fs';
import { CPU_STATS_NAMES, EXPECTATION_STATS_NAMES, type CpuStats } from '../../api/conntrack';
import { OtherProblem } from '../problems';
import type { RunContext } from './context';
import { netlinkOrProc } from './proc-fallback';

/** Past the names it knows, 1.4.7 prints placeholders for counter numbers; it skips expectation ones. */
const NAMES = [...CPU_STATS_NAMES, 'unknown1', 'unknown2', 'unknown3', 'unknown4'];

const PROC_STATS = '/proc/net/stat/nf_conntrack';

/**
 * `-S` and `-S expect`: one line of counters per CPU. When
 * netlink fails both fall back to the conntrack counters of /proc, as
 * 1.4.7 does.
 */
export function stats(ctx: RunContext): Promise<number> {
  const ct = ctx.conntrack();
  const netlink = async (): Promise<string[]> =>
    ctx.cmd.command === 'EXP_STATS'
      ? (await ct.expectationStats()).map((s) => netlinkLine(s, EXPECTATION_STATS_NAMES))
      : (await ct.stats()).map((s) => netlinkLine(s, NAMES));
  return netlinkOrProc(ctx, netlink, procLines, (lines) => {
    for (const line of lines) ctx.out.write(line);
  });
}

const cpuPrefix = (cpu: number): string => `cpu=${String(cpu).padEnd(4)}\t`;

function netlinkLine(s: CpuStats, names: readonly string[]): string {
  let line = cpuPrefix(s.cpu);
  const counters = [...s.counters].sort((a, b) => a.type - b.type);
  for (const { type, value } of counters) {
    const name = names[type - 1];
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
