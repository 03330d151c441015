/**
 * `ExpectationSync`: this node's expectations (the kernel's, kept current by
 * events and dumps) replicated to the peer as EXP_* messages, the peer's
 * kept in the external expectation cache, and the commands about them:
 * `-i expect`, `-e expect` (and `-x`), `-c expect`, `-F expect`,
 * `-R expect`, `-s expect`, and the expectation half of `-f`, `-c`, `-F`
 * and `-R`, all logged as 1.4.7 logs them.
 *
 * As with flows, only the changes the daemon did not cause itself are
 * replicated: not its commit's creates, nor its flush, nor what a dump
 * finds (1.4.7 only populates the cache from a dump; a bulk send carries it).
 */
import type { Writable } from 'node:stream';
import type { Expectation } from '../../ctnetlink/expect';
import { formatExpectationText } from '../../format/text-expect';
import { formatExpectationXml } from '../../format/xml-expect';
import type { Log } from '../daemon/contract';
import { newInjectCounters, type ExpectationCounters } from '../stats/counters';
import { MessageType } from '../sync/header';
import type { ExpectMessage } from '../sync/message';
import type { SyncObject } from '../sync/replication';
import { writeLines } from './dump-text';
import { commitExpectations, committedExpectation } from './expect-commit';
import { ExternalExpectations, InternalExpectations, type ExpectationChange, type InternalExpectation } from './expect-cache';
import { ExpectationKernel, type ExpectationKernelOptions } from './expect-kernel';
import type { Origin } from './kernel';

/** Wall-clock seconds, as 1.4.7's time(NULL) for "active since". */
const wallSeconds = (): number => Math.floor(Date.now() / 1000);

/** The sync side: replicate the change, or (`replicate` false) forget the object when it is DEAD. */
export type ExpectationListener = (obj: InternalExpectation, replicate: boolean) => void;

export interface ExpectationSyncOptions extends Omit<ExpectationKernelOptions, 'sink'> {
  hashLimit: number;
  /** `CommitTimeout`. */
  commitTimeout?: number;
  /** `DisableExternalCache`: the peer's expectations go straight into the kernel. */
  inject?: boolean;
}

export class ExpectationSync {
  readonly internal: InternalExpectations;
  readonly external: ExternalExpectations;
  private readonly kernel: ExpectationKernel;
  private readonly log: Log;
  /** With `inject`: the kernel requests of the peer's changes, for `-s expect`. */
  private readonly injectCounters = newInjectCounters();
  /** Injections under way. */
  private readonly injecting = new Set<Promise<void>>();
  private listener: ExpectationListener = () => {};

  constructor(private readonly options: ExpectationSyncOptions) {
    this.log = options.log;
    this.internal = new InternalExpectations(options.hashLimit);
    this.external = new ExternalExpectations(options.hashLimit);
    this.kernel = new ExpectationKernel({ ...options, sink: (change, exp, origin) => this.changed(change, exp, origin) });
  }

  /** Where internal changes go (the sync side). */
  onChange(listener: ExpectationListener): void {
    this.listener = listener;
  }

  /** Listens for events (unless polling), then dumps the table into the cache. */
  async start(listen: boolean): Promise<void> {
    if (listen) this.kernel.listen();
    await this.kernel.dump();
  }

  /** Waits for the injections under way, then closes the sockets. */
  async stop(): Promise<void> {
    await Promise.allSettled([...this.injecting]);
    this.kernel.close();
  }

  counters(): ExpectationCounters {
    const external = this.options.inject ? { inject: this.injectCounters } : { cache: this.external.counters };
    return { internal: { cache: this.internal.counters }, external };
  }

  /** A message from the peer: into the external cache, or (`inject`) the kernel. */
  applyExternal(msg: ExpectMessage): void {
    if (!this.options.inject) {
      this.external.apply(msg, Date.now());
      return;
    }
    const work = this.inject(msg);
    this.injecting.add(work);
    void work.finally(() => this.injecting.delete(work));
  }

