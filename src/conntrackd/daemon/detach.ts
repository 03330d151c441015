/**
 * `conntrackd -d`: run in the background.
 *
 * Node cannot fork(), so the parent starts the same command again as a
 * detached child (its own session, stdio on /dev/null) and waits on a pipe
 * (descriptor 3) until the child says it is ready, then exits 0: as with
 * 1.4.7, `conntrackd -d && conntrackd -s` finds a running daemon. A child
 * that fails first exits with its status, which the parent passes on, and
 * what it had to say on the console comes through the pipe.
 *
 * The pipe carries one JSON object per line: `{"fd":1|2,"text":…}` console
 * output, `{"ready":true}` the end.
 */
import { spawn } from 'node:child_process';
import { closeSync, writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { ConsoleSink } from './log';

/** Environment variable naming the child's end of the pipe; only our own child has it. */
const CHANNEL_ENV = 'CONNTRACKD_TS_DETACHED_FD';

type Message = { fd: 1 | 2; text: string } | { ready: true };

/**
 * Parent: starts the detached child with our own command line and resolves
 * with the status the parent exits with; `onChildReady` learns the daemon's pid.
 */
export function detach(console: ConsoleSink, onChildReady?: (pid: number) => void): Promise<number> {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    env: { ...process.env, [CHANNEL_ENV]: '3' },
  });
  return new Promise((resolve) => {
    let done = false;
    const finish = (status: number): void => {
      if (done) return;
      done = true;
      child.unref();
      (child.stdio[3] as Readable).destroy();
      resolve(status);
    };
    const lines = createInterface({ input: child.stdio[3] as Readable });
    lines.on('line', (line) => {
      let message: Message;
      try {
        message = JSON.parse(line) as Message;
      } catch {
        return;
      }
      if ('ready' in message) {
        onChildReady?.(child.pid!);
        finish(0);
      }
      else (message.fd === 1 ? console.out : console.err).call(console, message.text);
    });
    child.once('error', (err) => {
      console.err(`fork has failed: ${err.message}\n`);
      finish(1);
    });
    // Interrupted before the daemon is ready (Ctrl-C): the child, in a session of its own, would not
    // get the signal; it gets it from us, stops, and we fail.
    let interrupted = false;
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        interrupted = true;
        child.kill('SIGTERM');
      });
    }
    // 'close', not 'exit': console lines still in the pipe come first.
    child.once('close', (code) => finish(interrupted ? 1 : (code ?? 1)));
  });
}

/** The child's end: its console (relayed by the parent) and how it says it is ready. */
export interface DetachedChannel {
  console: ConsoleSink;
  ready(): void;
}

/**
 * In the detached child, its channel to the parent; undefined in any other
 * process. Taken out of the environment so that nothing we start inherits it.
 */
export function takeDetachedChannel(): DetachedChannel | undefined {
  const fd = Number(process.env[CHANNEL_ENV]);
  delete process.env[CHANNEL_ENV];
  if (!Number.isInteger(fd) || fd < 3) return undefined;
  let open = true;
  const send = (message: Message): void => {
    if (!open) return;
    try {
      writeSync(fd, `${JSON.stringify(message)}\n`);
    } catch {
      // The parent is gone (killed): nobody is left to tell.
      open = false;
    }
  };
  return {
    console: { out: (text) => send({ fd: 1, text }), err: (text) => send({ fd: 2, text }) },
    ready: () => {
      send({ ready: true });
      if (open) closeSync(fd);
      open = false;
    },
  };
}
