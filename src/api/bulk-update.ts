import { isNotFound, type NetlinkError } from '../netlink/errors';
import type { MessageCursor } from '../netlink/messages';
import type { Flow } from '../ctnetlink/flow';
import { decodeFlowMessage } from '../ctnetlink/flow-codec';
import { writeGetRequest, writeUpdateRequest } from '../ctnetlink/requests';
import { Outcome, WindowBatch } from './batch-window';
import type { BulkResult } from './bulk-change';

/** Requests per batch: even, so an update and the lookup after it share a batch. */
const BATCH_SIZE = 256;

/** A dumped entry and its change (the attributes to set, with the entry's original tuple and zone). */
export interface EntryUpdate {
  entry: Flow;
  change: Flow;
}

/**
 * The updates of consecutive dumped entries, sent as one batch. With
 * `readBack`, every update is followed by a lookup of the entry (as
 * `conntrack -U` prints it): the kernel handles a socket's requests in
 * order, so the lookup sees the update.
 */
export class UpdateBatch extends WindowBatch {
  /** Request i's flow: the dumped entry for an update, the entry read back for a lookup. */
  private readonly flows: (Flow | undefined)[] = [];

  constructor(private readonly readBack: boolean) {
    super(BATCH_SIZE, 256);
  }

  /** Writes request `count`: the update of `u`, or (every second request with readBack) the lookup after it. */
  write(u: EntryUpdate): void {
    const i = this.count;
    if (this.readBack && i % 2 === 1) {
      const { entry } = u;
      writeGetRequest(this.requests, 0, { family: entry.family, orig: entry.orig, reply: {}, ...(entry.zone !== undefined && { zone: entry.zone }) });
      this.flows[i] = undefined;
    } else {
      writeUpdateRequest(this.requests, 0, u.change);
      this.flows[i] = u.entry;
    }
  }

  onData(index: number, m: MessageCursor): void {
    this.flows[index] = decodeFlowMessage(m) ?? this.flows[index];
  }

  /**
   * What became of the entry whose last request is `i`, once it is taken;
   * undefined for an entry that went meanwhile, and for the update of a
   * pair (its lookup answers for it).
   */
  result(i: number): BulkResult<Flow> | undefined {
    const outcome = this.outcomes[i];
    if (this.readBack && i % 2 === 0) {
      return outcome === Outcome.FAILED ? { flow: this.flows[i]!, error: this.error(i) as Error } : undefined;
    }
    if (this.readBack && this.outcomes[i - 1] !== Outcome.DONE) return undefined;
    if (outcome === Outcome.GONE) return undefined;
    const flow = this.flows[i] ?? this.flows[i - 1]!;
    return outcome === Outcome.DONE ? { flow } : { flow, error: this.error(i) as Error };
  }

  protected outcome(_index: number, err: NetlinkError | undefined): Outcome {
    if (err === undefined) return Outcome.DONE;
    // The entry went after the dump showed it.
    return isNotFound(err) ? Outcome.GONE : Outcome.FAILED;
  }
}
