/**
 * conntrackd's engine: the internal cache kept current from the kernel, the
 * mode's handling of it, and the answers to control requests.
 *
 * Modes: Stats (`Stats { … }`) logs and counts destroyed flows; Sync
 * (`Sync { … }`) replicates the internal cache's changes to the peer and
 * keeps the peer's flows in the external cache (sync-side.ts); with neither
 * 1.4.7 runs no mode at all: no kernel sockets, and only `-s runtime`
 * answers.
 */
import type { Writable } from 'node:stream';
import type { EventType } from '../../ctnetlink/event';
import { CtAttr } from '../../ctnetlink/constants';
import { Slot, attrMask, type WireEntry } from '../../ctnetlink/wire-entry';
import type { Config, SyncConfig } from '../config/config';
import { Request } from '../control/codes';
import { commitReport } from '../control/commit-report';
import type { Engine, EngineContext, Log } from '../daemon/contract';
import type { LastCommit } from '../stats/counters';
import { FlowCache } from './cache';
import { commitFlows, type CommitOptions } from './commit';
import { ExpectationSync } from './expect-sync';
import { ExternalInject } from './external-inject';
import { externalLine, externalXml, internalLine, internalXml, writeLines } from './dump-text';
import { compileFlowFilter, kernelFilterOf } from './filter';
import { KernelSide, type KernelSink, type Origin } from './kernel';
import { LimitWarnings } from './limit-warnings';
import { KEY_ATTRIBUTES } from './record';
import { statsText } from './stats-text';
import type { StatsLog } from './stats-log';
import { SyncSide } from './sync-side';
import { DestroyedFlows } from './traffic';

export type ModeName = 'stats' | 'sync' | 'none';

/** 1.4.7's words when a dump or a flush of the kernel table fails. */
const DUMP_FAILED = "can't get kernel conntrack table";
const FLUSH_FAILED = "can't flush kernel conntrack table";
const EXPECT_DUMP_FAILED = "can't get kernel expect table";
const EXPECT_FLUSH_FAILED = "can't flush kernel expect table";

export interface EngineOptions extends EngineContext {
  /** Stats mode's connection log (LogFile and/or syslog); none = no log. */
  statsLog?: StatsLog;
}

/** Wall-clock seconds, as 1.4.7's time(NULL) for "active since" and the stats log. */
const wallSeconds = (): number => Math.floor(Date.now() / 1000);

function commitOptions(sync: SyncConfig): CommitOptions {
  return { commitTimeout: sync.commitTimeout, tcpWindowTracking: sync.tcpWindowTracking };
}

const TIMEOUT_ONLY = attrMask(CtAttr.TIMEOUT);

function timeoutOf(entry: WireEntry): number | undefined {
  return entry.index(TIMEOUT_ONLY).has(Slot.TIMEOUT) ? entry.u32(Slot.TIMEOUT) : undefined;
}

export function modeOf(config: Config): ModeName {
  return config.stats ? 'stats' : config.sync ? 'sync' : 'none';
}

export class ConntrackdEngine implements Engine, KernelSink {
  readonly mode: ModeName;
  readonly cache: FlowCache;
  readonly kernel: KernelSide | undefined;
  readonly destroyed: DestroyedFlows | undefined;
  readonly sync: SyncSide | undefined = undefined;
  /** Kept for the JSON statistics, which report it (`-s runtime --json`). */
  lastCommit: LastCommit | undefined;
  /** When the engine started (wall-clock seconds). */
  readonly startedAt: number;
  /** Resyncs after overruns so far. */
  overrunResyncs = 0;
  private readonly log: Log;
  private readonly limits: LimitWarnings;
  private readonly config: Config;
  private readonly statsLog: StatsLog | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private purgeTimer: NodeJS.Timeout | undefined;
  /** The resync under way: one at a time, or a second round would sweep what the first saw. */
  private resyncing: Promise<void> | undefined;
  /** A resync was asked for while one was under way: it runs when that one is over. */
  private resyncAgain = false;
  private stopping = false;
  /** Work started by a request or a timer that stop() must wait for. */
  private readonly pending = new Set<Promise<unknown>>();
  /**
   * Whether the cache change under way goes to the peer: only those events
   * (and resync sweeps) that the daemon did not cause itself.
   */
  private replicating = false;
  /**
   * The timeout of the event or dumped entry being cached: the cache keeps
   * none, but a replicated flow needs it (the peer commits with what is
   * left of it).
   */
  private timeout: number | undefined;
  /** A resync is removing the flows the kernel no longer has. */
  private sweeping = false;
  /**
   * The dump under way is a resync's: what it finds changed went unnoticed
   * (lost events, polling) and goes to the peer, as in 1.4.7. The start-up
   * dump and `-R` only fill the cache.
   */
  private resyncDump = false;
  /** The cache change under way comes from a dumped entry. */
  private dumping = false;

