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
import type { Conntrack } from '../api/conntrack';
import { writeDeleteOfCreate } from '../ctnetlink/requests';
import { MessageWriter } from '../netlink/attributes';
import type { BatchHandler } from '../netlink/channel';
import { isNotFound, type NetlinkError } from '../api/errors';
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
  PENDING = 0,
  CREATED = 1,
  /** `-A` of an existing entry: nothing changed, and the run goes on (D5). */
  EXISTED = 2,
  FAILED = 3,
}

/** Consecutive creates in one buffer, sent together; recycled. */
class CreateBatch implements BatchHandler {
  readonly requests = new MessageWriter(BATCH * 160);
  /** Request i spans starts[i]..starts[i + 1] of requests. */
  private readonly starts = new Uint32Array(BATCH + 1);
  private readonly commands: CommandSelection[] = [];
  readonly outcomes = new Uint8Array(BATCH);
  /** Why request i failed, for FAILED outcomes only. */
  private readonly errors: unknown[] = [];
  count = 0;
  answered = 0;
  /** Requests whose outcome was looked at, in order. */
  checked = 0;
  sent = false;

  constructor(private readonly window: CreateWindow) {}

  reset(): void {
    this.requests.reset();
    this.count = this.answered = this.checked = 0;
    this.sent = false;
    this.outcomes.fill(Outcome.PENDING);
    this.errors.length = 0;
  }

  get full(): boolean {
    return this.count === BATCH;
  }

  add(create: ScriptCreate): void {
    const i = this.count++;
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

  error(i: number): unknown {
    return this.errors[i];
  }

  onReply(index: number, err: NetlinkError | undefined): void {
    this.outcomes[index] =
      err === undefined ? Outcome.CREATED : isExistingAdd({ command: this.commands[index]! }, err) ? Outcome.EXISTED : Outcome.FAILED;
    if (err !== undefined) this.errors[index] = err;
    this.answer(1);
  }

  onFailure(err: Error): void {
    for (let i = 0; i < this.count; i++) {
      if (this.outcomes[i] !== Outcome.PENDING) continue;
      this.outcomes[i] = Outcome.FAILED;
      this.errors[i] = err;
    }
    this.answer(this.count - this.answered);
  }

  private answer(n: number): void {
    this.answered += n;
    this.window.answered(n, this.answered === this.count);
  }
}

/** The creates sent and not yet looked at, in file order. */
class CreateWindow {
  private readonly queue: CreateBatch[] = [];
  private readonly spare: CreateBatch[] = [];
  private unanswered = 0;
  private wake: (() => void) | undefined;

  constructor(private readonly env: ScriptEnvironment) {}

  async add(create: ScriptCreate): Promise<void> {
    let batch = this.queue[this.queue.length - 1];
    if (!batch || batch.sent) {
      batch = this.spare.pop() ?? new CreateBatch(this);
      batch.reset();
      this.queue.push(batch);
    }
    batch.add(create);
    if (batch.full) this.send(batch);
    // Refill by halves: the next DEPTH/2 lines leave in a few sendmsg calls.
    if (this.unanswered >= DEPTH) await this.settle(DEPTH / 2);
  }

  /** Waits for every create sent, and sends the ones not sent yet first. */
  drain(): Promise<void> {
    return this.settle(0);
  }

  answered(n: number, batchDone: boolean): void {
    this.unanswered -= n;
    if (batchDone) this.wakeUp();
  }

  private send(batch: CreateBatch): void {
    batch.sent = true;
    this.unanswered += batch.count;
    try {
      // The view stays valid: the batch is not written again before it is recycled, after its answers.
      this.env.conntrack().submitBatch(batch.requests.view(), batch.count, batch);
    } catch (err) {
      // The socket could not be opened: the creates fail with that, as 1.4.7's first one does.
      batch.onFailure(err as Error);
    }
  }

  /** Looks at answered creates in order, waiting until at most `keep` are unanswered. */
  private async settle(keep: number): Promise<void> {
    const last = this.queue[this.queue.length - 1];
    if (last && !last.sent) this.send(last);
    for (;;) {
      await this.check();
      if (this.unanswered <= keep) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  /** Takes answered creates off the front; rejects with the first failure, once the creates after it are undone. */
  private async check(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue[0]!;
      while (batch.checked < batch.count && batch.outcomes[batch.checked] !== Outcome.PENDING) {
        const i = batch.checked++;
        if (batch.outcomes[i] !== Outcome.FAILED) continue;
        await this.undoLater();
        throw this.env.failure(batch.error(i), batch.command(i));
      }
      if (batch.checked < batch.count) return;
      this.spare.push(this.queue.shift()!);
    }
  }

  /** Deletes the entries that creates after a failed one made: 1.4.7 never sent them. */
  private async undoLater(): Promise<void> {
    const later = this.queue.splice(0);
    while (this.unanswered > 0) await new Promise<void>((resolve) => (this.wake = resolve));
    const undo = new UndoBatch();
    for (const batch of later) {
      for (let i = batch.checked; i < batch.count; i++) {
        if (batch.outcomes[i] === Outcome.CREATED) undo.add(batch.request(i));
      }
    }
    if (undo.count === 0) return;
    await undo.send(this.env.conntrack());
    if (undo.failure !== undefined) throw this.env.failure(undo.failure, 'CT_DELETE');
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/** The deletes that take back creates; an entry already gone (ENOENT) is no failure. */
class UndoBatch implements BatchHandler {
  private readonly requests = new MessageWriter();
  count = 0;
  private answered = 0;
  failure: unknown;
  private done: (() => void) | undefined;

  add(create: Buffer): void {
    writeDeleteOfCreate(this.requests, 0, create);
    this.count++;
  }

  send(conntrack: Conntrack): Promise<void> {
    return new Promise((resolve) => {
      this.done = resolve;
      try {
        conntrack.submitBatch(this.requests.view(), this.count, this);
      } catch (err) {
        this.onFailure(err as Error);
      }
    });
  }

  onReply(_index: number, err: NetlinkError | undefined): void {
    if (err !== undefined && !isNotFound(err)) this.failure ??= err;
    if (++this.answered === this.count) this.done!();
  }

  onFailure(err: Error): void {
    this.failure ??= err;
    this.done!();
  }
}
