/**
 * Stats mode's record of destroyed flows: the "traffic processed" counters
 * (both directions summed) and the connection log.
 */
import type { Flow } from '../../ctnetlink/flow';
import type { Log } from '../daemon/contract';
import { destroyedFlowLine, type StatsLog } from './stats-log';

export class DestroyedFlows {
  /** Bytes and packets of the flows destroyed so far, both directions summed. */
  readonly traffic = { bytes: 0n, packets: 0n };

  constructor(
    private readonly statsLog: StatsLog | undefined,
    private readonly log: Log,
    private readonly wallSeconds: () => number,
  ) {}

  /**
   * A destroyed cached flow: as its DESTROY event told it (with its final
   * counters), or as cached when a resync found it gone.
   */
  record(flow: Flow): void {
    for (const counters of [flow.countersOrig, flow.countersReply]) {
      if (counters === undefined) continue;
      this.traffic.bytes += counters.bytes;
      this.traffic.packets += counters.packets;
    }
    if (this.statsLog === undefined) return;
    try {
      this.statsLog.write(destroyedFlowLine(flow, this.wallSeconds()));
    } catch (err) {
      this.log.write('ERROR', `can't write the stats log: ${(err as Error).message}`);
    }
  }
}
