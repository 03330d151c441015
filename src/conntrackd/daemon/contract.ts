/**
 * What the daemon's process shell (command line, lock file, control socket,
 * signals, logging) and its engine (caches, kernel side, modes) promise each
 * other. The shell owns the process and the control socket; the engine owns
 * the kernel sockets and the caches and answers control requests.
 */
import type { Writable } from 'node:stream';
import type { Config } from '../config/config';
import type { Request } from '../control/codes';

/** Severity words of 1.4.7's log lines: `[Sun Nov 22 08:26:30 2026] (pid=N) [ERROR] message`. */
export type LogLevel = 'NOTICE' | 'WARNING' | 'ERROR';

/** The daemon's log (`General { LogFile, Syslog }`, and stdout in the foreground). */
export interface Log {
  write(level: LogLevel, message: string): void;
}

export interface EngineContext {
  config: Config;
  log: Log;
  /** Network namespace to work in (tests and `--netns`); undefined = the process's own. */
  netns?: string;
}

/**
 * A running engine: started once, asked for control requests, stopped once.
 * `handle` writes the whole reply text to `reply` and resolves when it is
 * complete; the shell then closes the connection. A code the engine does not
 * know is answered with nothing, as 1.4.7 does.
 */
export interface Engine {
  start(): Promise<void>;
  /** The daemon is up and has said so in the log: what 1.4.7 does first in its main loop (a startup resync request) goes now. */
  started?(): void;
  handle(request: Request, reply: Writable): Promise<void>;
  stop(): Promise<void>;
}
