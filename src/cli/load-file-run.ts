/**
 * Runs the commands of a `-R` file (spec §7.14) with 1.4.7's outcome —
 * output, exit status and resulting table — but not its pace: 1.4.7 waits
 * for the kernel's answer to each line before it sends the next, we keep up
 * to DEPTH `-I`/`-A` lines in flight, many per sendmsg.
 *
 * 1.4.7 stops at the first line that fails, so a line after it must leave
 * no trace. The kernel handles the requests of one socket in order, each
 * whatever became of the ones before, so when a create fails the creates
 * sent after it have run too. They are taken back: each one that made an
 * entry had NLM_F_EXCL (`-A` too, see create.ts), so the entry is new and
 * deleting it restores the table; one that failed changed nothing. Every
 * other command (`-U`, `-D`, `-F`) reads or changes what the lines before it
 * made, so it starts only when every create before it has been answered,
 * and nothing after it is sent before it ends.
 */
import type { Conntrack } from '../api/conntrack';
import type { Flow } from '../ctnetlink/flow';
import { flowToCreate, isExistingAdd } from './commands/create';
import type { CommandSelection } from './options';
import type { CommandLine } from './parse';

/** Creates unanswered at most: as many as the library keeps in flight on its modify socket. */
const DEPTH = 1024;

export interface ScriptEnvironment {
  conntrack(): Conntrack;
  /** Runs any other command to its end; rejects with the problem it failed with. */
  run(cmd: CommandLine): Promise<unknown>;
  /** The problem a failed request of `command` is reported as. */
  failure(err: unknown, command: CommandSelection): unknown;
}

/** Runs the commands in file order; rejects with the problem of the first line that failed. */
export async function runScript(commands: Iterable<CommandLine>, env: ScriptEnvironment): Promise<void> {
  const creates = new CreateWindow(env);
  try {
    for (const cmd of commands) {
      if (cmd.command === 'CT_CREATE' || cmd.command === 'CT_ADD') {
        await creates.add(cmd);
      } else {
        await creates.drain();
        await env.run(cmd);
      }
    }
  } finally {
    // Whatever ended the run, the lines before it have their answers, and an
    // earlier failure is the one 1.4.7 would report.
    await creates.drain();
  }
}

/** One `-I`/`-A` line on its way. */
class SentCreate {
  done = false;
  /** Why the kernel refused it; undefined once the entry was created. */
  error: unknown;
  readonly answered: Promise<void>;

  constructor(
    readonly command: CommandSelection,
    readonly flow: Flow,
    request: Promise<void>,
  ) {
    this.answered = request.then(
      () => {
        this.done = true;
      },
      (err: unknown) => {
        this.done = true;
        this.error = err;
      },
    );
  }
}

/** The creates sent and not yet taken off in file order. */
class CreateWindow {
  private readonly sent: SentCreate[] = [];

  constructor(private readonly env: ScriptEnvironment) {}

  async add(cmd: CommandLine): Promise<void> {
    const flow = flowToCreate(cmd);
    this.sent.push(new SentCreate(cmd.command, flow, this.env.conntrack().create(flow, { exclusive: true })));
    // Refill by halves: the next DEPTH/2 lines leave in a few sendmsg calls.
    if (this.sent.length >= DEPTH) await this.settle(DEPTH / 2);
  }

  drain(): Promise<void> {
    return this.settle(0);
  }

  /** Takes answered creates off the front, waiting until at most `keep` are left. */
  private async settle(keep: number): Promise<void> {
    while (this.sent.length > keep || this.sent[0]?.done) {
      const head = this.sent.shift()!;
      await head.answered;
      if (head.error === undefined || isExistingAdd(head, head.error)) continue;
      await this.undoLater();
      throw this.env.failure(head.error, head.command);
    }
  }

  /** Deletes the entries that creates after a failed one made: 1.4.7 never sent them. */
  private async undoLater(): Promise<void> {
    const later = this.sent.splice(0);
    await Promise.all(later.map((s) => s.answered));
    const conntrack = this.env.conntrack();
    try {
      await Promise.all(later.filter((s) => s.error === undefined).map((s) => conntrack.delete(s.flow)));
    } catch (err) {
      throw this.env.failure(err, 'CT_DELETE');
    }
  }
}
