import { validateForExecution } from '../parse';
import { BANNER } from '../problems';
import { summary, type RunContext } from './context';
import { EntryPrinter } from './printer';

/**
 * `-D`: delete every matching entry. Deletes go out pipelined
 * while the dump continues; an entry that vanished meanwhile is skipped
 * (1.4.8's fix of defect 6), any other failure stops the command.
 */
export async function remove(ctx: RunContext): Promise<number> {
  const { cmd } = ctx;
  validateForExecution(cmd);
  // Deleted entries print without labels and with bare XML lines (defect 17).
  const printer = new EntryPrinter(cmd, { savePrefix: '-D', xmlFrame: 'none', labels: false, ktimestamp: false }, ctx.out, ctx.err);
  let deleted = 0;
  try {
    deleted = await ctx.conntrack().deleteEntries(cmd.filter, (entry) => printer.printEntry(entry));
  } finally {
    ctx.out.sync();
  }
  summary(ctx, BANNER, `${deleted} flow entries have been deleted.`);
  return deleted > 0 ? 0 : 1;
}
