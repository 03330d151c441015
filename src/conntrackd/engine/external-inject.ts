/**
 * `DisableExternalCache on`: the peer's changes go straight into the kernel
 * table instead of an external cache, as 1.4.7 "injects" them. A CT_NEW
 * creates (an existing entry is deleted and created again), a CT_UPD
 * updates (a missing entry is created, a failed update is replaced by a
 * fresh entry), a CT_DEL deletes (a missing entry is fine). The flow is
 * rebuilt as a commit rebuilds it (reply tuple, NAT, be-liberal TCP).
 */
import type { Flow } from '../../ctnetlink/flow';
import { MessageType } from '../sync/header';
import type { FlowMessage } from '../sync/message';
import { newInjectCounters } from '../stats/counters';
import { committedFlow, type CommitOptions } from './commit';
import type { KernelSide } from './kernel';

export class ExternalInject {
  readonly counters = newInjectCounters();

  constructor(
    private readonly kernel: KernelSide,
    private readonly options: CommitOptions,
  ) {}

  /** Applies one message; failures are counted (the next update or a resync repairs them). */
  async apply(msg: FlowMessage): Promise<void> {
    const now = Date.now();
    const flow = committedFlow({ flow: msg.flow, since: 0, updatedAt: now }, this.options, now);
    const c = this.counters;
    try {
      if (msg.type === MessageType.CT_DEL) {
        await this.kernel.delete(flow);
        c.delOk++;
      } else if (msg.type === MessageType.CT_NEW) {
        await this.kernel.replace(flow);
        c.addOk++;
      } else {
        await this.refresh(flow);
        c.updOk++;
      }
    } catch {
      if (msg.type === MessageType.CT_DEL) c.delFail++;
      else if (msg.type === MessageType.CT_NEW) c.addFail++;
      else c.updFail++;
    }
  }

  /** An update; when it fails (no such entry, or a change the kernel refuses) the entry is made anew. */
  private async refresh(flow: Flow): Promise<void> {
    let updated = false;
    try {
      updated = await this.kernel.update(updatable(flow));
    } catch {
      // A change the kernel refuses: made anew below.
    }
    if (!updated) await this.kernel.replace(flow);
  }
}

/**
 * What an update may carry: the kernel refuses to change an existing
 * entry's reply tuple, NAT, master or helper, so those stay out.
 */
function updatable(flow: Flow): Flow {
  const { natSrc: _s, natDst: _d, master: _m, helper: _h, ...rest } = flow;
  return { ...rest, reply: {} };
}
