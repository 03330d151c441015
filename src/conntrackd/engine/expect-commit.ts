/**
 * `-c expect` (and the expectation half of `-c`): the external expectation
 * cache into the kernel, as 1.4.7 commits it. An expectation hangs on its
 * master, so the flows are committed first (`-c` does that); one whose
 * master is missing fails with ENOENT and the commit goes on.
 *
 * The timeout is `CommitTimeout`, else what was left of the replicated one
 * (60 seconds when nothing is left), as for flows. The id is the primary's
 * and means nothing here; the rest is committed as replicated.
 */
import type { Expectation } from '../../ctnetlink/expect';
import type { ExternalExpectation } from './expect-cache';

/** The timeout of an expectation whose replicated one ran out (or never came), as 1.4.7. */
const FALLBACK_TIMEOUT = 60;

export interface ExpectationCommitResult {
  committed: number;
  failed: number;
}

/** The kernel expectation to create for `entry` at `now` (ms since the epoch). */
export function committedExpectation(entry: ExternalExpectation, commitTimeout: number | undefined, now: number): Expectation {
  const { id: _id, ...exp } = entry.expectation;
  return { ...exp, timeout: commitTimeout ?? timeoutLeft(entry, now) };
}

function timeoutLeft(entry: ExternalExpectation, now: number): number {
  if (entry.expectation.timeout === undefined) return FALLBACK_TIMEOUT;
  const left = entry.expectation.timeout - Math.floor((now - entry.updatedAt) / 1000);
  return left < 0 ? FALLBACK_TIMEOUT : left;
}

/** Commits every entry; a failure is reported to `failed` and the commit goes on. */
export async function commitExpectations(
  entries: readonly ExternalExpectation[],
  commitTimeout: number | undefined,
  create: (exp: Expectation) => Promise<void>,
  failed: (exp: Expectation, err: Error) => void,
): Promise<ExpectationCommitResult> {
  const result: ExpectationCommitResult = { committed: 0, failed: 0 };
  const now = Date.now();
  for (const entry of entries) {
    const exp = committedExpectation(entry, commitTimeout, now);
    try {
      await create(exp);
      result.committed++;
    } catch (err) {
      result.failed++;
      failed(exp, err as Error);
    }
  }
  return result;
}
