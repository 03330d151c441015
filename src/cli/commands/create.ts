import type { Flow } from '../../ctnetlink/flow';
import { NetlinkError } from '../../api/errors';
import { completeTuples, type CommandLine } from '../parse';
import { BANNER } from '../problems';
import { summary, type RunContext } from './context';

const EEXIST = 17;

/**
 * `-I` (create) and `-A` (add). 1.4.7 sends both with
 * NLM_F_EXCL; `-A` then swallows EEXIST and reports 0 added (kept quirk defect 5).
 */
export async function create(ctx: RunContext): Promise<number> {
  const { cmd } = ctx;
  const add = cmd.command === 'CT_ADD';
  let created = 1;
  try {
    await ctx.conntrack().create(flowToCreate(cmd), { exclusive: true });
  } catch (err) {
    if (!isExistingAdd(cmd, err)) throw err;
    created = 0;
  }
  summary(ctx, BANNER, `${created} flow entries have been ${add ? 'added' : 'created'}.`);
  return 0;
}

/** The entry `-I`/`-A` asks the kernel to make. */
export function flowToCreate(cmd: CommandLine): Flow {
  return { ...cmd.template, family: cmd.family, ...completeTuples(cmd) };
}

/** `-A` of an entry that exists: not a failure, and nothing changed (the request was exclusive). */
export function isExistingAdd(cmd: Pick<CommandLine, 'command'>, err: unknown): boolean {
  return cmd.command === 'CT_ADD' && err instanceof NetlinkError && err.positiveErrno === EEXIST;
}
