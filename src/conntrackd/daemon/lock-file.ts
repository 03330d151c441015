/**
 * `General { LockFile }`: one daemon per lock file.
 *
 * 1.4.7 creates the file with O_EXCL and refuses to start when it exists,
 * so a crash leaves a lock behind that blocks every later start until
 * someone removes it. We write our pid into the file and take over a lock
 * whose pid is no longer alive (a file without a pid, as 1.4.7 leaves it,
 * still refuses: nothing says whose it is).
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';

export type LockResult =
  | { taken: true; staleOwner?: number }
  | { taken: false };

/** Whether a process with this pid exists (EPERM: it exists, owned by someone else). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function createExclusive(path: string, pid: number): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch {
    // EEXIST, or a directory that is missing or not ours: 1.4.7 says "exists" for all of them.
    return false;
  }
  try {
    writeSync(fd, `${pid}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** The pid written in a lock file, undefined when it holds none. */
export function lockOwner(path: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'latin1');
  } catch {
    return undefined;
  }
  const m = /^\s*(\d+)\s*$/.exec(text);
  const pid = m ? Number(m[1]) : NaN;
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * Takes the lock for `pid`. A lock owned by a dead process is replaced once
 * (`staleOwner` says whose it was, for the log); `alive` is injectable for tests.
 */
export function takeLock(path: string, pid: number = process.pid, alive: (pid: number) => boolean = processAlive): LockResult {
  if (createExclusive(path, pid)) return { taken: true };
  const owner = lockOwner(path);
  if (owner === undefined || owner === pid || alive(owner)) return { taken: false };
  try {
    unlinkSync(path);
  } catch {
    return { taken: false };
  }
  // Another daemon starting at the same moment may win the new file: then it is theirs.
  return createExclusive(path, pid) ? { taken: true, staleOwner: owner } : { taken: false };
}

/** Removes the lock at exit; a lock already gone is fine. */
export function releaseLock(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Removed by hand meanwhile: nothing to release.
  }
}

export function lockExistsMessage(path: string): string {
  return `lockfile \`${path}' exists, perhaps conntrackd already running?`;
}

export function staleLockMessage(path: string, owner: number): string {
  return `lockfile \`${path}' was left by process ${owner}, which is no longer running: taken over`;
}
