import { isLost } from '../../api/event-stream';
import { NetlinkError } from '../../netlink/errors';
import { BANNER } from '../problems';
import { summary, type RunContext } from './context';
import { ExpectationPrinter } from './expect-printer';

const ENOBUFS = 105;
const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * `-E expect` (spec §7.13): every expectation event of the namespace, all
 * families, unfiltered, until SIGINT or SIGTERM; then the XML footer if a
 * header went out, the count, exit 0. Each event reaches stdout at once.
 * 1.4.7 gives up when the kernel dropped events (its receive loop fails
 * with ENOBUFS: `Operation failed: No buffer space available`).
 */
export async function expectationEvents(ctx: RunContext): Promise<number> {
  const stream = ctx.conntrack().expectationEvents();
  const stop = (): void => stream.close();
  for (const signal of STOP_SIGNALS) process.once(signal, stop);
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
    for (const signal of STOP_SIGNALS) process.off(signal, stop);
  }
  printer.finish();
  summary(ctx, BANNER, `${shown} expectation events have been shown.`);
  return 0;
}
