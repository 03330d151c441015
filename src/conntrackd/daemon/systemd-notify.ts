/**
 * `General { Systemd on }`: systemd's readiness protocol. With
 * `Type=notify` systemd starts the next unit (the one that sends `-n`, say)
 * only once the daemon says `READY=1`, so a request never finds the control
 * socket missing; with `WatchdogSec=` it restarts a daemon that stops
 * sending `WATCHDOG=1` (we send it at half the interval, as sd_notify users do).
 * Outside systemd ($NOTIFY_SOCKET unset) all of this does nothing.
 */
import { sendUnixDatagram } from '../../api/unix-datagram';

export interface Notifier {
  /** Sends one state string (`READY=1`, `STOPPING=1`); failures are ignored, as sd_notify's are. */
  notify(state: string): void;
  /** Starts the watchdog pings if systemd asked for them; returns a function that stops them. */
  startWatchdog(): () => void;
}

/** The notifier for this process's environment; undefined when not started by systemd. */
export function systemdNotifier(env: NodeJS.ProcessEnv = process.env, pid: number = process.pid): Notifier | undefined {
  const socket = env.NOTIFY_SOCKET;
  if (!socket) return undefined;
  const notify = (state: string): void => {
    try {
      sendUnixDatagram(socket, state);
    } catch {
      // systemd gone or not listening: nothing to tell.
    }
  };
  return {
    notify,
    startWatchdog: () => {
      const interval = watchdogInterval(env, pid);
      if (interval === undefined) return () => undefined;
      const timer = setInterval(() => notify('WATCHDOG=1'), interval);
      timer.unref();
      return () => clearInterval(timer);
    },
  };
}

/**
 * Milliseconds between watchdog pings: half of WATCHDOG_USEC, when it is set
 * for us (WATCHDOG_PID, if present, must be our pid).
 */
export function watchdogInterval(env: NodeJS.ProcessEnv, pid: number): number | undefined {
  const usec = Number(env.WATCHDOG_USEC);
  if (!Number.isFinite(usec) || usec <= 0) return undefined;
  if (env.WATCHDOG_PID !== undefined && Number(env.WATCHDOG_PID) !== pid) return undefined;
  return Math.max(1, Math.floor(usec / 2000));
}
