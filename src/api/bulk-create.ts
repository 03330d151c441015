import type { NetlinkError } from '../netlink/errors';
import { writeCreateRequest } from '../ctnetlink/requests';
import { Outcome, WindowBatch } from './batch-window';
import type { BulkResult } from './bulk-change';
import { toFlow, type FlowInput } from './input';

/** Creates per batch. */
const BATCH_SIZE = 256;

/** Consecutive creates of createMany(), sent as one batch, with the flows they were made from. */
export class CreateBatch extends WindowBatch {
  private readonly flows: (FlowInput | undefined)[] = [];

  constructor(private readonly exclusive: boolean) {
    super(BATCH_SIZE, 160);
  }

  /** Writes the create of `flow` as request `count`; throws for a flow that cannot be encoded (nothing written). */
  write(flow: FlowInput): void {
    writeCreateRequest(this.requests, 0, toFlow(flow), this.exclusive);
    this.flows[this.count] = flow;
  }

  /** What became of create `i`; lets go of its flow. */
  result(i: number): BulkResult<FlowInput> {
    const flow = this.flows[i]!;
    this.flows[i] = undefined;
    return this.outcomes[i] === Outcome.DONE ? { flow } : { flow, error: this.error(i) as Error };
  }

  protected outcome(_index: number, err: NetlinkError | undefined): Outcome {
    return err === undefined ? Outcome.DONE : Outcome.FAILED;
  }
}