  // Requests ------------------------------------------------------------------

  /** `-i expect`, `-i expect -x`. */
  async dumpInternal(reply: Writable, xml: boolean): Promise<void> {
    const now = wallSeconds();
    await writeLines(reply, this.internal.values(), (o) => line(o.expectation, xml, now - o.since));
  }

  /** `-e expect`, `-e expect -x`. */
  async dumpExternal(reply: Writable, xml: boolean): Promise<void> {
    const now = wallSeconds();
    await writeLines(reply, this.external.values(), (e) => line(e.expectation, xml, now - e.since));
  }

  /** The expectation half of `-f`: both caches; nothing is replicated, the mode forgets the objects. */
  flushCaches(): void {
    for (const obj of this.internal.flush()) this.listener(obj, false);
    this.external.flush();
  }

  /** `-c expect` and the second half of `-c`: logged as 1.4.7 logs its expectation commit. */
  async commit(): Promise<void> {
    const started = process.hrtime.bigint();
    const result = await commitExpectations(
      [...this.external.values()],
      this.options.commitTimeout,
      (exp) => this.kernel.replace(exp),
      (_exp, err) => this.log.write('ERROR', `commit-create: ${err.message}`),
    );
    const micros = Number((process.hrtime.bigint() - started) / 1000n);
    this.log.write('NOTICE', `Committed ${result.committed} new expectations`);
    if (result.failed > 0) this.log.write('NOTICE', `${result.failed} expectations can't be committed`);
    this.log.write('NOTICE', `commit has taken ${Math.floor(micros / 1e6)}.${String(micros % 1e6).padStart(6, '0')} seconds`);
  }

  /** `-F expect`, and the expectation half of `-F`. */
  flushKernel(): Promise<void> {
    this.log.write('NOTICE', 'flushing kernel expect table');
    return this.kernel.flush();
  }

  /** `-R expect`, and the expectation half of `-R`. */
  resyncKernel(): Promise<void> {
    this.log.write('NOTICE', 'resync with master expect table');
    return this.kernel.resync();
  }

  /** FTFW: the peer is done with this dead object. */
  release(obj: SyncObject): void {
    this.internal.release(obj);
  }

  // -----------------------------------------------------------------------------

  /**
   * One injected change, as 1.4.7 injects it: EXP_NEW and EXP_UPD create
   * (an existing one is deleted and created again) with the replicated
   * timeout, EXP_DEL deletes (a missing one is no failure). Failures are
   * counted; the next change or a resync repairs them.
   */
  private async inject(msg: ExpectMessage): Promise<void> {
    const c = this.injectCounters;
    const now = Date.now();
    try {
      if (msg.type === MessageType.EXP_DEL) {
        if (await this.kernel.delete(msg.expectation)) c.delOk++;
        return;
      }
      await this.kernel.replace(committedExpectation({ expectation: msg.expectation, since: 0, updatedAt: now }, undefined, now));
      if (msg.type === MessageType.EXP_NEW) c.addOk++;
      else c.updOk++;
    } catch {
      if (msg.type === MessageType.EXP_DEL) c.delFail++;
      else if (msg.type === MessageType.EXP_NEW) c.addFail++;
      else c.updFail++;
    }
  }

  /** A kernel event or dumped entry: into the internal cache, and to the peer unless the daemon caused it or a dump found it. */
  private changed(change: ExpectationChange, exp: Expectation, origin: Origin): void {
    const obj = this.internal.apply(change, exp, wallSeconds());
    if (obj === undefined) return;
    const replicate = origin === 'other';
    if (!replicate) this.internal.release(obj);
    this.listener(obj, replicate);
  }
}

/** One expectation line of `-i expect` / `-e expect`: no timeout (a cached one is stale), plus its age. */
function line(exp: Expectation, xml: boolean, age: number): string {
  const shown = { ...exp, timeout: undefined };
  return xml ? formatExpectationXml(shown) : `${formatExpectationText(shown)} [active since ${age}s]`;
}
