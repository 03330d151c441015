import { errnoOf, isNamespaceFailure, isSocketSetupFailure } from '../kernel-errors';
import type { RunContext } from './context';

/**
 * 1.4.7's `/proc` fallback of `-C` and `-S`: when the netlink request fails it
 * prints what /proc says instead — and then still reports the failure
 * (`Operation failed: …`, exit 1; e.g. EPERM for an unprivileged user).
 * Only a socket that could not even be opened is forgiven (exit 0).
 * /proc shows the namespace this process runs in, so with `--netns` (and when
 * the namespace cannot be entered) there is no fallback: the failure is
 * reported, never another namespace's numbers.
 */
export async function netlinkOrProc<T>(ctx: RunContext, netlink: () => Promise<T>, proc: () => T, print: (value: T) => void): Promise<number> {
  let failure: unknown;
  let value: T;
  try {
    value = await netlink();
  } catch (err) {
    if (ctx.netns !== undefined || isNamespaceFailure(err)) throw err;
    failure = err;
    value = proc();
  }
  print(value);
  if (errnoOf(failure) !== undefined && !isSocketSetupFailure(failure)) throw failure;
  return 0;
}
