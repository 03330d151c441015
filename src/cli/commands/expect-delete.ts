import { kernelMessage } from '../kernel-errors';
import { BANNER, OtherProblem } from '../problems';
import { summary, type RunContext } from './context';

const ENOENT = 2;

/**
 * `-D expect`: delete the expectation whose expected tuple is `-s -d -p`
 * and the ports. 1.4.7 reports a success as `0 expectations
 * have been shown.` and exits 1 (defect 7); we count the deletion and exit 0.
 */
export async function deleteExpectation(ctx: RunContext): Promise<number> {
  const { cmd } = ctx;
  if (!(await ctx.conntrack().deleteExpectation(cmd.template.orig))) {
    throw new OtherProblem(`Operation failed: ${kernelMessage(ENOENT, cmd.command)}`);
  }
  summary(ctx, BANNER, '1 expectations have been deleted.');
  return 0;
}
