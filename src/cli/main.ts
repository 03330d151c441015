import { Conntrack } from '../api/conntrack';
import { errnoOf, operationFailed } from './kernel-errors';
import { COMMAND_RUNNERS } from './commands';
import { runScript } from './load-file-run';
import { ScriptSpool } from './load-file-spool';
import type { CommandSelection } from './options';
import type { RunContext } from './commands/context';
import { BrokenPipe, stderr, stdout } from '../libc/output';
import { parseInvocation, type CommandLine } from './parse';
import { BANNER, CliProblem, OtherProblem, PROGNAME, renderProblem } from './problems';
import { dieOf, dieOnStopSignals } from '../libc/signals';
import { strerror } from '../libc/strerror';

/**
 * `conntrack ARGS...`: the only place that prints errors and exits. Library
 * errors become 1.4.7's messages and exit codes here; nothing reaches the
 * user as a stack trace.
 */
export function main(processArgv: readonly string[]): void {
  const { argv, netns } = takeNetnsOption([PROGNAME, ...processArgv.slice(2)]);
  dieOnStopSignals(() => stdout.end());
  // The loop ran dry with the command unfinished (a reply that can never come): never a silent exit 0.
  process.once('beforeExit', () => exit(report(new OtherProblem('internal error: the command stalled'))));
  run(argv, netns).then(exit, (err: unknown) => exit(report(err)));
}

async function run(argv: string[], netns: string | undefined): Promise<number> {
  const invocation = parseInvocation(argv);
  let table: Conntrack | undefined;
  const conntrack = (): Conntrack => (table ??= Conntrack.open(netns === undefined ? {} : { netns }));
  const context = (cmd: CommandLine, summaries: boolean): RunContext => ({ cmd, conntrack, netns, out: stdout, err: stderr, summaries });
  try {
    if (invocation.kind === 'single') {
      for (const w of invocation.command.warnings) stderr.write(`${w}\n`);
      return await runOne(context(invocation.command, true));
    }
    const { script } = invocation;
    const spool = new ScriptSpool();
    try {
      try {
        script.check(
          (w) => stderr.write(`${w}\n`),
          (line) => spool.add(line),
        );
      } finally {
        script.close();
      }
      const steps = spool.steps((words) => script.parse(words));
      await runScript(steps, { conntrack, run: (cmd) => runOne(context(cmd, false)), failure: commandProblem });
    } finally {
      spool.close();
    }
    // A -R file that ran to its end succeeded, whatever its -D lines matched.
    return 0;
  } finally {
    table?.close();
  }
}

async function runOne(ctx: RunContext): Promise<number> {
  const runner = COMMAND_RUNNERS[ctx.cmd.command];
  if (!runner) throw new OtherProblem(`${describe(ctx.cmd)} is not implemented yet`);
  try {
    return await runner(ctx);
  } catch (err) {
    throw commandProblem(err, ctx.cmd.command);
  }
}

/** What a command's failure is reported as. */
function commandProblem(err: unknown, command: CommandSelection): unknown {
  return socketProblem(err) ?? operationFailed(err, command);
}

function describe(cmd: CommandLine): string {
  return `${cmd.command.replace('CT_', '').replace('EXP_', 'expectation ').toLowerCase()}`;
}

/**
 * Opening the socket failed: 1.4.7 prints perror()'s line and "Can't open
 * handler". Entering a --netns that does not exist is ours to explain.
 */
function socketProblem(err: unknown): CliProblem | undefined {
  const e = err as NodeJS.ErrnoException;
  if (!(err instanceof Error) || typeof e.errno !== 'number') return undefined;
  const errno = Math.abs(e.errno);
  if (e.syscall === 'open' || e.syscall === 'setns') {
    return new OtherProblem(`cannot enter network namespace: ${strerror(errno)}`);
  }
  if (e.syscall !== 'socket' && e.syscall !== 'bind') return undefined;
  const problem = new OtherProblem("Can't open handler");
  problem.warnings = [`mnl_socket_${e.syscall === 'socket' ? 'open' : 'bind'}: ${strerror(errno)}`];
  return problem;
}

/** Prints a failure as one line (plus 1.4.7's companion lines) and returns the exit status. */
function report(err: unknown): number {
  // The reader is gone (`| head`): the C tool dies of SIGPIPE, silently.
  if (err instanceof BrokenPipe) dieOf('SIGPIPE');
  try {
    stdout.sync();
  } catch {
    // The reader is gone; the error still goes to stderr.
  }
  const problem =
    err instanceof CliProblem
      ? err
      : errnoOf(err) !== undefined
        ? (operationFailed(err, 'USAGE') as CliProblem)
        : new OtherProblem(`internal error: ${err instanceof Error ? err.message : String(err)}`);
  stderr.write(renderProblem(problem, BANNER));
  return problem.exitCode;
}

function exit(status: number): void {
  try {
    stdout.end();
  } catch (err) {
    if (!(err instanceof BrokenPipe)) throw err;
    dieOf('SIGPIPE');
  }
  process.exit(status);
}

/**
 * `--netns NAME|PATH` (our extension): run in that network namespace without
 * `ip netns exec`. Taken out before 1.4.7's parser sees the command line.
 */
function takeNetnsOption(argv: string[]): { argv: string[]; netns: string | undefined } {
  const rest: string[] = [];
  let netns: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--netns' && i + 1 < argv.length) netns = argv[++i];
    else if (word.startsWith('--netns=')) netns = word.slice('--netns='.length);
    else rest.push(word);
  }
  return { argv: rest, netns };
}
