import type { Conntrack } from '../../api/conntrack';
import type { Output } from '../../libc/output';
import type { CommandLine } from '../parse';

/** What a command runs with. Commands return their exit status and never exit themselves. */
export interface RunContext {
  readonly cmd: CommandLine;
  /** The table, opened on first use (so -V and -h touch no socket). */
  conntrack(): Conntrack;
  /** `--netns` as given: the table is that namespace's, not this process's. */
  readonly netns: string | undefined;
  readonly out: Output;
  readonly err: Output;
  /** False inside `-R` files: 1.4.7 prints no per-command summary there. */
  readonly summaries: boolean;
}

/** Writes `BANNER: text` to stderr when summaries are on. */
export function summary(ctx: RunContext, banner: string, text: string): void {
  if (ctx.summaries) ctx.err.write(`${banner}: ${text}\n`);
}