  constructor(options: EngineOptions) {
    this.config = options.config;
    this.log = options.log;
    this.limits = new LimitWarnings(this.log);
    this.statsLog = options.statsLog;
    this.startedAt = wallSeconds();
    this.mode = modeOf(this.config);
    const general = this.config.general;
    this.cache = new FlowCache(general.hashLimit, general.hashSize, wallSeconds, (change, slot) => {
      // A flow a resync found gone is logged as destroyed, as its lost DESTROY event would have been.
      if (change === 'destroy' && this.sweeping) this.destroyed?.record(this.cache.flowOf(slot));
      if (!this.sync) return;
      if (change !== 'destroy' && this.timeout !== undefined) this.cache.noteTimeout(slot, this.timeout);
      // A resync that finds a flow the peer sent us found our own commit's
      // entry (its events were lost): sending it back would be 1.4.7's
      // "commit echo".
      const echo = this.replicating && this.dumping && this.isPeers(slot);
      this.sync.cacheChanged(change, slot, this.replicating && !echo);
    });
    if (this.mode === 'none') return;
    if (this.mode === 'stats') this.destroyed = new DestroyedFlows(options.statsLog, this.log, wallSeconds);
    this.kernel = new KernelSide({
      general,
      log: this.log,
      netns: options.netns,
      // What the cache and the timeout note read of every event and dumped
      // entry is located in the filter's walk, not in walks of their own.
      filter: compileFlowFilter(general.filter, KEY_ATTRIBUTES | TIMEOUT_ONLY),
      kernelFilter: kernelFilterOf(general.filter),
      sink: this,
    });
    // A Sync section without a link replicates nothing (1.4.7 refuses to
    // start without one; the engine still keeps the internal cache for it).
    const sync = this.config.sync;
    if (sync && sync.channels.length > 0) {
      const inject = sync.disableExternalCache ? new ExternalInject(this.kernel, commitOptions(sync)) : undefined;
      const expectations = sync.expectationSync
        ? new ExpectationSync({
            helpers: sync.expectationSync,
            filter: compileFlowFilter(general.filter),
            netns: options.netns,
            log: this.log,
            counters: this.kernel.counters,
            hashLimit: general.hashLimit,
            commitTimeout: sync.commitTimeout,
            inject: sync.disableExternalCache,
          })
        : undefined;
      this.sync = new SyncSide(sync, general.hashLimit, this.log, this.limits, this.cache, inject, expectations);
    }
  }

  /** Whether the cached flow of `slot` is one the peer sent us (its key is in the external cache). */
  private isPeers(slot: number): boolean {
    // The key is read from the flow's sync attributes, which no encode option changes.
    const attributes = this.cache.syncAttributes(slot, {});
    return attributes !== undefined && this.sync!.external.hasAttributes(attributes);
  }

  /** Listens for events (unless polling), then dumps the table into the cache. */
  async start(): Promise<void> {
    const kernel = this.kernel;
    if (kernel === undefined) return;
    const pollSecs = this.config.general.pollSecs;
    if (pollSecs === undefined) kernel.listen();
    await kernel.dump();
    await this.sync?.expectations?.start(pollSecs === undefined);
    await this.sync?.start();
    if (pollSecs !== undefined) this.pollTimer = setInterval(() => this.resync(), pollSecs * 1000);
  }

  started(): void {
    this.sync?.started();
  }

