/**
 * Runs the commands of a `-R` file with 1.4.7's outcome —
 * output, exit status and resulting table — but not its pace: 1.4.7 waits
 * for the kernel's answer to each line before it sends the next, we keep up
 * to DEPTH `-I`/`-A` lines in flight, their requests (encoded when the file
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
import { BatchWindow, WindowBatch } from '../api/batch-window';
import type { Conntrack } from '../api/conntrack';
import { isNotFound, type NetlinkError } from '../api/errors';
import { writeDeleteOfCreate } from '../ctnetlink/requests';
import { isExistingAdd } from './commands/create';
import type { ScriptCreate, ScriptStep } from './load-file-spool';
import type { CommandSelection } from './options';
import type { CommandLine } from './parse';

/** Creates unanswered at most: as many as the library keeps in flight on its modify socket. */
const DEPTH = 1024;
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

const enum Outcome {
  CREATED = 1,
  /** `-A` of an existing entry: nothing changed, and the run goes on (see isExistingAdd). */
  EXISTED = 2,
  FAILED = 3,
}

/** Consecutive creates in one buffer, sent together. */
class CreateBatch extends WindowBatch {
  /** Request i spans starts[i]..starts[i + 1] of requests. */
  private readonly starts = new Uint32Array(BATCH + 1);
  private readonly commands: CommandSelection[] = [];

  constructor() {
    super(BATCH, 160, Outcome.FAILED);
  }

  /** Writes `create` as request `count` (the window counts it). */
  write(create: ScriptCreate): void {
    const i = this.count;
    this.requests.raw(create.message);
    this.starts[i + 1] = this.requests.length;
    this.commands[i] = create.command;
  }

  /** The create request i, as sent. */
  request(i: number): Buffer {
    return this.requests.view().subarray(this.starts[i]!, this.starts[i + 1]!);
  }

  command(i: number): CommandSelection {
    return this.commands[i]!;
  }

  protected outcome(index: number, err: NetlinkError | undefined): number {
    if (err === undefined) return Outcome.CREATED;
    return isExistingAdd({ command: this.commands[index]! }, err) ? Outcome.EXISTED : Outcome.FAILED;
  }
}

/** Sends a sealed batch on the modify socket; one that cannot be sent fails whole. */
function submitVia(env: ScriptEnvironment): (batch: WindowBatch) => void {
  return (batch) => {
    try {
      // The view stays valid: the batch is not written again before it is recycled, after its answers.
      env.conntrack().submitBatch(batch.requests.view(), batch.count, batch);
    } catch (err) {
      // The socket could not be opened: the creates fail with that, as 1.4.7's first one does.
      batch.onFailure(err as Error);
    }
  };
}

/** The creates sent and not yet looked at, in file order. */
class CreateWindow {
  private readonly window: BatchWindow<CreateBatch>;

  constructor(private readonly env: ScriptEnvironment) {
    this.window = new BatchWindow<CreateBatch>({ depth: DEPTH, batch: () => new CreateBatch(), submit: submitVia(env) });
  }

  async add(create: ScriptCreate): Promise<void> {
    const batch = this.window.current();
    batch.write(create);
    this.window.added(batch);
    // Refill by halves: the next DEPTH/2 lines leave in a few sendmsg calls.
    if (this.window.pending >= DEPTH) await this.window.settle(DEPTH / 2, () => this.check());
  }

  /** Waits for every create sent, and sends the ones not sent yet first. */
  drain(): Promise<void> {
    return this.window.settle(0, () => this.check());
  }

  /** Takes answered creates off the front; rejects with the first failure, once the creates after it are undone. */
  private async check(): Promise<void> {
    for (let batch = this.window.next(); batch; batch = this.window.next()) {
      const i = batch.taken - 1;
      if (batch.outcomes[i] !== Outcome.FAILED) continue;
      await this.undoLater();
      throw this.env.failure(batch.error(i), batch.command(i));
    }
  }

  /** Deletes the entries that creates after a failed one made: 1.4.7 never sent them. */
  private async undoLater(): Promise<void> {
    const later = this.window.takeRest();
    await this.window.settle(0, () => {});
    const undo = new BatchWindow<UndoBatch>({ depth: Infinity, batch: () => new UndoBatch(), submit: submitVia(this.env) });
    for (const batch of later) {
      for (let i = batch.taken; i < batch.count; i++) {
        if (batch.outcomes[i] !== Outcome.CREATED) continue;
        const into = undo.current();
        writeDeleteOfCreate(into.requests, 0, batch.request(i));
        undo.added(into);
      }
    }
    let failure: unknown;
    await undo.settle(0, () => {
      for (let batch = undo.next(); batch; batch = undo.next()) {
        const i = batch.taken - 1;
        if (batch.outcomes[i] === UndoOutcome.FAILED) failure ??= batch.error(i);
      }
    });
    if (failure !== undefined) throw this.env.failure(failure, 'CT_DELETE');
  }
}

const enum UndoOutcome {
  DELETED = 1,
  FAILED = 2,
}

/** The deletes that take back creates; an entry already gone (ENOENT) is no failure. */
class UndoBatch extends WindowBatch {
  constructor() {
    super(BATCH, 160, UndoOutcome.FAILED);
  }

  protected outcome(_index: number, err: NetlinkError | undefined): number {
    return err === undefined || isNotFound(err) ? UndoOutcome.DELETED : UndoOutcome.FAILED;
  }
}
