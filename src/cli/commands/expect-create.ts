import type { RunContext } from './context';

/**
 * `-I expect`: master `-s -d -p --sport --dport`, expected
 * tuple `--tuple-*`, mask `--mask-*`, timeout `-t`. Success prints nothing.
 */
export async function createExpectation(ctx: RunContext): Promise<number> {
  const { cmd } = ctx;
  const { tuple, mask, timeout } = cmd.expect;
  await ctx.conntrack().createExpectation(
    { family: cmd.family, master: cmd.template.orig, tuple, mask, ...(timeout !== undefined && { timeout }) },
    { exclusive: true },
  );
  return 0;
}
