import { BANNER } from '../problems';
import { summary, type RunContext } from './context';
import { ExpectationPrinter } from './expect-printer';

/**
 * `-L expect`: every expectation of the command family — IPv4 unless
 * `-f ipv6` — in kernel order.
 */
export async function listExpectations(ctx: RunContext): Promise<number> {
  const printer = new ExpectationPrinter(ctx.cmd.output, ctx.out);
  let shown = 0;
  for await (const exp of ctx.conntrack().dumpExpectations({ family: ctx.cmd.family })) {
    printer.print(exp);
    shown++;
  }
  printer.finish();
  ctx.out.sync();
  summary(ctx, BANNER, `${shown} expectations have been shown.`);
  return 0;
}

/**
 * `-C expect`: how many IPv4 expectations a dump returns (`-f` is illegal
 * here). 1.4.7 prints the count even when the dump failed.
 */
export async function countExpectations(ctx: RunContext): Promise<number> {
  let count = 0;
  // Outside the try: a --netns that cannot be entered counted nothing.
  const ct = ctx.conntrack();
  try {
    for await (const _ of ct.dumpExpectations({ family: ctx.cmd.family })) count++;
  } finally {
    ctx.out.write(`${count}\n`);
  }
  return 0;
}
