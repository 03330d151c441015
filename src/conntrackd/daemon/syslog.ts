/**
 * `General { Syslog on|FACILITY }`: log lines to the system log as glibc's
 * syslog(3) sends them for 1.4.7 (`openlog("conntrackd", LOG_PID, …)`):
 *
 *   <29>Dec  7 01:35:27 conntrackd[4242]: initialization completed
 *
 * One datagram to /dev/log per line; when nobody listens there the line
 * is lost, as with syslog(3).
 */
import { sendUnixDatagram } from '../../api/unix-datagram';
import type { SyslogFacility } from '../config/config';
import type { LogLevel } from './contract';

/** `user`: what syslog(3) falls back to when 1.4.7 opens the log with no General facility (see main.ts). */
export type Facility = SyslogFacility | 'user';

const FACILITY_CODES: Readonly<Record<Facility, number>> = {
  user: 1,
  daemon: 3,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
};

/** Our log levels, and INFO: Stats mode's destroyed-flow lines. */
export type SyslogLevel = LogLevel | 'INFO';

/** syslog(3) severities of our levels. */
const SEVERITIES: Readonly<Record<SyslogLevel, number>> = { ERROR: 3, WARNING: 4, NOTICE: 5, INFO: 6 };

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** RFC 3164's timestamp, as glibc writes it: `Dec  7 01:35:27`, local time. */
function syslogTime(d: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

export function syslogMessage(facility: Facility, level: SyslogLevel, message: string, date: Date = new Date(), pid: number = process.pid): string {
  const priority = FACILITY_CODES[facility] * 8 + SEVERITIES[level];
  return `<${priority}>${syslogTime(date)} conntrackd[${pid}]: ${message}`;
}

export function syslogSink(facility: Facility, socketPath = '/dev/log'): (level: SyslogLevel, message: string) => void {
  return (level, message) => {
    try {
      sendUnixDatagram(socketPath, syslogMessage(facility, level, message));
    } catch {
      // No syslog daemon, or it is not keeping up: the line is lost, as with syslog(3).
    }
  };
}
