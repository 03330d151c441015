import { BANNER } from '../problems';
import { OtherProblem } from '../problems';
import { kernelMessage } from '../kernel-errors';
import { validateForExecution } from '../parse';
import { summary, type RunContext } from './context';
import { EntryPrinter } from './printer';

const EINVAL = 22;

/**
 * `-L [conntrack|dying|unconfirmed]`: stream the table, filter, print in
 * kernel order.
 */
export async function list(ctx: RunContext): Promise<number> {
  const { cmd } = ctx;
  const main = cmd.table === 'conntrack';
  if (main) validateForExecution(cmd);
  // The kernel refuses a status dump filter with mask 0 (`-u UNSET`); the library
  // leaves such a filter out, so say what the kernel would.
  if (main && cmd.filter.status?.mask === 0) {
    throw new OtherProblem(`Operation failed: ${kernelMessage(EINVAL, cmd.command)}`);
  }
  const printer = new EntryPrinter(cmd, {
    savePrefix: '-A',
    xmlFrame: main ? 'document' : 'header-only',
    labels: true,
    ktimestamp: true,
  }, ctx.out, ctx.err);
  const table = cmd.table === 'dying' || cmd.table === 'unconfirmed' ? cmd.table : 'conntrack';
  const shown = await ctx.conntrack().dumpRaw(cmd.filter, { table, zero: main && cmd.zero }, (entry) => printer.printEntry(entry));
  printer.finish();
  ctx.out.sync();
  summary(ctx, BANNER, `${shown} flow entries have been shown.`);
  return 0;
}
