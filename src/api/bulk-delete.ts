import { isNotFound, type NetlinkError } from '../netlink/errors';
import { writeDeleteFor } from '../ctnetlink/requests';
import type { WireEntry } from '../ctnetlink/wire-entry';
import { Outcome, WindowBatch } from './batch-window';

/** Deletes packed in one batch at most; a dump datagram holds fewer entries. */
const BATCH_SIZE = 256;

/**
 * The deletes of consecutive dumped entries, sent as one batch, and the
 * entries' bytes, kept to be shown once the kernel confirms each delete
 * (`conntrack -D` prints them undecoded). Nothing is allocated per entry.
 */
export class DeleteBatch extends WindowBatch {
  /** The dumped entries back to back; entry i spans starts[i]..starts[i + 1]. */
  private copies = Buffer.allocUnsafe(BATCH_SIZE * 512);
  private readonly starts = new Uint32Array(BATCH_SIZE + 1);
  private readonly families = new Uint8Array(BATCH_SIZE);

  constructor() {
    super(BATCH_SIZE, 128);
  }

  /** Entry `i` as dumped, in `view`. */
  entry(i: number, view: WireEntry): WireEntry {
    return view.set(this.copies, this.starts[i]!, this.starts[i + 1]!, this.families[i]!);
  }

  protected outcome(_index: number, err: NetlinkError | undefined): Outcome {
    if (err === undefined) return Outcome.DONE;
    // The entry went before our delete reached it.
    return isNotFound(err) ? Outcome.GONE : Outcome.FAILED;
  }

  /** Writes the delete of `entry` as request `count` (the window counts it). */
  write(entry: WireEntry): void {
    const i = this.count;
    writeDeleteFor(this.requests, 0, entry);
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
}
