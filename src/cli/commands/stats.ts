import { readFileSync } from 'node:fs';
import type { CpuStats } from '../../api/conntrack';
import { OtherProblem } from '../problems';
import type { RunContext } from './context';
import { netlinkOrProc } from './proc-fallback';

/** 1.4.7's names of CTA_STATS_* 1..15, then placeholders for numbers it does not know. */
const NAMES = [
  'searched', 'found', 'new', 'invalid', 'ignore', 'delete', 'delete_list', 'insert',
  'insert_failed', 'drop', 'early_drop', 'error', 'search_restart', 'clash_resolve', 'chaintoolong',
  'unknown1', 'unknown2', 'unknown3', 'unknown4',
];

/** 1.4.7's names of CTA_STATS_EXP_* 1..3; it skips numbers past them. */
const EXPECT_NAMES = ['expect_new', 'expect_create', 'expect_delete'];

const PROC_STATS = '/proc/net/stat/nf_conntrack';

/**
 * `-S` and `-S expect`: one line of counters per CPU (spec §7.16). When
 * netlink fails both fall back to the conntrack counters of /proc, as
 * 1.4.7 does.
 */
export function stats(ctx: RunContext): Promise<number> {
  const ct = ctx.conntrack();
  const netlink = async (): Promise<string[]> =>
    ctx.cmd.command === 'EXP_STATS'
      ? (await ct.expectationStats()).map((s) => netlinkLine(s, EXPECT_NAMES))
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
