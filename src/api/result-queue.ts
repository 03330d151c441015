/**
 * Results made by a producer that runs on its own (a bulk change fed by a
 * dump), handed to an async iterator in order. Past `limit` results waiting
 * for the consumer, `hold` pauses the producer, until the consumer has
 * taken half of them (`release`): memory stays bounded however slow the
 * consumer is.
 */
export class ResultQueue<R> {
  private items: R[] = [];
  private head = 0;
  private held = false;
  private ended = false;
  private failed = false;
  private failure: unknown;
  private wake: (() => void) | undefined;

  constructor(
    private readonly limit: number,
    private readonly hold: () => void,
    private readonly release: () => void,
  ) {}

  push(result: R): void {
    this.items.push(result);
    if (!this.held && this.items.length - this.head >= this.limit) {
      this.held = true;
      this.hold();
    }
    this.notify();
  }

  /** No more results: the iterator ends after the ones queued, or throws `err` if the producer failed. */
  end(failed: boolean, err?: unknown): void {
    this.ended = true;
    this.failed = failed;
    this.failure = err;
    this.notify();
  }

  /** Whether the producer ended (end() was called). */
  get done(): boolean {
    return this.ended;
  }

  async *results(): AsyncGenerator<R> {
    try {
      for (;;) {
        if (this.head < this.items.length) {
          const result = this.items[this.head++]!;
          if (this.head >= this.limit) {
            this.items = this.items.slice(this.head);
            this.head = 0;
          }
          if (this.held && this.items.length - this.head <= this.limit / 2) this.unhold();
          yield result;
        } else if (this.ended) {
          if (this.failed) throw this.failure;
          return;
        } else {
          await new Promise<void>((resolve) => (this.wake = resolve));
        }
      }
    } finally {
      this.unhold();
    }
  }

  private unhold(): void {
    if (this.held) {
      this.held = false;
      this.release();
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
