import { BANNER } from '../problems';
import type { RunContext } from './context';

/** `-F expect`: every expectation of every family goes; the message follows even a failed request. */
export async function flushExpectations(ctx: RunContext): Promise<number> {
  // Outside the try: a --netns that cannot be entered is no flush that failed.
  const ct = ctx.conntrack();
  try {
    await ct.flushExpectations();
  } finally {
    ctx.err.write(`${BANNER}: expectation table has been emptied.\n`);
  }
  return 0;
}
