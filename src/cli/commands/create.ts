import { NetlinkError } from '../../netlink/errors';
import { completeTuples } from '../parse';
import { BANNER } from '../problems';
import { summary, type RunContext } from './context';

const EEXIST = 17;

/**
 * `-I` (create) and `-A` (add) (spec §7.9). 1.4.7 sends both with
 * NLM_F_EXCL; `-A` then swallows EEXIST and reports 0 added (kept quirk D5).
 */
export async function create(ctx: RunContext): Promise<number> {
  const { cmd } = ctx;
  const add = cmd.command === 'CT_ADD';
  const { orig, reply } = completeTuples(cmd);
  let created = 1;
  try {
    await ctx.conntrack().create({ ...cmd.template, family: cmd.family, orig, reply }, { exclusive: true });
  } catch (err) {
    if (!(add && err instanceof NetlinkError && err.positiveErrno === EEXIST)) throw err;
    created = 0;
  }
  summary(ctx, BANNER, `${created} flow entries have been ${add ? 'added' : 'created'}.`);
  return 0;
}
