import type { NetlinkChannel } from '../netlink/channel';
import { isNotFound, type NetlinkError } from '../netlink/errors';
import { writeDeleteFor } from '../ctnetlink/requests';
import { WireEntry } from '../ctnetlink/wire-entry';
import { BatchWindow, WindowBatch } from './batch-window';

/** Deletes packed in one batch at most; a dump datagram holds fewer entries. */
const BATCH_SIZE = 256;

const enum Outcome {
  DELETED = 1,
  /** ENOENT: the entry went before our delete reached it. Not an error. */
  GONE = 2,
  FAILED = 3,
}

/**
 * The deletes of consecutive dumped entries, sent as one batch, and the
 * entries' bytes, kept to be shown once the kernel confirms each delete.
 */
class DeleteBatch extends WindowBatch {
  /** The dumped entries back to back; entry i spans starts[i]..starts[i + 1]. */
  private copies = Buffer.allocUnsafe(BATCH_SIZE * 512);
  private readonly starts = new Uint32Array(BATCH_SIZE + 1);
  private readonly families = new Uint8Array(BATCH_SIZE);
  firstSeq = 0;

  constructor() {
    super(BATCH_SIZE, 128, Outcome.FAILED);
  }

  /** Writes the delete of `entry` as request `count` (the window counts it). */
  write(entry: WireEntry): void {
    const i = this.count;
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

  protected outcome(_index: number, err: NetlinkError | undefined): number {
    if (err === undefined) return Outcome.DELETED;
    return isNotFound(err) ? Outcome.GONE : Outcome.FAILED;
  }
}

/**
 * The engine of `conntrack -D`: entries come from a dump one at a time; their
 * deletes leave in batches (many per sendmsg, like libmnl's batch example)
 * while the dump goes on, and each deleted entry is shown in dump order once
 * its ACK came. Per entry nothing is allocated: requests and copies go into
 * the window's recycled batches, answers are matched by sequence number.
 *
 * Backpressure: past `depth` unanswered deletes, `hold` is called (the caller
 * pauses the dump), and `release` once half of them are answered.
 */
export class BulkDelete {
  private readonly window: BatchWindow<DeleteBatch>;
  private readonly view = new WireEntry();
  private sealPending = false;
  private failed = false;
  private failure: unknown;
  private settled: (() => void) | undefined;
  /** Entries deleted and shown. */
  deleted = 0;

  constructor(
    private readonly channel: NetlinkChannel,
    depth: number,
    private readonly show: (deleted: WireEntry) => void,
    hold: () => void,
    release: () => void,
  ) {
    this.window = new BatchWindow<DeleteBatch>({
      depth,
      batch: () => new DeleteBatch(),
      submit: (batch) => this.channel.submitBatch(batch.requests.view(), batch.firstSeq, batch.count, batch),
      onAnswers: () => this.showReady(),
      hold,
      release,
    });
  }

  /** Queues the delete of a dumped entry (valid only during the call); throws the first failure. */
  add(entry: WireEntry): void {
    if (this.failed) throw this.failure;
    const batch = this.window.current();
    if (batch.count === 0) batch.firstSeq = this.channel.reserveSeqs(BATCH_SIZE);
    batch.write(entry);
    this.window.added(batch);
    if (!batch.sealed && !this.sealPending) {
      // The rest of the datagram being dispatched joins this batch.
      this.sealPending = true;
      queueMicrotask(() => this.sealLast());
    }
  }

  /** After the last add: resolves when every delete is answered and shown; rejects with the first failure. */
  async finish(): Promise<number> {
    this.sealLast();
    if (this.window.pending > 0 && !this.failed) await new Promise<void>((resolve) => (this.settled = resolve));
    this.window.unhold();
    if (this.failed) throw this.failure;
    return this.deleted;
  }

  /** Ends the dump too (add throws it). Later failures are consequences. */
  fail(err: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.failure = err;
    this.window.unhold();
    this.settled?.();
  }

  /** Shows the deleted entries whose turn has come (all before them answered). */
  private showReady(): void {
    for (let batch = this.failed ? undefined : this.window.next(); batch; batch = this.failed ? undefined : this.window.next()) {
      const i = batch.taken - 1;
      const outcome = batch.outcomes[i];
      if (outcome === Outcome.FAILED) {
        this.fail(batch.error(i));
        return;
      }
      if (outcome !== Outcome.DELETED) continue;
      try {
        this.show(batch.entry(i, this.view));
        this.deleted++;
      } catch (err) {
        this.fail(err);
        return;
      }
    }
    if (this.window.pending === 0) this.settled?.();
  }

  private sealLast(): void {
    this.sealPending = false;
    this.window.sealLast();
  }
}
