/**
 * Reads the config file for the client and the daemon.
 *
 * STAND-IN until the config parser lands: reads only the General keys the
 * process shell needs (LogFile, Syslog, LockFile, UNIX Path, Scheduler,
 * Systemd) and whether Stats/Sync sections exist.
 */
import { readFileSync } from 'node:fs';
import type { Config, SyslogFacility } from '../config/config';

export type LoadResult =
  | { ok: true; config: Config; warnings: string[] }
  /** `unreadable`: 1.4.7's "can't open config file"; `invalid`: the parser's own error lines. */
  | { ok: false; unreadable: boolean; errors: string[] };

export function loadConfig(file: string): LoadResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return { ok: false, unreadable: true, errors: [] };
  }
  text = text.replace(/#.*$/gm, '');
  const word = (key: string): string | undefined => new RegExp(`\\b${key}\\s+(\\S+)`).exec(text)?.[1];
  const logFile = word('LogFile');
  const syslog = word('Syslog');
  const sched = /Scheduler\s*\{([^}]*)\}/.exec(text)?.[1];
  const config: Config = {
    general: {
      hashSize: 65536,
      hashLimit: 262144,
      lockFile: word('LockFile') ?? '/var/lock/conntrackd.lock',
      netlinkOverrunResync: 30,
      netlinkEventsReliable: false,
      eventIterationLimit: 100,
      systemd: !/^(off|no)$/i.test(word('Systemd') ?? 'on'),
    },
  };
  const unixPath = /UNIX\s*\{[^}]*Path\s+(\S+)/.exec(text)?.[1];
  if (unixPath !== undefined) config.general.unixPath = unixPath;
  if (logFile !== undefined && !/^off$/i.test(logFile)) config.general.logFile = /^on$/i.test(logFile) ? '/var/log/conntrackd.log' : logFile;
  if (syslog !== undefined && !/^off$/i.test(syslog)) config.general.syslog = (/^on$/i.test(syslog) ? 'daemon' : syslog) as SyslogFacility;
  if (sched !== undefined) {
    config.general.scheduler = {
      type: (/Type\s+(\w+)/.exec(sched)?.[1] ?? 'RR') as 'RR' | 'FIFO' | 'OTHER',
      priority: Number(/Priority\s+(\d+)/.exec(sched)?.[1] ?? 0),
    };
  }
  if (/^\s*Stats\s*\{/m.test(text)) config.stats = {};
  return { ok: true, config, warnings: [] };
}
