/**
 * Runs the commands of a `-R` file with 1.4.7's outcome —
 * output, exit status and resulting table — but not its pace: 1.4.7 waits
 * for the kernel's answer to each line before it sends the next, we keep up
 * to 1024 `-I`/`-A` lines in flight (Conntrack.bulkChange), their requests (encoded when the file
 * was checked, see load-file-spool.ts) packed BATCH to a buffer, many
 * buffers per sendmsg, the answers matched by index: nothing is allocated
 * per line.
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
import { Outcome, RequestBatch, WindowBatch } from '../api/batch-window';
import type { BulkChange } from '../api/bulk-change';
import type { Conntrack } from '../api/conntrack';
import { isNotFound, type NetlinkError } from '../api/errors';
import { writeDeleteOfCreate } from '../ctnetlink/requests';
import { isExistingAdd } from './commands/create';
import type { ScriptCreate, ScriptStep } from './load-file-spool';
import type { CommandSelection } from './options';
import type { CommandLine } from './parse';

/** Creates per batch buffer. */
const BATCH = 256;

export interface ScriptEnvironment {
  conntrack(): Conntrack;
  /** Runs any other command to its end; rejects with the problem it failed with. */
  run(cmd: CommandLine): Promise<unknown>;
  /** The problem a failed request of `command` is reported as. */
  failure(err: unknown, command: CommandSelection): unknown;
}

/** Runs the commands in file order; rejects with the problem of the first line that failed. */
export async function runScript(steps: Iterable<ScriptStep>, env: ScriptEnvironment): Promise<void> {
  const creates = new CreateWindow(env);
  try {
    for (const step of steps) {
      if (step.kind === 'create') {
        await creates.add(step);
      } else {
        await creates.drain();
        await env.run(step.cmd);
      }
    }
  } finally {
    // Whatever ended the run, the lines before it have their answers, and an
    // earlier failure is the one 1.4.7 would report.
    await creates.drain();
  }
}

/** Consecutive creates in one buffer, sent together. */
class CreateBatch extends RequestBatch {
  private readonly commands: CommandSelection[] = [];

  constructor() {
    super(BATCH, 160);
  }

  /** Writes `create` as request `count` (the window counts it). */
  write(create: ScriptCreate): void {
    this.requests.raw(create.message);
    this.commands[this.count] = create.command;
    this.written();
  }

  command(i: number): CommandSelection {
    return this.commands[i]!;
  }

  protected outcome(index: number, err: NetlinkError | undefined): Outcome {
    if (err === undefined) return Outcome.DONE;
    return isExistingAdd({ command: this.commands[index]! }, err) ? Outcome.EXISTED : Outcome.FAILED;
  }
}

const writeCreate = (batch: CreateBatch, create: ScriptCreate): void => batch.write(create);
const writeUndo = (batch: UndoBatch, create: Buffer): void => writeDeleteOfCreate(batch.requests, 0, create);

/** The first create that failed, as the problem 1.4.7 reports for its line. */
class CreateFailed {
  constructor(readonly problem: unknown) {}
}

/** The creates sent and not yet looked at, in file order. */
class CreateWindow {
  /** Made by the first create: a run of other commands only never opens the modify socket. */
  private bulk: BulkChange<CreateBatch> | undefined;
  /** The creates after the failed one were taken back. */
  private undone = false;

  constructor(private readonly env: ScriptEnvironment) {}

  async add(create: ScriptCreate): Promise<void> {
    const bulk = this.open(create);
    try {
      bulk.add(writeCreate, create);
      await bulk.room();
    } catch (err) {
      throw await this.failed(err);
    }
  }

  /** Waits for every create sent, and sends the ones not sent yet first. */
  async drain(): Promise<void> {
    try {
      await this.bulk?.finish();
    } catch (err) {
      throw await this.failed(err);
    }
  }

  private open(create: ScriptCreate): BulkChange<CreateBatch> {
    if (this.bulk) return this.bulk;
    let conntrack: Conntrack;
    try {
      conntrack = this.env.conntrack();
    } catch (err) {
      // The table could not be opened: the first create fails with that, as 1.4.7's does.
      throw this.env.failure(err, create.command);
    }
    this.bulk = conntrack.bulkChange<CreateBatch>({
      batch: () => new CreateBatch(),
      take: (batch, i) => {
        if (batch.outcomes[i] === Outcome.FAILED) throw new CreateFailed(this.env.failure(batch.error(i), batch.command(i)));
      },
    });
    return this.bulk;
  }

  /**
   * The problem the run fails with, once the creates after the failed one
   * are undone (1.4.7 never sent them). The first failure wins: drain()
   * after a failed add() reports the same one.
   */
  private async failed(err: unknown): Promise<unknown> {
    if (!(err instanceof CreateFailed)) return err;
    if (this.undone) return err.problem;
    this.undone = true;
    const bulk = this.bulk!;
    await bulk.finish().catch(() => undefined);
    await this.undoLater(bulk.untaken());
    return err.problem;
  }

  /** Deletes the entries that creates after the failed one made. */
  private async undoLater(later: CreateBatch[]): Promise<void> {
    let failure: unknown;
    const undo = this.env.conntrack().bulkChange<UndoBatch>({
      batch: () => new UndoBatch(),
      take: (batch, i) => {
        if (batch.outcomes[i] === Outcome.FAILED) failure ??= batch.error(i);
      },
    });
    for (const batch of later) {
      for (let i = batch.taken; i < batch.count; i++) {
        if (batch.outcomes[i] !== Outcome.DONE) continue;
        undo.add(writeUndo, batch.request(i));
        await undo.room();
      }
    }
    await undo.finish();
    if (failure !== undefined) throw this.env.failure(failure, 'CT_DELETE');
  }
}

/** The deletes that take back creates; an entry already gone (ENOENT) is no failure. */
class UndoBatch extends WindowBatch {
  constructor() {
    super(BATCH, 160);
  }

  protected outcome(_index: number, err: NetlinkError | undefined): Outcome {
    return err === undefined || isNotFound(err) ? Outcome.DONE : Outcome.FAILED;
  }
}
