import { BANNER } from '../problems';
import { protocolHelpText, usageText } from '../usage';
import type { RunContext } from './context';

/** `-V`. */
export async function version(ctx: RunContext): Promise<number> {
  ctx.out.write(`${BANNER}\n`);
  return 0;
}

/** `-h`, and no command at all: the usage text, plus the protocol's help with `-p`. */
export async function help(ctx: RunContext): Promise<number> {
  const { cmd } = ctx;
  ctx.out.write(usageText(cmd.argv0));
  if (cmd.command === 'CT_HELP' && cmd.protocol) ctx.out.write(protocolHelpText(cmd.protocol));
  return 0;
}
