/**
 * The kernel side of `ExpectationSync`, through the library on sockets of
 * its own: expectation events, dumps, the flush, and the commit's creates.
 * An expectation is looked at when its helper is one `ExpectationSync`
 * names (a case-insensitive prefix, so `sip` covers `sip-5061`; `On` names
 * all) and its master passes the flow Filter, as in 1.4.7.
 */
import { Conntrack } from '../../api/conntrack';
import type { EventStream } from '../../api/event-stream';
import { encodeFlow } from '../../ctnetlink/flow-codec';
import type { Expectation, ExpectationEvent } from '../../ctnetlink/expect';
import { WireEntry } from '../../ctnetlink/wire-entry';
import { NetlinkError } from '../../netlink/errors';
import { MessageWriter } from '../../netlink/attributes';
import type { Log } from '../daemon/contract';
import type { NetlinkCounters } from '../stats/counters';
import type { ExpectationChange } from './expect-cache';
import type { FlowPredicate } from './filter';
import type { Origin } from './kernel';

export interface ExpectationKernelOptions {
  /** `ExpectationSync`'s helper names, or 'all'. */
  helpers: 'all' | readonly string[];
  /** The flow Filter, applied to the master's original tuple. */
  filter: FlowPredicate;
  netns?: string;
  log: Log;
  /** The daemon's netlink counters (`-s runtime`): expectation events, flushes and resyncs count there too, as in 1.4.7. */
  counters: NetlinkCounters;
  /** A change the kernel reported (an event), or an entry of a dump (origin 'self', change 'update'). */
  sink: (change: ExpectationChange, expectation: Expectation, origin: Origin) => void;
}

export class ExpectationKernel {
  private readonly ct: Conntrack;
  private events: EventStream<ExpectationEvent> | undefined;
  private readonly entry = new WireEntry();
  private readonly writer = new MessageWriter();

  constructor(private readonly options: ExpectationKernelOptions) {
    this.ct = Conntrack.open({ netns: options.netns });
  }

  /** Subscribes to the expectation events. */
  listen(): void {
    const events = this.ct.expectationEvents();
    void (async () => {
      for await (const item of events) {
        if (!('expectation' in item)) continue;
        this.options.counters.eventsReceived++;
        if (!this.masterPasses(item.expectation)) continue;
        if (!this.helperPasses(item.expectation)) {
          this.options.counters.eventsFiltered++;
          continue;
        }
        const origin: Origin = this.ct.ownsPort(item.portid) ? 'self' : 'other';
        this.options.sink(item.type, item.expectation, origin);
      }
    })().catch((err: Error) => this.options.log.write('WARNING', `event catch says: ${err.message}`));
    this.events = events;
  }

  /** Dumps the expectation table into the sink. */
  async dump(): Promise<void> {
    for await (const exp of this.ct.dumpExpectations()) {
      if (this.masterPasses(exp) && this.helperPasses(exp)) this.options.sink('update', exp, 'self');
    }
  }

  /** Deletes every expectation (1.4.7's "flushing kernel expect table" flushes them all). */
  flush(): Promise<void> {
    this.options.counters.flushes++;
    return this.ct.flushExpectations();
  }

  /** A dump asked for (`-R expect`): counted as a resync. */
  resync(): Promise<void> {
    this.options.counters.resyncs++;
    return this.dump();
  }

  /**
   * Creates `exp` through this side's own socket (its events are 'self'
   * and never replicated back); one with the same tuple is deleted and
   * created again.
   */
  async replace(exp: Expectation): Promise<void> {
    try {
      await this.ct.createExpectation(exp);
      return;
    } catch (err) {
      if (!(err instanceof NetlinkError) || err.code !== 'EEXIST') throw err;
    }
    await this.delete(exp);
    await this.ct.createExpectation(exp);
  }

  /** Deletes the expectation of `exp`'s expected tuple (and zone); false when there was none. */
  delete(exp: Expectation): Promise<boolean> {
    return this.ct.deleteExpectation(exp.tuple, { zone: exp.zone });
  }

  close(): void {
    this.events?.close();
    this.ct.close();
  }

  private helperPasses(exp: Expectation): boolean {
    const { helpers } = this.options;
    const name = (exp.helper ?? '').toLowerCase();
    return helpers === 'all' || helpers.some((h) => name.startsWith(h.toLowerCase()));
  }

  private masterPasses(exp: Expectation): boolean {
    // The Filter reads kernel attributes: the master as a flow of its original tuple.
    const w = this.writer;
    w.reset();
    encodeFlow(w, { orig: exp.master });
    return this.options.filter(this.entry.set(w.view(), 0, w.length, exp.family));
  }
}
