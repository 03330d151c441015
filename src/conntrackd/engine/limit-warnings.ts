/**
 * One clear line the first time a configured limit costs something: 1.4.7
 * counts a flow refused by a full cache (`HashLimit`), an element pushed out
 * of the full resend queue (`ResendQueueSize`) or a datagram the full sync
 * socket dropped (`RcvSocketBuffer`) where only `conntrackd -s` shows it, if
 * at all, and an operator learns of it when flows are missing. The first
 * loss of each limit is logged with the setting to raise; the later ones
 * are only counted, so that a limit hit in every second does not flood the
 * log.
 */
import type { Log } from '../daemon/contract';

export class LimitWarnings {
  /** The limits warned of already. */
  private readonly warned = new Set<string>();

  constructor(private readonly log: Log) {}

  /**
   * `lost`: what the limit `id` (one place a `setting` applies: the internal
   * and the external cache both have a HashLimit) has cost so far. The first
   * time it is not zero, logs `message()` (built only then) as a WARNING.
   */
  check(id: string, setting: string, lost: number, message: () => string): void {
    if (lost === 0 || this.warned.has(id)) return;
    this.warned.add(id);
    this.log.write('WARNING', `${message()}; raise ${setting} (further losses are counted in \`conntrackd -s')`);
  }
}