  async handle(request: Request, reply: Writable): Promise<void> {
    const stats = statsText(request, this, wallSeconds());
    if (stats !== undefined) reply.write(stats);
    else if (this.kernel !== undefined) await this.answer(request, reply);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const timer of [this.resyncTimer, this.purgeTimer]) clearTimeout(timer);
    clearInterval(this.pollTimer);
    await Promise.allSettled([...this.pending]);
    await this.sync?.stop();
    await this.sync?.expectations?.stop();
    this.kernel?.close();
    this.statsLog?.close();
  }

  // KernelSink -------------------------------------------------------------

  event(type: EventType, entry: WireEntry, origin: Origin): void {
    this.replicating = origin === 'other';
    this.timeout = this.sync ? timeoutOf(entry) : undefined;
    if (type === 'new') this.cache.add(entry);
    else if (type === 'update') this.cache.update(entry);
    else if (this.cache.remove(entry)) this.destroyed?.record(entry.flow());
    this.replicating = false;
    this.checkCacheLimit();
  }

  dumped(entry: WireEntry): void {
    this.timeout = this.sync ? timeoutOf(entry) : undefined;
    this.replicating = this.resyncDump;
    this.dumping = true;
    this.cache.update(entry);
    this.replicating = this.dumping = false;
    this.checkCacheLimit();
  }

  private checkCacheLimit(): void {
    const refused = this.cache.counters.addFailNoSpace;
    if (refused !== 0) this.limits.check('internal HashLimit', 'HashLimit', refused, () => `internal cache full (HashLimit ${this.cache.limit}): a flow was not cached`);
  }

  /** Lost events: re-dump after NetlinkOverrunResync seconds (0 = never), once per burst of overruns. */
  overrun(): void {
    const delay = this.config.general.netlinkOverrunResync;
    if (delay <= 0 || this.resyncTimer !== undefined) return;
    this.resyncTimer = setTimeout(() => {
      this.resyncTimer = undefined;
      this.overrunResyncs++;
      this.resync();
    }, delay * 1000);
  }

  // ------------------------------------------------------------------------

  /**
   * Re-dumps the table and removes the cached flows the dump no longer has:
   * they vanished while the cache was not told (lost events, polling).
   */
  private resync(): void {
    if (this.resyncing) {
      // Events lost while this round dumps may concern what it has dumped already: one more round after it.
      this.resyncAgain = true;
      return;
    }
    this.resyncing = (async () => {
      this.cache.beginRound();
      this.resyncDump = true;
      await this.kernel!.dump().finally(() => (this.resyncDump = false));
      this.kernel!.counters.resyncs++;
      // What vanished unnoticed is gone on the peer too. 1.4.7 purges by asking
      // the kernel for each cached flow; one it no longer has is destroyed like a
      // DESTROY event's, so Stats mode logs it (the cache listener, while sweeping).
      this.replicating = this.sweeping = true;
      this.cache.sweep();
      this.replicating = this.sweeping = false;
    })().finally(() => {
      this.resyncing = undefined;
      if (!this.resyncAgain || this.stopping) return;
      this.resyncAgain = false;
      this.resync();
    });
    this.track(this.resyncing, DUMP_FAILED);
  }

  private async answer(request: Request, reply: Writable): Promise<void> {
    const kernel = this.kernel;
    const expectations = this.sync?.expectations;
    switch (request) {
      case Request.CT_DUMP_INTERNAL: {
        const now = wallSeconds();
        await writeLines(reply, this.cache.values(), (flow) => internalLine(flow, now));
        return;
      }
      case Request.CT_DUMP_INT_XML:
        await writeLines(reply, this.cache.values(), internalXml);
        return;
      case Request.ALL_FLUSH_CACHE:
        // Stats mode has one cache, and 1.4.7 flushes it for `-f internal` only.
        if (!this.sync) return;
        this.flushInternal('flushing caches');
        this.sync.external.flush();
        expectations?.flushCaches();
        return;
      case Request.CT_FLUSH_INT_CACHE:
        // Sync mode tells its two caches apart.
        this.flushInternal(this.sync ? 'flushing internal cache' : 'flushing caches');
        return;
      case Request.CT_FLUSH_MASTER:
      case Request.ALL_FLUSH_MASTER:
        this.log.write('NOTICE', 'flushing kernel conntrack table');
        this.track(kernel!.flush(), FLUSH_FAILED);
        if (request === Request.ALL_FLUSH_MASTER && expectations) this.track(expectations.flushKernel(), EXPECT_FLUSH_FAILED);
        return;
      case Request.EXP_FLUSH_MASTER:
        if (expectations) this.track(expectations.flushKernel(), EXPECT_FLUSH_FAILED);
        return;
      case Request.CT_RESYNC_MASTER:
      case Request.ALL_RESYNC_MASTER:
        this.log.write('NOTICE', 'resync with master conntrack table');
        kernel!.counters.resyncs++;
        await this.settle(kernel!.dump(), DUMP_FAILED);
        if (request === Request.ALL_RESYNC_MASTER && expectations) await this.settle(expectations.resyncKernel(), EXPECT_DUMP_FAILED);
        return;
      case Request.EXP_RESYNC_MASTER:
        if (expectations) await this.settle(expectations.resyncKernel(), EXPECT_DUMP_FAILED);
        return;
      case Request.EXP_DUMP_INTERNAL:
      case Request.EXP_DUMP_INT_XML:
        await expectations?.dumpInternal(reply, request === Request.EXP_DUMP_INT_XML);
        return;
      case Request.EXP_DUMP_EXTERNAL:
      case Request.EXP_DUMP_EXT_XML:
        await expectations?.dumpExternal(reply, request === Request.EXP_DUMP_EXT_XML);
        return;
      case Request.EXP_COMMIT:
        if (!expectations) return;
        this.log.write('NOTICE', 'committing expectation cache');
        await expectations.commit();
        return;
      case Request.CT_DUMP_EXTERNAL:
        if (this.sync) {
          const now = Date.now();
          const sync = this.config.sync!;
          const expiresAfter = sync.mode === 'alarm' ? sync.cacheTimeout : undefined;
          await writeLines(reply, this.sync.external.values(), (flow) => externalLine(flow, now, expiresAfter));
        }
        return;
      case Request.CT_DUMP_EXT_XML:
        if (this.sync) await writeLines(reply, this.sync.external.values(), externalXml);
        return;
      case Request.CT_FLUSH_EXT_CACHE:
        if (!this.sync) return;
        this.log.write('NOTICE', 'flushing external cache');
        this.sync.external.flush();
        return;
      case Request.CT_COMMIT:
        await this.commit('committing conntrack cache', reply);
        return;
      case Request.ALL_COMMIT:
        await this.commit('committing all external caches', reply);
        // The flows first: an expectation needs its master. Always, unlike
        // 1.4.7 (defect 20 of docs/1.4.7-defects.md).
        await expectations?.commit();
        return;
      case Request.REQUEST_DUMP:
        this.sync?.requestResync();
        return;
      case Request.SEND_BULK:
        this.sync?.sendBulk();
        return;
      case Request.RESET_TIMERS:
        if (this.config.sync) this.schedulePurge(this.config.sync.purgeTimeout);
        return;
      default:
        return;
    }
  }

  /** `-f internal`: empties the internal cache (nothing is replicated). */
  private flushInternal(what: string): void {
    // A flush of the cache makes a pending `-t` pointless.
    clearTimeout(this.purgeTimer);
    this.purgeTimer = undefined;
    this.log.write('NOTICE', what);
    this.cache.flush();
  }

  /**
   * `-c`: the external cache into the kernel, logged as 1.4.7 logs it. The
   * reply comes when the commit is over (nothing stays "in progress") and,
   * beyond 1.4.7, counts what was committed and what failed.
   */
  private async commit(what: string, reply: Writable): Promise<void> {
    const sync = this.sync;
    if (!sync) return;
    this.log.write('NOTICE', what);
    const started = process.hrtime.bigint();
    const result = await commitFlows(
      sync.external,
      commitOptions(this.config.sync!),
      (items, write, done) => this.kernel!.createAll(items, write, done),
      (err) => this.log.write('ERROR', `commit-create: ${err.message}`),
    );
    const micros = Number((process.hrtime.bigint() - started) / 1000n);
    this.log.write('NOTICE', `Committed ${result.created} new entries`);
    if (result.replaced > 0) this.log.write('NOTICE', `${result.replaced} entries updated, already exist`);
    if (result.failed > 0) this.log.write('NOTICE', `${result.failed} entries can't be committed`);
    this.lastCommit = { endedAt: Date.now() / 1000, durationSeconds: micros / 1e6, committed: result.created + result.replaced, failed: result.failed };
    const seconds = `${Math.floor(micros / 1e6)}.${String(micros % 1e6).padStart(6, '0')}`;
    this.log.write('NOTICE', `commit has taken ${seconds} seconds`);
    reply.write(commitReport(result.created + result.replaced, result.failed));
  }

  /**
   * `-t`: flush the kernel table (keeping what the Filter ignores) after
   * `seconds`. The DESTROY events of the flush empty the cache, as in
   * 1.4.7: flushing the cache as well raced with them, and each late event
   * then counted as a failed deletion.
   */
  private schedulePurge(seconds: number): void {
    this.log.write('NOTICE', `flushing conntrack table in ${seconds} secs`);
    clearTimeout(this.purgeTimer);
    this.purgeTimer = setTimeout(() => {
      this.purgeTimer = undefined;
      this.log.write('NOTICE', 'flushing kernel conntrack table (scheduled)');
      this.track(this.kernel!.flush(), FLUSH_FAILED);
    }, seconds * 1000);
  }

  /** Runs background work, logging its failure (the daemon goes on, as 1.4.7's children fail alone). */
  private track(work: Promise<unknown>, failure: string): void {
    const settled = this.settle(work, failure);
    this.pending.add(settled);
    void settled.finally(() => this.pending.delete(settled));
  }

  /** Awaits `work`; a failure is one ERROR line: `failure`, then the reason. */
  private async settle(work: Promise<unknown>, failure: string): Promise<void> {
    try {
      await work;
    } catch (err) {
      this.log.write('ERROR', `${failure}: ${(err as Error).message}`);
    }
  }
}
