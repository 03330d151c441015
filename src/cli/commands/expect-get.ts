import { kernelMessage } from '../kernel-errors';
import { OtherProblem } from '../problems';
import type { RunContext } from './context';
import { ExpectationPrinter } from './expect-printer';

const ENOENT = 2;

/**
 * `-G expect`: the expectation whose expected tuple is `-s -d -p` and the
 * ports; printed without a summary line.
 */
export async function getExpectation(ctx: RunContext): Promise<number> {
  const { cmd } = ctx;
  const exp = await ctx.conntrack().getExpectation(cmd.template.orig);
  if (!exp) throw new OtherProblem(`Operation failed: ${kernelMessage(ENOENT, cmd.command)}`);
  new ExpectationPrinter(cmd.output, ctx.out).print(exp);
  return 0;
}
