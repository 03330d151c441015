import { errnoOf } from '../kernel-errors';

/**
 * 1.4.7's `/proc` fallback of `-C` and `-S`: when the netlink request fails it
 * prints what /proc says instead — and then still reports the failure
 * (`Operation failed: …`, exit 1; e.g. EPERM for an unprivileged user).
 * Only a socket that could not even be opened is forgiven (exit 0).
 */
export async function netlinkOrProc<T>(netlink: () => Promise<T>, proc: () => T, print: (value: T) => void): Promise<number> {
  let failure: unknown;
  let value: T;
  try {
    value = await netlink();
  } catch (err) {
    failure = err;
    value = proc();
  }
  print(value);
  if (errnoOf(failure) !== undefined) throw failure;
  return 0;
}
