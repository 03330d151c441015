import type { CommandSelection } from '../options';
import type { RunContext } from './context';
import { count } from './count';
import { create } from './create';
import { remove } from './delete';
import { flush } from './flush';
import { get } from './get';
import { help, version } from './info';
import { list } from './list';
import { stats } from './stats';
import { update } from './update';

export type Command = (ctx: RunContext) => Promise<number>;

/** The command each kind runs; kinds not listed are not implemented yet. */
export const COMMAND_RUNNERS: Partial<Record<CommandSelection, Command>> = {
  CT_LIST: list,
  CT_GET: get,
  CT_CREATE: create,
  CT_ADD: create,
  CT_UPDATE: update,
  CT_DELETE: remove,
  CT_FLUSH: flush,
  CT_COUNT: count,
  CT_STATS: stats,
  CT_VERSION: version,
  CT_HELP: help,
  USAGE: help,
};
