/**
 * The engine the daemon's shell runs: createEngine(ctx) for a parsed config.
 * Stats mode's LogFile is opened here (created 0600, appended to); a shell
 * that also logs to syslog passes its own StatsLog instead.
 */
import type { Engine, EngineContext } from '../daemon/contract';
import { ConntrackdEngine, type EngineOptions } from './engine';
import { openStatsLogFile, type StatsLog } from './stats-log';

export { ConntrackdEngine, type EngineOptions } from './engine';
export type { StatsLog } from './stats-log';

export function createEngine(ctx: EngineContext & { statsLog?: StatsLog }): Engine {
  const options: EngineOptions = { ...ctx };
  const logFile = ctx.config.stats?.logFile;
  if (options.statsLog === undefined && logFile !== undefined) options.statsLog = openStatsLogFile(logFile);
  return new ConntrackdEngine(options);
}
