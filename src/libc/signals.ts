import { constants } from 'node:os';

/**
 * How `conntrack` ends on SIGINT, SIGTERM and a reader that went away.
 *
 * 1.4.7 dies of these signals (only `-E` catches SIGINT and SIGTERM), and of
 * SIGPIPE when `| head` stops reading, so a parent sees "killed by SIG…" and
 * a shell `$?` of 128+N. We end the same way. Unlike 1.4.7, whose stdio
 * buffer is lost wherever a 4096-byte block happened to end (mid-line), we
 * first write out what we hold: formatters append whole lines between two
 * turns of the event loop and signal listeners run only between turns, so
 * every line a reader got is complete.
 */

const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** What a command that stops gracefully does instead of dying (`-E`: footer, count, exit 0). */
let takenOver: (() => void) | undefined;

/**
 * Makes SIGINT and SIGTERM write out `flush` and end the process as killed by
 * the signal. Called once, before any command runs.
 */
export function dieOnStopSignals(flush: () => void): void {
  for (const signal of STOP_SIGNALS) {
    process.on(signal, () => {
      if (takenOver) {
        takenOver();
        return;
      }
      try {
        flush();
      } finally {
        dieOf(signal);
      }
    });
  }
}

/**
 * Until the returned function is called, SIGINT and SIGTERM call `stop`
 * instead of ending the process.
 */
export function catchStopSignals(stop: () => void): () => void {
  takenOver = stop;
  return () => {
    if (takenOver === stop) takenOver = undefined;
  };
}

/**
 * Ends the process as killed by `signal`, like the C tool under the default
 * action. Node ignores SIGPIPE and keeps its own handler for a signal while
 * it has listeners; once the last listener is removed libuv gives the signal
 * back its default action (SIG_DFL), so the listener added first makes that
 * true for SIGPIPE as well.
 */
export function dieOf(signal: NodeJS.Signals): never {
  process.on(signal, () => {});
  process.removeAllListeners(signal);
  // A signal a process sends itself and does not block arrives before kill() returns.
  process.kill(process.pid, signal);
  process.exit(128 + constants.signals[signal]);
}
