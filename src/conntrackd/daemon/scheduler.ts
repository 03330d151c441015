/**
 * `General { Scheduler { Type; Priority } }`: the daemon's CPU scheduling
 * policy, SCHED_RR priority 99 when the file says nothing (as 1.4.7), so a
 * busy firewall does not starve the daemon of the CPU it needs to keep up
 * with conntrack events.
 *
 * Node has no sched_setscheduler(); util-linux's `chrt --all-tasks` sets it
 * for every thread of the daemon: the event loop, where its work runs, and
 * the thread that receives kernel events ahead of it (1.4.7 has one thread).
 * Left at SCHED_OTHER, that thread starved behind two real-time daemons on
 * a 2-core firewall and the kernel dropped events its small buffer could
 * not hold. Threads started later inherit the policy.
 */
import { spawnSync } from 'node:child_process';
import type { GeneralConfig } from '../config/config';

const CHRT_POLICY = { RR: '--rr', FIFO: '--fifo', OTHER: '--other' } as const;

export const DEFAULT_SCHEDULER: NonNullable<GeneralConfig['scheduler']> = { type: 'RR', priority: 99 };

/** 1.4.7's warning when the policy cannot be set; the daemon goes on. */
export function schedulerFailedMessage(reason: string): string {
  return `scheduler configuration failed: ${reason}. Likely a bug in conntrackd, please report it. Continuing with system default scheduler.`;
}

/**
 * Sets the policy of thread `pid` (our main thread by default). Returns
 * undefined on success, else the reason as strerror() words.
 */
export function setScheduler(scheduler: NonNullable<GeneralConfig['scheduler']>, pid: number = process.pid): string | undefined {
  // Linux's ranges: sched_setscheduler() says EINVAL outside them, while chrt refuses with words of its own.
  const { type, priority } = scheduler;
  if (type === 'OTHER' ? priority !== 0 : priority < 1 || priority > 99) return 'Invalid argument';
  const r = spawnSync('chrt', ['--all-tasks', CHRT_POLICY[scheduler.type], '-p', String(scheduler.priority), String(pid)], {
    encoding: 'utf8',
    env: { ...process.env, LC_ALL: 'C' },
  });
  if (r.error) return `cannot run chrt: ${r.error.message}`;
  if (r.status === 0) return undefined;
  // "chrt: failed to set pid N's policy: Invalid argument": the last part is strerror()'s.
  const line = r.stderr.trim().split('\n').pop() ?? '';
  return line.slice(line.lastIndexOf(': ') + 2) || `chrt exited ${r.status}`;
}
