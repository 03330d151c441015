import type { CommandSelection } from '../options';
import type { RunContext } from './context';

export type Command = (ctx: RunContext) => Promise<number>;

/**
 * The command each kind runs; kinds not listed are not implemented yet. Each
 * is loaded when it runs: a one-shot command should not pay for compiling
 * every other one (start-up is most of what `conntrack -C` costs).
 */
export const COMMAND_RUNNERS: Partial<Record<CommandSelection, Command>> = {
  CT_LIST: (ctx) => import('./list').then((m) => m.list(ctx)),
  CT_GET: (ctx) => import('./get').then((m) => m.get(ctx)),
  CT_CREATE: (ctx) => import('./create').then((m) => m.create(ctx)),
  CT_ADD: (ctx) => import('./create').then((m) => m.create(ctx)),
  CT_UPDATE: (ctx) => import('./update').then((m) => m.update(ctx)),
  CT_DELETE: (ctx) => import('./delete').then((m) => m.remove(ctx)),
  CT_FLUSH: (ctx) => import('./flush').then((m) => m.flush(ctx)),
  CT_EVENT: (ctx) => import('./events').then((m) => m.events(ctx)),
  CT_COUNT: (ctx) => import('./count').then((m) => m.count(ctx)),
  CT_STATS: (ctx) => import('./stats').then((m) => m.stats(ctx)),
  EXP_LIST: (ctx) => import('./expect-list').then((m) => m.listExpectations(ctx)),
  EXP_GET: (ctx) => import('./expect-get').then((m) => m.getExpectation(ctx)),
  EXP_CREATE: (ctx) => import('./expect-create').then((m) => m.createExpectation(ctx)),
  EXP_DELETE: (ctx) => import('./expect-delete').then((m) => m.deleteExpectation(ctx)),
  EXP_FLUSH: (ctx) => import('./expect-flush').then((m) => m.flushExpectations(ctx)),
  EXP_EVENT: (ctx) => import('./expect-event').then((m) => m.expectationEvents(ctx)),
  EXP_COUNT: (ctx) => import('./expect-list').then((m) => m.countExpectations(ctx)),
  EXP_STATS: (ctx) => import('./stats').then((m) => m.stats(ctx)),
  CT_VERSION: (ctx) => import('./info').then((m) => m.version(ctx)),
  CT_HELP: (ctx) => import('./info').then((m) => m.help(ctx)),
  USAGE: (ctx) => import('./info').then((m) => m.help(ctx)),
};
