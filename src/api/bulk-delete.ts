import { MessageWriter } from '../netlink/attributes';
import type { BatchHandler, NetlinkChannel } from '../netlink/channel';
import { isNotFound, type NetlinkError } from '../netlink/errors';
import { writeDeleteFor } from '../ctnetlink/requests';
import { WireEntry } from '../ctnetlink/wire-entry';

/** Deletes packed in one batch at most; a dump datagram holds fewer entries. */
const BATCH_SIZE = 256;

const enum Outcome {
  PENDING = 0,
  DELETED = 1,
  /** ENOENT: the entry went before our delete reached it. Not an error. */
  GONE = 2,
}

/**
 * The deletes of consecutive dumped entries, sent as one batch, and the
 * entries' bytes, kept to be shown once the kernel confirms each delete.
 * Batches are recycled: a bulk delete of any size allocates a handful.
 */
class DeleteBatch implements BatchHandler {
  readonly requests = new MessageWriter(BATCH_SIZE * 128);
  /** The dumped entries back to back; entry i spans starts[i]..starts[i + 1]. */
  private copies = Buffer.allocUnsafe(BATCH_SIZE * 512);
  private readonly starts = new Uint32Array(BATCH_SIZE + 1);
  private readonly families = new Uint8Array(BATCH_SIZE);
  readonly outcomes = new Uint8Array(BATCH_SIZE);
  firstSeq = 0;
  count = 0;
  answered = 0;
  /** Entries handed on (or skipped), in order. */
  shown = 0;
  sealed = false;

  constructor(private readonly owner: BulkDelete) {}

  reset(firstSeq: number): void {
    this.requests.reset();
    this.firstSeq = firstSeq;
    this.count = this.answered = this.shown = 0;
    this.sealed = false;
    this.outcomes.fill(Outcome.PENDING);
  }

  get full(): boolean {
    return this.count === BATCH_SIZE;
  }

  add(entry: WireEntry): void {
    const i = this.count++;
    writeDeleteFor(this.requests, this.firstSeq + i, entry);
    const size = entry.end - entry.start;
    const at = this.starts[i]!;
    if (at + size > this.copies.length) {
      const grown = Buffer.allocUnsafe(Math.max(2 * this.copies.length, at + size));
      this.copies.copy(grown, 0, 0, at);
      this.copies = grown;
    }
    entry.buf.copy(this.copies, at, entry.start, entry.end);
    this.starts[i + 1] = at + size;
    this.families[i] = entry.family;
  }

  /** Entry `i` as dumped, in `view`. */
  entry(i: number, view: WireEntry): WireEntry {
    return view.set(this.copies, this.starts[i]!, this.starts[i + 1]!, this.families[i]!);
  }

  onReply(index: number, err: NetlinkError | undefined): void {
    this.answered++;
    this.owner.answered(1);
    if (err === undefined) this.outcomes[index] = Outcome.DELETED;
    else if (isNotFound(err)) this.outcomes[index] = Outcome.GONE;
    else this.owner.fail(err);
    this.owner.showReady();
  }

  onFailure(err: Error): void {
    this.owner.answered(this.count - this.answered);
    this.answered = this.count;
    this.owner.fail(err);
  }
}

/**
 * The engine of `conntrack -D`: entries come from a dump one at a time; their
 * deletes leave in batches (many per sendmsg, like libmnl's batch example)
 * while the dump goes on, and each deleted entry is shown in dump order once
 * its ACK came. Per entry nothing is allocated: requests and copies go into
 * recycled batches, answers are matched by sequence number.
 *
 * Backpressure: past `depth` unanswered deletes, `hold` is called (the caller
 * pauses the dump), and `release` once half of them are answered.
 */
export class BulkDelete {
  private readonly queue: DeleteBatch[] = [];
  private readonly spare: DeleteBatch[] = [];
  private readonly view = new WireEntry();
  private unanswered = 0;
  private held = false;
  private sealPending = false;
  private failed = false;
  private failure: unknown;
  private settled: (() => void) | undefined;
  /** Entries deleted and shown. */
  deleted = 0;

  constructor(
    private readonly channel: NetlinkChannel,
    private readonly depth: number,
    private readonly show: (deleted: WireEntry) => void,
    private readonly hold: () => void,
    private readonly release: () => void,
  ) {}

  /** Queues the delete of a dumped entry (valid only during the call); throws the first failure. */
  add(entry: WireEntry): void {
    if (this.failed) throw this.failure;
    let batch = this.queue[this.queue.length - 1];
    if (!batch || batch.sealed) batch = this.open();
    batch.add(entry);
    this.unanswered++;
    if (batch.full) this.seal(batch);
    else if (!this.sealPending) {
      // The rest of the datagram being dispatched joins this batch.
      this.sealPending = true;
      queueMicrotask(() => this.sealLast());
    }
    if (!this.held && this.unanswered >= this.depth) {
      this.held = true;
      this.hold();
    }
  }

  /** After the last add: resolves when every delete is answered and shown; rejects with the first failure. */
  async finish(): Promise<number> {
    this.sealLast();
    if (this.unanswered > 0 && !this.failed) await new Promise<void>((resolve) => (this.settled = resolve));
    this.unhold();
    if (this.failed) throw this.failure;
    return this.deleted;
  }

  /** Ends the dump too (add throws it). Later failures are consequences. */
  fail(err: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.failure = err;
    this.unhold();
    this.settled?.();
  }

  answered(n: number): void {
    this.unanswered -= n;
    if (this.unanswered <= this.depth / 2) this.unhold();
  }

  /** Shows the deleted entries whose turn has come (all before them answered). */
  showReady(): void {
    while (!this.failed && this.queue.length > 0) {
      const batch = this.queue[0]!;
      while (batch.shown < batch.count && batch.outcomes[batch.shown] !== Outcome.PENDING) {
        const i = batch.shown++;
        if (batch.outcomes[i] !== Outcome.DELETED) continue;
        try {
          this.show(batch.entry(i, this.view));
          this.deleted++;
        } catch (err) {
          this.fail(err);
          return;
        }
      }
      if (!batch.sealed || batch.shown < batch.count) break;
      this.spare.push(this.queue.shift()!);
    }
    if (this.unanswered === 0) this.settled?.();
  }

  private open(): DeleteBatch {
    const batch = this.spare.pop() ?? new DeleteBatch(this);
    batch.reset(this.channel.reserveSeqs(BATCH_SIZE));
    this.queue.push(batch);
    return batch;
  }

  private sealLast(): void {
    this.sealPending = false;
    const batch = this.queue[this.queue.length - 1];
    if (batch && !batch.sealed) this.seal(batch);
  }

  private seal(batch: DeleteBatch): void {
    batch.sealed = true;
    // The view stays valid: the batch is not written again before it is recycled, after its answers.
    this.channel.submitBatch(batch.requests.view(), batch.firstSeq, batch.count, batch);
  }

  private unhold(): void {
    if (this.held) {
      this.held = false;
      this.release();
    }
  }
}
