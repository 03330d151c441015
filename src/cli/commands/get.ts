import { compileFilter } from '../../ctnetlink/filter-match';
import { kernelMessage } from '../kernel-errors';
import { BANNER, OtherProblem } from '../problems';
import { summary, type RunContext } from './context';
import { EntryPrinter } from './printer';

const EINVAL = 22;
const ENOENT = 2;

/** `-G`: look one entry up by its tuple, print it if it passes the filters. */
export async function get(ctx: RunContext): Promise<number> {
  const { cmd } = ctx;
  const template = cmd.template;
  // Without an original-direction address the request cannot be built.
  if (template.orig.src === undefined && template.orig.dst === undefined) {
    throw new OtherProblem(`Operation failed: ${kernelMessage(EINVAL, cmd.command)}`);
  }
  const flow = await ctx.conntrack().get({ ...template, family: cmd.family });
  if (!flow) throw new OtherProblem(`Operation failed: ${kernelMessage(ENOENT, cmd.command)}`);
  let shown = 0;
  if (compileFilter(cmd.filter)(flow)) {
    // 1.4.7 prints the XML header for -G but never the footer (defect 17).
    const printer = new EntryPrinter(cmd, { savePrefix: '-A', xmlFrame: 'header-only', labels: true, ktimestamp: true }, ctx.out, ctx.err);
    printer.print(flow);
    shown = 1;
  }
  ctx.out.sync();
  summary(ctx, BANNER, `${shown} flow entries have been shown.`);
  return shown > 0 ? 0 : 1;
}
