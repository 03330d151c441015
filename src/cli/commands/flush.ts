import { BANNER } from '../problems';
import type { RunContext } from './context';

/**
 * `-F`: empty the table in one request. 1.4.7 prints the "emptied" line even
 * when the request then fails, and does so inside `-R` files too.
 */
export async function flush(ctx: RunContext): Promise<number> {
  const done = ctx.conntrack().flush();
  ctx.err.write(`${BANNER}: connection tracking table has been emptied.\n`);
  await done;
  return 0;
}
