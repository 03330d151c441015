import { isLost, type EventStream } from '../../api/event-stream';
import type { ExpectationEvent } from '../../ctnetlink/expect';
import { NetlinkError } from '../../api/errors';
import { subscribeErrno } from '../kernel-errors';
import { BANNER, OtherProblem } from '../problems';
import { catchStopSignals } from '../../libc/signals';
import { summary, type RunContext } from './context';
import { ExpectationPrinter } from './expect-printer';

const ENOBUFS = 105;

/**
 * `-E expect`: every expectation event of the namespace, all
 * families, unfiltered, until SIGINT or SIGTERM; then the XML footer if a
 * header went out, the count, exit 0. Each event reaches stdout at once.
 * 1.4.7 gives up when the kernel dropped events (its receive loop fails
 * with ENOBUFS: `Operation failed: No buffer space available`).
 */
export async function expectationEvents(ctx: RunContext): Promise<number> {
  const stream = openStream(ctx);
  const releaseSignals = catchStopSignals(() => stream.close());
  const printer = new ExpectationPrinter(ctx.cmd.output, ctx.out);
  let shown = 0;
  try {
    for await (const item of stream) {
      if (isLost(item)) throw new NetlinkError(ENOBUFS, 'recvmsg');
      printer.print(item.expectation, item.type);
      ctx.out.end();
      shown++;
    }
  } finally {
    releaseSignals();
  }
  printer.finish();
  summary(ctx, BANNER, `${shown} expectation events have been shown.`);
  return 0;
}

/** The event socket; 1.4.7 (libnetfilter_conntrack's nfct_open) only says it could not open it. */
function openStream(ctx: RunContext): EventStream<ExpectationEvent> {
  try {
    return ctx.conntrack().expectationEvents();
  } catch (e) {
    if (subscribeErrno(e) === undefined) throw e;
    throw new OtherProblem("Can't open handler");
  }
}
