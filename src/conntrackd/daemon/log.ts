/**
 * The daemon's log: 1.4.7's line format, its console rules and its sinks
 * (`General { LogFile }`, `Syslog`).
 *
 *   [Mon Dec  7 01:35:27 2026] (pid=25157) [notice] initialization completed
 *
 * The date is ctime(3)'s local time; the level word is `notice`, `warning`
 * or `ERROR`. On the console (the foreground daemon, and every process
 * before its log is set up: the client, a daemon that fails early) notices
 * go to stdout and the rest to stderr; a detached daemon writes only to its
 * file and syslog.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { ctimeText } from '../../format/timestamp';
import type { Log, LogLevel } from './contract';

const LEVEL_WORDS: Readonly<Record<LogLevel, string>> = { NOTICE: 'notice', WARNING: 'warning', ERROR: 'ERROR' };

/** One log line, newline included. */
export function formatLogLine(level: LogLevel, message: string, date: Date = new Date(), pid: number = process.pid): string {
  return `[${ctimeText(Math.floor(date.getTime() / 1000))}] (pid=${pid}) [${LEVEL_WORDS[level]}] ${message}\n`;
}

/** Where console lines go: notices to `out`, warnings and errors to `err`. */
export interface ConsoleSink {
  out(text: string): void;
  err(text: string): void;
}

/** Sends one message to syslog (see syslog.ts). */
export type SyslogSink = (level: LogLevel, message: string) => void;

export interface LogSinks {
  console?: ConsoleSink;
  /** An open descriptor of the LogFile, appended to. */
  fileFd?: number;
  syslog?: SyslogSink;
}

export class DaemonLog implements Log {
  constructor(private sinks: LogSinks) {}

  write(level: LogLevel, message: string): void {
    const { console, fileFd, syslog } = this.sinks;
    if (console !== undefined || fileFd !== undefined) {
      const line = formatLogLine(level, message);
      if (console) {
        try {
          (level === 'NOTICE' ? console.out : console.err).call(console, line);
        } catch {
          // Whoever read our console went away (`conntrackd | head`): the daemon goes on, as 1.4.7 does.
        }
      }
      if (fileFd !== undefined) {
        try {
          writeSync(fileFd, line);
        } catch {
          // A full disk must not stop the daemon; 1.4.7 ignores failed writes too.
        }
      }
    }
    syslog?.(level, message);
  }

  close(): void {
    if (this.sinks.fileFd !== undefined) closeSync(this.sinks.fileFd);
    this.sinks = { ...this.sinks, fileFd: undefined, syslog: undefined };
  }
}

/**
 * Opens the LogFile as 1.4.7 does (append, created 0600). Throws the
 * system error; the caller prints 1.4.7's "can't open logfile" line.
 */
export function openLogFile(path: string): number {
  return openSync(path, 'a+', 0o600);
}
