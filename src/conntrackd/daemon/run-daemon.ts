/**
 * The daemon's life, in 1.4.7's order: log, lock file, engine, control
 * socket, scheduler, "initialization completed", then serve until SIGTERM,
 * SIGINT or a KILL request, and clean up (socket and lock file removed).
 */
import { closeSync } from 'node:fs';
import type { Config } from '../config/config';
import { strerror } from '../../libc/strerror';
import type { Engine, EngineContext } from './contract';
import { ControlServer } from './control-server';
import { DaemonLog, openLogFile, type ConsoleSink, type LogSinks } from './log';
import { lockExistsMessage, releaseLock, staleLockMessage, takeLock } from './lock-file';
import type { Notifier } from './systemd-notify';
import { DEFAULT_SCHEDULER, schedulerFailedMessage, setScheduler } from './scheduler';

export interface DaemonOptions {
  config: Config;
  /** The parser's warnings about the Sync mode, which 1.4.7 prints as the mode starts. */
  modeWarnings: readonly string[];
  /** True in the detached child (`-d`): no console once the log is open. */
  detached: boolean;
  /** The foreground console, or the detached child's relay to its parent. */
  console: ConsoleSink;
  createEngine(ctx: EngineContext): Engine;
  /** Called once the daemon serves (the detached child tells its parent). */
  onReady(): void;
  /** `Syslog`: where log lines go besides the console and the LogFile. */
  syslog?: LogSinks['syslog'];
  /** `Systemd on` under systemd: readiness and watchdog. */
  notifier?: Notifier;
}

const CANNOT_START = 'conntrackd cannot start, please review your configuration';

/** Runs the daemon; resolves with the exit status once it has stopped. */
export async function runDaemon(opts: DaemonOptions): Promise<number> {
  const { config } = opts;
  const general = config.general;
  // Every file the daemon makes (log, lock, socket) is private to root, as with 1.4.7.
  process.umask(0o177);

  let fileFd: number | undefined;
  // Both logs are opened (the stats log by the engine) before anything else, with 1.4.7's message.
  for (const file of [general.logFile, config.stats?.logFile]) {
    if (file === undefined) continue;
    try {
      const fd = openLogFile(file);
      if (file === general.logFile) fileFd = fd;
      else closeSync(fd);
    } catch (err) {
      const errno = Math.abs((err as NodeJS.ErrnoException).errno ?? 0);
      opts.console.err(`ERROR: can't open logfile \`${file}'.Reason: ${strerror(errno)}\n`);
      if (fileFd !== undefined) closeSync(fileFd);
      return 1;
    }
  }
  const log = new DaemonLog({ console: opts.detached ? undefined : opts.console, fileFd, syslog: opts.syslog });

  const lock = takeLock(general.lockFile);
  if (!lock.taken) {
    log.write('ERROR', lockExistsMessage(general.lockFile));
    log.close();
    return 1;
  }
  if (lock.staleOwner !== undefined) log.write('WARNING', staleLockMessage(general.lockFile, lock.staleOwner));
  for (const w of opts.modeWarnings) log.write('WARNING', w);
  // User-space helpers (NFQUEUE) are not part of this daemon: say so rather than
  // start as if the section were in force. The rest of the config runs.
  for (const helper of config.helper?.types ?? []) {
    log.write('WARNING', `user-space helpers are not supported: helper \`${helper.name}' is not run`);
  }
  // From here on a stop signal must not leave the lock file behind; during start-up it is acted on once started.
  let started = false;
  let stopAsked = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => (started ? void stop() : (stopAsked = true)));

  const ctx: EngineContext = { config, log };
  let engine: Engine | undefined;
  let server: ControlServer | undefined;
  let stopping: Promise<void> | undefined;
  let stopped!: (status: number) => void;
  const finished = new Promise<number>((resolve) => (stopped = resolve));
  // The daemon lives until told to stop, even with nothing to wait for (no control socket, an idle engine).
  const keepAlive = setInterval(() => undefined, 2 ** 30);
  let stopWatchdog: (() => void) | undefined;

  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      log.write('NOTICE', '---- shutdown received ----');
      opts.notifier?.notify('STOPPING=1');
      stopWatchdog?.();
      server?.close();
      try {
        await engine?.stop();
      } catch (err) {
        log.write('ERROR', errorText(err));
      }
      releaseLock(general.lockFile);
      log.close();
      clearInterval(keepAlive);
      stopped(0);
    })());

  try {
    engine = opts.createEngine(ctx);
    await engine.start();
    if (general.unixPath !== undefined) {
      try {
        server = await ControlServer.listen(general.unixPath, {
          handle: (code, reply) => engine!.handle(code, reply),
          onKill: () => void stop(),
          onError: (err) => log.write('ERROR', errorText(err)),
        });
      } catch {
        throw new Error("can't open unix socket!");
      }
    }
  } catch (err) {
    log.write('ERROR', errorText(err));
    log.write('ERROR', CANNOT_START);
    await engine?.stop().catch(() => undefined);
    log.close();
    releaseLock(general.lockFile);
    clearInterval(keepAlive);
    return 1;
  }

  const reason = setScheduler(general.scheduler ?? DEFAULT_SCHEDULER);
  if (reason !== undefined) log.write('WARNING', schedulerFailedMessage(reason));
  log.write('NOTICE', 'initialization completed');
  process.chdir('/');
  log.write('NOTICE', opts.detached ? '-- starting in daemon mode --' : '-- starting in console mode --');
  engine.started?.();

  // A bug must not leave a lock file that blocks the next start: one line in the log, clean up, exit 1.
  const crash = (err: unknown): void => {
    log.write('ERROR', `internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    server?.close();
    releaseLock(general.lockFile);
    log.close();
    clearInterval(keepAlive);
    stopped(1);
  };
  process.once('uncaughtException', crash);
  process.once('unhandledRejection', crash);
  opts.notifier?.notify('READY=1');
  stopWatchdog = opts.notifier?.startWatchdog();
  opts.onReady();
  started = true;
  if (stopAsked) void stop();
  return finished;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
