import { MessageWriter } from '../netlink/attributes';
import type { BatchHandler } from '../netlink/channel';
import type { NetlinkError } from '../netlink/errors';

/** What became of a request of a batch. */
export const enum Outcome {
  /** Not answered yet. */
  PENDING = 0,
  /** The kernel made the change (or answered the lookup). */
  DONE = 1,
  /** ENOENT where the entry may have gone meanwhile (a delete or update of a dumped entry): skipped, not an error. */
  GONE = 2,
  /** Refused, or never answered (the channel failed): `error(i)` says why. */
  FAILED = 3,
  /** `conntrack -A` of an entry that exists: nothing changed, and a `-R` run goes on. */
  EXISTED = 4,
}

/**
 * Consecutive requests packed in one buffer and sent as one batch, with the
 * outcome of each once answered. Batches are recycled by their window: a bulk
 * change of any size allocates a handful, and nothing per request.
 */
export abstract class WindowBatch implements BatchHandler {
  readonly requests: MessageWriter;
  readonly outcomes: Uint8Array;
  /** Why request i failed, for the outcome FAILED only. */
  private readonly errors: unknown[] = [];
  count = 0;
  answered = 0;
  /** Requests whose outcome was taken, in order. */
  taken = 0;
  sealed = false;
  private window: BatchWindow<WindowBatch> | undefined;

  constructor(
    readonly capacity: number,
    requestBytes: number,
  ) {
    this.requests = new MessageWriter(capacity * requestBytes);
    this.outcomes = new Uint8Array(capacity);
  }

  /** The outcome of request `index`'s answer (`err` for the kernel's error): not PENDING. */
  protected abstract outcome(index: number, err: NetlinkError | undefined): Outcome;

  /** Called by the window before the batch is (re)used. */
  open(window: BatchWindow<WindowBatch>): void {
    this.window = window;
    this.requests.reset();
    this.count = this.answered = this.taken = 0;
    this.sealed = false;
    this.outcomes.fill(Outcome.PENDING);
    this.errors.length = 0;
  }

  get full(): boolean {
    return this.count === this.capacity;
  }

  error(i: number): unknown {
    return this.errors[i];
  }

  onReply(index: number, err: NetlinkError | undefined): void {
    const outcome = this.outcome(index, err);
    this.outcomes[index] = outcome;
    if (outcome === Outcome.FAILED) this.errors[index] = err;
    this.answered++;
    this.window!.answered(1, this.answered === this.count);
  }

  onFailure(err: Error): void {
    for (let i = 0; i < this.count; i++) {
      if (this.outcomes[i] !== Outcome.PENDING) continue;
      this.outcomes[i] = Outcome.FAILED;
      this.errors[i] = err;
    }
    const n = this.count - this.answered;
    this.answered = this.count;
    this.window!.answered(n, true);
  }
}

/** A batch that can read a request back as it was sent (request(i)): its writer calls written() after each. */
export abstract class RequestBatch extends WindowBatch {
  /** Request i spans starts[i]..starts[i + 1] of requests. */
  private readonly starts: Uint32Array;

  constructor(capacity: number, requestBytes: number) {
    super(capacity, requestBytes);
    this.starts = new Uint32Array(capacity + 1);
  }

  /** Request i, as sent (valid until the batch is reused). */
  request(i: number): Buffer {
    return this.requests.view().subarray(this.starts[i]!, this.starts[i + 1]!);
  }

  /** Request `count` was written. */
  protected written(): void {
    this.starts[this.count + 1] = this.requests.length;
  }
}

export interface WindowOptions<B extends WindowBatch> {
  /** Unanswered requests at most before the producer is held back. */
  depth: number;
  /** A new batch, when no recycled one is free. */
  batch(): B;
  /** Sends a sealed batch; it is not written again before all its answers came. */
  submit(batch: B): void;
  /** Called after answers arrived (the consumer takes what became ready). */
  onAnswers?(): void;
  /** A synchronous producer (a dump) must pause: `depth` requests are unanswered. */
  hold?(): void;
  /** ... and may go on: half of them are answered. */
  release?(): void;
}

/**
 * The in-order batch window every bulk change runs on (through BulkChange,
 * bulk-change.ts): requests are added in order and leave in batches,
 * many per sendmsg, while more are added; answers come back matched by
 * index; outcomes are taken in the order the requests were added. Past
 * `depth` unanswered requests the producer is held back, either by
 * hold()/release() (a dump feeding synchronously) or by awaiting settle().
 */
export class BatchWindow<B extends WindowBatch> {
  private readonly queue: B[] = [];
  private readonly spare: B[] = [];
  private unanswered = 0;
  private held = false;
  private wake: (() => void) | undefined;

  constructor(private readonly options: WindowOptions<B>) {}

  /** The batch the next request goes into (call added() after writing it). */
  current(): B {
    const last = this.queue[this.queue.length - 1];
    if (last && !last.sealed) return last;
    const batch = this.spare.pop() ?? this.options.batch();
    batch.open(this);
    this.queue.push(batch);
    return batch;
  }

  /** A request was written into `batch` (the current one). */
  added(batch: B): void {
    batch.count++;
    this.unanswered++;
    if (batch.full) this.seal(batch);
    if (!this.held && this.options.hold && this.unanswered >= this.options.depth) {
      this.held = true;
      this.options.hold();
    }
  }

  /** Sends the batch being filled, if any. */
  sealLast(): void {
    const last = this.queue[this.queue.length - 1];
    if (last && !last.sealed) this.seal(last);
  }

  get pending(): number {
    return this.unanswered;
  }

  /** Waits until at most `keep` requests are unanswered (sending the open batch first). */
  async settle(keep: number, take: () => void | Promise<void>): Promise<void> {
    this.sealLast();
    for (;;) {
      await take();
      if (this.unanswered <= keep) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  /**
   * The next answered request in order as its batch (its index is the
   * batch's `taken - 1`), or undefined when the next one is unanswered.
   */
  next(): B | undefined {
    while (this.queue.length > 0) {
      const batch = this.queue[0]!;
      if (batch.taken < batch.count && batch.outcomes[batch.taken] !== Outcome.PENDING) {
        batch.taken++;
        return batch;
      }
      if (!batch.sealed || batch.taken < batch.count) return undefined;
      this.spare.push(this.queue.shift()!);
    }
    return undefined;
  }

  /** Takes every batch not taken to its end out of the window (after a failure: the requests after it). */
  takeRest(): B[] {
    return this.queue.splice(0);
  }

  /** `n` answers came; an awaited settle() looks again when a whole batch is answered (not per answer: a million-line load would wake a million times). */
  answered(n: number, batchDone: boolean): void {
    this.unanswered -= n;
    if (this.unanswered <= this.options.depth / 2) this.unhold();
    this.options.onAnswers?.();
    if (!batchDone && this.unanswered > 0) return;
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** Lets a held producer go on (its failure ends it anyway). */
  unhold(): void {
    if (this.held) {
      this.held = false;
      this.options.release?.();
    }
  }

  private seal(batch: B): void {
    batch.sealed = true;
    this.options.submit(batch);
  }
}
