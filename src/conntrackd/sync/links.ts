/**
 * The dedicated links of a `Sync` section (up to four blocks of one kind)
 * and which one is active, as 1.4.7 decides it. Pure: the daemon reports
 * what happens (a valid message on a link, a carrier change from its
 * rtnetlink monitor) and sends on `active`.
 *
 * - at start: the block marked `Default`, else the first;
 * - a valid message arriving on another link makes that link active (the
 *   peer has switched);
 * - when the active link's interface loses UP or RUNNING, the next link in
 *   config order (wrapping around) whose interface has both becomes
 *   active; if none has, the active link stays.
 */
import type { ChannelConfig } from '../config/config';
import type { LinkStatus } from '../stats/counters';

/** What an interface's flags say, in `-s link` words. */
export function linkStatus(up: boolean, running: boolean): LinkStatus {
  return !up ? 'DOWN' : running ? 'RUNNING' : 'NO-CARRIER';
}

export class LinkSet {
  private current: number;
  private readonly statuses: LinkStatus[];

  /** `statuses`: each link's interface state at start (RUNNING when unknown). */
  constructor(channels: readonly ChannelConfig[], statuses?: readonly LinkStatus[]) {
    if (channels.length === 0) throw new RangeError('a Sync section needs at least one link');
    this.current = Math.max(0, channels.findIndex((c) => c.isDefault));
    this.statuses = channels.map((_, i) => statuses?.[i] ?? 'RUNNING');
  }

  /** The index (config order) of the link to send on. */
  get active(): number {
    return this.current;
  }

  status(index: number): LinkStatus {
    return this.statuses[index]!;
  }

  /** `valid` messages arrived on link `index`. Returns true when that made it the active link. */
  received(index: number, valid: number): boolean {
    if (valid === 0 || index === this.current) return false;
    this.current = index;
    return true;
  }

  /**
   * The interface of link `index` changed state. Returns the newly active
   * link when the change made the daemon switch (1.4.7 logs "device `X'
   * becomes dedicated link"), else undefined.
   */
  interfaceChanged(index: number, up: boolean, running: boolean): number | undefined {
    this.statuses[index] = linkStatus(up, running);
    if (index !== this.current || this.statuses[index] === 'RUNNING') return undefined;
    for (let step = 1; step < this.statuses.length; step++) {
      const candidate = (this.current + step) % this.statuses.length;
      if (this.statuses[candidate] === 'RUNNING') {
        this.current = candidate;
        return candidate;
      }
    }
    return undefined;
  }
}
