/** The daemon's log line, syslog datagram and watchdog interval formats. */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { DaemonLog, formatLogLine } from '../../src/conntrackd/daemon/log';
import { syslogMessage } from '../../src/conntrackd/daemon/syslog';
import { watchdogInterval } from '../../src/conntrackd/daemon/systemd-notify';

test('log line: 1.4.7 level words (notice, warning, ERROR)', () => {
  const date = new Date(2026, 11, 7, 1, 35, 27);
  assert.equal(formatLogLine('NOTICE', 'initialization completed', date, 42), '[Mon Dec  7 01:35:27 2026] (pid=42) [notice] initialization completed\n');
  assert.equal(formatLogLine('WARNING', 'w', date, 42), '[Mon Dec  7 01:35:27 2026] (pid=42) [warning] w\n');
  assert.equal(formatLogLine('ERROR', 'e', date, 42), '[Mon Dec  7 01:35:27 2026] (pid=42) [ERROR] e\n');
});

test('console: notices to stdout, warnings and errors to stderr; a console that fails is skipped', () => {
  const out: string[] = [];
  const err: string[] = [];
  const log = new DaemonLog({ console: { out: (t) => out.push(t), err: (t) => err.push(t) } });
  log.write('NOTICE', 'n');
  log.write('WARNING', 'w');
  log.write('ERROR', 'e');
  const broken = new DaemonLog({
    console: {
      out: () => {
        throw new Error('EPIPE');
      },
      err: () => {
        throw new Error('EPIPE');
      },
    },
  });
  broken.write('NOTICE', 'nobody reads this');
  assert.deepEqual(out.map((l) => l.replace(/^.*\] /, '')), ['n\n']);
  assert.deepEqual(err.map((l) => l.replace(/^.*\] /, '')), ['w\n', 'e\n']);
});

test('syslog datagram: priority = facility * 8 + severity, RFC 3164 date, ident[pid]', () => {
  const date = new Date(2026, 11, 7, 1, 5, 7);
  assert.equal(syslogMessage('daemon', 'NOTICE', 'hi', date, 7), '<29>Dec  7 01:05:07 conntrackd[7]: hi');
  assert.equal(syslogMessage('local3', 'ERROR', 'x', date, 7), '<155>Dec  7 01:05:07 conntrackd[7]: x');
  assert.equal(syslogMessage('local7', 'WARNING', 'x', date, 7), '<188>Dec  7 01:05:07 conntrackd[7]: x');
  assert.equal(syslogMessage('user', 'INFO', 'x', date, 7), '<14>Dec  7 01:05:07 conntrackd[7]: x');
});

test('watchdog: half of WATCHDOG_USEC, only for our pid', () => {
  assert.equal(watchdogInterval({ WATCHDOG_USEC: '4000000' }, 5), 2000);
  assert.equal(watchdogInterval({ WATCHDOG_USEC: '4000000', WATCHDOG_PID: '5' }, 5), 2000);
  assert.equal(watchdogInterval({ WATCHDOG_USEC: '4000000', WATCHDOG_PID: '6' }, 5), undefined);
  assert.equal(watchdogInterval({}, 5), undefined);
  assert.equal(watchdogInterval({ WATCHDOG_USEC: 'x' }, 5), undefined);
});
