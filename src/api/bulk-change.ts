import { align } from '../netlink/attributes';
import type { NetlinkChannel } from '../netlink/channel';
import { MessageFlags, NLMSG_HDRLEN } from '../netlink/constants';
import { ProtocolError } from '../netlink/errors';
import { BatchWindow, type WindowBatch } from './batch-window';

export interface BulkChangeOptions<B extends WindowBatch> {
  /** Unanswered requests at most before the producer is held back. */
  depth: number;
  /** A new batch, when no recycled one is free. */
  batch(): B;
  /**
   * Request `index` of `batch` was answered and every request before it was
   * taken: its outcome is `batch.outcomes[index]`. Throwing ends the change
   * with that error (finish() rejects with it, add() throws it).
   */
  take(batch: B, index: number): void;
  /**
   * How the producer adds requests. 'dump': synchronously, one dump datagram
   * at a time; the requests of a datagram leave together, and past `depth`
   * unanswered ones hold() pauses the dump until release(). 'await': it
   * awaits room() after each add; what it added in one tick leaves together.
   */
  feed: 'dump' | 'await';
  hold?(): void;
  release?(): void;
}

/**
 * A bulk change on the in-order batch window (batch-window.ts): requests are
 * written into recycled batches, leave many per sendmsg while more are
 * added, and are taken back in the order they were added once answered.
 * Every bulk operation runs on it: deleteEach, updateEach, createMany,
 * conntrackd's flush, and `conntrack -D`, `-U`, `-R`.
 *
 * Requests are written with sequence number 0; the batch gets its numbers
 * when it is sent, from `channel()`, which is first called then: a socket
 * that cannot be opened fails the batch's requests (their outcome `failed`)
 * rather than the add.
 */
export class BulkChange<B extends WindowBatch> {
  private readonly window: BatchWindow<B>;
  private sealPending = false;
  private failed = false;
  private failure: unknown;

  constructor(
    private readonly channel: () => NetlinkChannel,
    private readonly options: BulkChangeOptions<B>,
  ) {
    this.window = new BatchWindow<B>({
      depth: options.depth,
      batch: options.batch,
      submit: (batch) => this.submit(batch),
      onAnswers: () => this.takeReady(),
      hold: options.hold,
      release: options.release,
    });
  }

  /**
   * Writes one request: `write(batch, item)` appends it to the batch being
   * filled. Throws the failure that ended the change, or what `write` threw
   * (nothing of that request is sent).
   */
  add<T>(write: (batch: B, item: T) => void, item: T): void {
    if (this.failed) throw this.failure;
    const batch = this.window.current();
    const length = batch.requests.length;
    try {
      write(batch, item);
    } catch (err) {
      batch.requests.truncate(length);
      throw err;
    }
    this.window.added(batch);
    if (!batch.sealed && !this.sealPending) {
      this.sealPending = true;
      if (this.options.feed === 'dump') queueMicrotask(() => this.sealLast());
      else setImmediate(() => this.sealLast());
    }
  }

  /** For an awaiting producer: resolves once it may add more (refilling by halves); rejects with the failure. */
  async room(): Promise<void> {
    if (this.window.pending >= this.options.depth) await this.window.settle(this.options.depth / 2, () => {});
    if (this.failed) throw this.failure;
  }

  /** After the last add: resolves when every request is answered and taken; rejects with the failure. */
  async finish(): Promise<void> {
    await this.window.settle(0, () => {});
    this.window.unhold();
    if (this.failed) throw this.failure;
  }

  /** Ends the change with `err` (add throws it); requests sent are still answered. Later failures are consequences. */
  fail(err: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.failure = err;
    this.window.unhold();
  }

  /** After a failure and finish(): the batches not taken to their end, the first from the request after the failed one. */
  untaken(): B[] {
    return this.window.takeRest();
  }

  private takeReady(): void {
    for (let batch = this.failed ? undefined : this.window.next(); batch; batch = this.failed ? undefined : this.window.next()) {
      try {
        this.options.take(batch, batch.taken - 1);
      } catch (err) {
        this.fail(err);
      }
    }
  }

  private sealLast(): void {
    this.sealPending = false;
    this.window.sealLast();
  }

  /** Numbers the batch's requests and sends them; a batch that cannot be sent fails whole. */
  private submit(batch: B): void {
    try {
      const channel = this.channel();
      const messages = batch.requests.view();
      const first = channel.reserveSeqs(batch.count);
      for (let at = 0, seq = first; at < messages.length; seq++) {
        const length = messages.readUInt32LE(at);
        // A header that does not fit would loop forever or write past the buffer.
        if (length < NLMSG_HDRLEN || at + length > messages.length) throw new ProtocolError(`batch message at ${at} has length ${length}`);
        messages.writeUInt32LE(seq, at + 8);
        const next = at + align(length);
        // Only the last request asks for an ACK: the kernel answers the others only when they fail.
        // (A request sent again, such as a replacement's create, may come without it.)
        const flags = messages.readUInt16LE(at + 6) & ~MessageFlags.ACK;
        messages.writeUInt16LE(next < messages.length ? flags : flags | MessageFlags.ACK, at + 6);
        at = next;
      }
      // The view stays valid: the batch is not written again before all its answers came.
      channel.submitBatch(messages, first, batch.count, batch);
    } catch (err) {
      batch.onFailure(err as Error);
    }
  }
}

/**
 * What became of one change of createMany(), updateEach() or deleteEach(),
 * in the order of the input (or of the dump).
 */
export interface BulkResult<F> {
  /** createMany: the flow as given; deleteEach: the entry as dumped; updateEach: as dumped, or as read back. */
  flow: F;
  /**
   * Why this change was not made: the kernel's refusal (a NetlinkError), or
   * the failure of the socket it was sent on; undefined when it was made.
   */
  error?: Error;
}
