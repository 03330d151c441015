import { Conntrack } from '../api/conntrack';
import { runOnce } from './once';
import { runLive } from './live';
import { parseTopOptions, UsageError, type TopOptions } from './options';

/**
 * `conntrack-top ARGS...`: the only place that prints errors and exits.
 * Bad arguments: one line, exit 2; kernel refusals: one line, exit 1.
 */
export function main(processArgv: readonly string[]): void {
  let opts: TopOptions;
  try {
    opts = parseTopOptions(processArgv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`conntrack-top: ${err.message}\n`);
    process.exitCode = 2;
    return;
  }
  if (!opts.once && !process.stdout.isTTY) {
    process.stderr.write('conntrack-top: the live view needs a terminal (--once prints one snapshot)\n');
    process.exitCode = 2;
    return;
  }
  run(opts).catch((err: unknown) => {
    process.stderr.write(`conntrack-top: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}

async function run(opts: TopOptions): Promise<void> {
  let conntrack: Conntrack;
  try {
    conntrack = Conntrack.open(opts.netns === undefined ? {} : { netns: opts.netns });
  } catch (err) {
    // Opening enters the namespace: its failure is about the namespace named.
    if (opts.netns === undefined || !(err instanceof Error)) throw err;
    throw new Error(`network namespace ${opts.netns}: ${err.message}`);
  }
  try {
    await (opts.once ? runOnce(conntrack, opts, (text) => process.stdout.write(text)) : runLive(conntrack, opts));
  } finally {
    conntrack.close();
  }
}
