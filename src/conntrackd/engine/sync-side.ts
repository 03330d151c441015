/**
 * Sync mode's replication, wired: the internal cache's changes go to the
 * mode's state machine (sync/ftfw.ts, notrack.ts, alarm.ts), what it
 * returns goes out on the sync link in batches, and what the link receives
 * goes back into the machine, which applies the peer's changes to the
 * external cache.
 *
 * One loop turn as 1.4.7 runs it: the events that came in (cache changes,
 * datagrams, `-n`, `-B`), then the mode's due timers, then one transmit
 * round whose messages are packed into datagrams of at most MTU − 28 bytes
 * (− 40 over TCP); then sleep until the mode's next timer. The turn runs
 * `TURN_DELAY_MS` after the first event it serves, not in the same turn of
 * Node's event loop: during a burst every loop turn brings a handful of
 * events, and sending them at once cost a datagram (and its system call)
 * per couple of flows; a millisecond fills datagrams at a few flows per
 * millisecond and adds that millisecond to the replication delay.
 *
 * Links: every `UDP` / `Multicast` / `TCP` block is opened; messages go out
 * on the active one (sync/links.ts): the Default block first, then the
 * link the peer last sent on, or the next running one when the active
 * link's interface loses its carrier (checked once per keep-alive).
 *
 * The machine keeps internal-cache objects by identity and rebuilds each
 * message from the object's current contents, so there is one object per
 * cached flow here, found by the flow's cache slot, and the message is
 * written from the cache record's bytes (record-sync.ts). A destroyed
 * flow's object keeps the attributes it had (its slot goes to other flows)
 * and stays, DEAD, until the peer acknowledges its deletion; it comes back
 * to life if its key does. An object is made when its flow is first
 * replicated, or sent by a bulk send: a flow that only a dump brought (the
 * start-up dump of a million entries) has none until then.
 */
import { readFileSync } from 'node:fs';
import type { ChannelConfig, SyncConfig } from '../config/config';
import type { Log } from '../daemon/contract';
import { newChannelCounters, type ExternalCounters, type QueueCounters, type SyncSnapshot } from '../stats/counters';
import { DatagramPacker, maxBatchSize } from '../sync/batch';
import { DatagramChannel } from '../sync/channels/datagram';
import { openMulticastChannel } from '../sync/channels/multicast';
import { TcpChannel } from '../sync/channels/tcp';
import { openUdpChannel } from '../sync/channels/udp';
import { LinkSet, linkStatus } from '../sync/links';
import { AlarmReplication } from '../sync/alarm';
import { FtfwReplication } from '../sync/ftfw';
import type { AttrWriter } from '../sync/attributes';
import { SyncEncodeError } from '../sync/errors';
import type { DataMessage, EncodeOptions } from '../sync/message';
import { NotrackReplication } from '../sync/notrack';
import { encodeOptionsOf, type Replication, type ReplicationHost, type SyncObject } from '../sync/replication';
import type { CacheChange, FlowCache } from './cache';
import { FlowState } from './record';
import type { InternalExpectation } from './expect-cache';
import type { ExpectationSync } from './expect-sync';
import { ExternalCache } from './external-cache';
import type { LimitWarnings } from './limit-warnings';
import type { ExternalInject } from './external-inject';

/** An internal-cache flow as the mode keeps it. */
class InternalObject implements SyncObject {
  /** Once the flow is destroyed: its key (as keyText) and last attributes (none when the wire cannot carry them). */
  key: string | undefined;
  attributes: Buffer | undefined;
  txAt = -1;
  rsAt = -1;
  due: number | undefined = undefined;

  constructor(
    public state: 'new' | 'alive' | 'dead',
    private readonly cache: FlowCache,
    /** The flow's cache slot while it is cached, DESTROYED after. */
    public slot: number,
  ) {}

  writeAttributes(w: AttrWriter, opts: EncodeOptions): void {
    if (this.slot !== DESTROYED) this.cache.writeSyncAttributes(this.slot, w, opts);
    else if (this.attributes) w.raw(this.attributes);
    else throw new SyncEncodeError('a destroyed flow the wire could not carry');
  }
}

const DESTROYED = -1;

const STATE_OF: Record<CacheChange, InternalObject['state']> = { new: 'new', update: 'alive', destroy: 'dead' };

/** The MTU 1.4.7 assumes when the link's interface does not say. */
const DEFAULT_MTU = 1500;
/** 1.4.7's transmit queue is unbounded: it reports INT_MAX as its maximum. */
const TX_QUEUE_MAX = 2147483647;
/** The error queue's length when the config sets none (a TCP link's ErrorQueueLength). */
const ERROR_QUEUE_DEFAULT = 128;
const IFF_UP = 0x1;

type Channel = DatagramChannel | TcpChannel;

/** Opens the sockets of one link block. */
function openChannel(config: ChannelConfig): Promise<Channel> {
  if (config.kind === 'tcp') return TcpChannel.open(config);
  return (config.kind === 'multicast' ? openMulticastChannel : openUdpChannel)(config);
}

export class SyncSide implements ReplicationHost {
  readonly external: ExternalCache;
  readonly mode: Replication;
  readonly links: LinkSet;
  private channels: Channel[] = [];
  /** The objects of cached flows, by slot. */
  private readonly bySlot: (InternalObject | undefined)[] = [];
  /** The objects of destroyed flows whose deletion the peer has not acknowledged, by key. */
  private readonly dead = new Map<string, InternalObject>();
  private readonly encodeOptions: EncodeOptions;
  /** Each link's transmit rounds are written here, packed into its datagrams. */
  private packers: DatagramPacker[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** When the armed timer fires (the mode's next timer as of the last turn). */
  private timerAt: number | undefined;
  private turnQueued = false;
  private carrierCheckAt = 0;
  /** Injections under way (DisableExternalCache). */
  private readonly injecting = new Set<Promise<void>>();
  private stopped = false;

  constructor(
    private readonly config: SyncConfig,
    hashLimit: number,
    private readonly log: Log,
    private readonly limits: LimitWarnings,
    /** The internal cache, whose flows the objects stand for. */
    private readonly cache: FlowCache,
    /** With DisableExternalCache: where the peer's changes go instead of the external cache. */
    private readonly inject?: ExternalInject,
    /** With ExpectationSync: the expectation caches. */
    readonly expectations?: ExpectationSync,
  ) {
    this.external = new ExternalCache(hashLimit);
    this.encodeOptions = encodeOptionsOf(config);
    expectations?.onChange((obj, replicate) => this.expectationChanged(obj, replicate));
    const now = Date.now();
    this.mode =
      config.mode === 'ftfw'
        ? new FtfwReplication(this, config, now)
        : config.mode === 'notrack'
          ? new NotrackReplication(this, config, now)
          : new AlarmReplication(this, config);
    this.links = new LinkSet(config.channels, config.channels.map((c) => linkStatus(...interfaceFlags(c.interface))));
  }

  /** Opens the sync links. */
  async start(): Promise<void> {
    const blocks = this.config.channels;
    const opened = await Promise.allSettled(blocks.map(openChannel));
    this.channels = opened.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    const failed = opened.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed) {
      for (const channel of this.channels) channel.close();
      throw failed.reason;
    }
    this.packers = blocks.map((b) => new DatagramPacker(maxBatchSize(mtuOf(b.interface), b.kind)));
    this.channels.forEach((channel, i) =>
      channel.onReceive((datagram) => {
        this.links.received(i, this.mode.receive(datagram, Date.now()));
        this.queueTurn();
      }),
    );
    this.queueTurn();
  }

  /** The daemon is up: with StartupResync, ask the peer for its flows (logged after the daemon's "starting" line, as in 1.4.7). */
  started(): void {
    if (this.config.startupResync && this.config.mode !== 'alarm') this.requestResync();
  }

  /** Waits for the kernel requests of injected changes still under way. */
  async stop(): Promise<void> {
    await Promise.allSettled([...this.injecting]);
    this.stopped = true;
    clearTimeout(this.timer);
    for (const channel of this.channels) channel.close();
  }

  /** The external side for `-s`: the cache, or the injection counters. */
  externalCounters(): ExternalCounters {
    return this.inject ? { inject: this.inject.counters } : { cache: this.external.counters };
  }

  /** Sync mode's part of the statistics: the link, message tracking and the queues. */
  stats(): Pick<SyncSnapshot, 'syncMode' | 'links' | 'network' | 'queueNodes' | 'queues' | 'resendQueue'> {
    const link = this.config.channels[this.links.active]!;
    const mode = this.mode;
    const ftfw = mode instanceof FtfwReplication ? mode : undefined;
    const lengths = ftfw?.queueLengths() ?? { tx: 0, rs: 0 };
    const queues: QueueCounters[] = [
      { name: 'txqueue', current: lengths.tx, maximum: TX_QUEUE_MAX, noSpace: 0 },
      { name: 'errorq', current: 0, maximum: link.errorQueueLength ?? ERROR_QUEUE_DEFAULT, noSpace: 0 },
    ];
    if (ftfw) queues.push({ name: 'rsqueue', current: lengths.rs, maximum: this.config.resendQueueSize, noSpace: 0 });
    return {
      syncMode: this.config.mode,
      links: this.config.channels.map((block, i) => {
        const channel = this.channels[i];
        return {
          kind: block.kind,
          device: block.interface ?? '',
          status: this.links.status(i),
          active: i === this.links.active,
          traffic: channel?.counters ?? newChannelCounters(),
          ...(channel instanceof TcpChannel ? { tcp: channel.state } : {}),
        };
      }),
      network: mode.counters,
      queueNodes: lengths.tx + lengths.rs,
      queues,
      ...(ftfw ? { resendQueue: ftfw.resendQueue() } : {}),
    };
  }

  /**
   * A change of the internal cache's flow in `slot`. `replicate` is false
   * for the changes the daemon caused itself (dumps, its commit and flush
   * sockets): the object follows the cache, but nothing is sent.
   */
  cacheChanged(change: CacheChange, slot: number, replicate: boolean): void {
    let obj = this.bySlot[slot];
    if (obj === undefined && change === 'new' && this.dead.size > 0) obj = this.revive(slot);
    if (obj === undefined) {
      if (change === 'destroy' || !replicate) return;
      obj = this.place(slot, new InternalObject(STATE_OF[change], this.cache, slot));
    }
    obj.state = STATE_OF[change];
    if (change === 'destroy') {
      this.bySlot[slot] = undefined;
      obj.slot = DESTROYED;
      if (!replicate) {
        this.mode.forget(obj);
        return;
      }
      // The slot goes to other flows: the object keeps what its messages carry.
      obj.attributes = this.cache.syncAttributes(slot, this.encodeOptions);
      obj.key = this.cache.keyText(slot);
      this.dead.set(obj.key, obj);
    }
    if (!replicate) return;
    this.mode.changed(obj, Date.now());
    this.queueTurn();
  }

  /** The dead object of the key of the flow now in `slot`, back in its place (a NEW for a key whose deletion is not acknowledged yet). */
  private revive(slot: number): InternalObject | undefined {
    const key = this.cache.keyText(slot);
    const obj = this.dead.get(key);
    if (obj === undefined) return undefined;
    this.dead.delete(key);
    obj.key = obj.attributes = undefined;
    obj.slot = slot;
    return this.place(slot, obj);
  }

  /**
   * Puts `obj` in `slot`'s place. The array is filled up to the slot (not
   * left with holes), so that it stays a plain array even when the first
   * flows to get objects are the last of a million the cache holds.
   */
  private place(slot: number, obj: InternalObject): InternalObject {
    while (this.bySlot.length <= slot) this.bySlot.push(undefined);
    this.bySlot[slot] = obj;
    return obj;
  }

  /** An internal expectation changed: as cacheChanged(), with the expectation cache keeping the object. */
  private expectationChanged(obj: InternalExpectation, replicate: boolean): void {
    if (!replicate) {
      if (obj.state === 'dead') this.mode.forget(obj);
      return;
    }
    this.mode.changed(obj, Date.now());
    this.queueTurn();
  }

  /** `-n`: ask the peer to send all its flows. */
  requestResync(): void {
    this.log.write('NOTICE', 'resync requested');
    this.mode.requestResync();
    this.queueTurn();
  }

  /** `-B`: send all of this node's flows. */
  sendBulk(): void {
    this.log.write('NOTICE', 'sending bulk update');
    this.mode.sendBulk(Date.now());
    this.queueTurn();
  }

  // ReplicationHost ---------------------------------------------------------

  forEachInternal(visit: (obj: SyncObject) => void): void {
    // Every cached flow, given its object if a dump alone brought it.
    this.cache.forEachSlot((slot) => {
      visit(this.bySlot[slot] ?? this.place(slot, new InternalObject(this.cache.stateOf(slot) === FlowState.NEW ? 'new' : 'alive', this.cache, slot)));
    });
    if (this.expectations) for (const obj of this.expectations.internal.values()) visit(obj);
  }

  applyExternal(msg: DataMessage): void {
    // Expectations go to their own side (their cache, or the kernel with DisableExternalCache).
    if (!('flow' in msg)) {
      this.expectations?.applyExternal(msg);
      return;
    }
    if (this.inject) this.track(this.inject.apply(msg));
    else this.external.apply(msg, Date.now());
  }

  release(obj: SyncObject): void {
    if (obj.expectation) {
      this.expectations?.release(obj);
      return;
    }
    const { key } = obj as InternalObject;
    if (key !== undefined && this.dead.get(key) === obj) this.dead.delete(key);
  }

  resyncRequested(): void {
    // 1.4.7's two lines: the request, then the bulk send it causes (worded as `-B`'s).
    this.log.write('NOTICE', 'resync requested by other node');
    this.log.write('NOTICE', 'sending bulk update');
  }

  expireExternal(msg: DataMessage): void {
    if ('flow' in msg) this.external.remove(msg);
    else this.expectations?.external.remove(msg);
  }

  // -------------------------------------------------------------------------

  private track(work: Promise<void>): void {
    this.injecting.add(work);
    void work.finally(() => this.injecting.delete(work));
  }

  /** Runs one loop turn `TURN_DELAY_MS` from now, for the events that come in until then. */
  private queueTurn(): void {
    if (this.turnQueued || this.stopped) return;
    this.turnQueued = true;
    setTimeout(() => {
      this.turnQueued = false;
      this.turn();
    }, TURN_DELAY_MS);
  }

  /** Warns of the first loss a configured size caused: the external cache's HashLimit, ResendQueueSize, a link's RcvSocketBuffer. */
  private checkLimits(): void {
    const external = this.external.counters.addFailNoSpace;
    this.limits.check('external HashLimit', 'HashLimit', external, () => `external cache full (HashLimit ${this.external.limit}): a flow of the peer was not cached`);
    if (this.mode instanceof FtfwReplication) {
      const pushed = this.mode.resendQueueDrops;
      this.limits.check('ResendQueueSize', 'ResendQueueSize', pushed, () => `resend queue full (ResendQueueSize ${this.config.resendQueueSize}): unacknowledged messages were dropped, a bulk send repairs what the peer asks for`);
    }
    this.channels.forEach((channel, i) => {
      if (!(channel instanceof DatagramChannel)) return;
      const size = this.config.channels[i]!.rcvSocketBuffer;
      this.limits.check(`RcvSocketBuffer of link ${i}`, 'RcvSocketBuffer', channel.receiveDrops(), () => `sync link receive buffer full (${size === undefined ? 'RcvSocketBuffer unset' : `RcvSocketBuffer ${size}`}): datagrams were dropped, FTFW asks for them again`);
    });
  }

  /** Reports the links' interface states; a switch of the active link is logged as 1.4.7 logs it. */
  private checkCarriers(now: number): void {
    this.carrierCheckAt = now + CARRIER_CHECK_MS;
    if (this.config.channels.length < 2) return;
    this.config.channels.forEach((block, i) => {
      const [up, running] = interfaceFlags(block.interface);
      if (linkStatus(up, running) === this.links.status(i)) return;
      const switched = this.links.interfaceChanged(i, up, running);
      if (switched !== undefined) this.log.write('NOTICE', `device \`${this.config.channels[switched]!.interface}' becomes dedicated link`);
    });
  }

  private turn(): void {
    if (this.stopped) return;
    const now = Date.now();
    this.mode.fireTimers(now);
    const active = this.links.active;
    const packer = this.packers[active];
    // Before start() no link is open: the queues keep everything until one is.
    if (packer) {
      this.mode.transmit(now, packer);
      for (const datagram of packer.take()) this.channels[active]!.send(datagram);
    }
    if (now >= this.carrierCheckAt) {
      this.checkCarriers(now);
      this.checkLimits();
    }
    this.armTimer(this.mode.nextTimer());
  }

  /**
   * Sleeps until `at`, the mode's next timer. A burst runs thousands of
   * turns, each moving the keep-alive a few milliseconds later: an armed
   * timer that fires no later than `at` is kept, and its turn, finding
   * nothing due, arms the later time (one idle turn per keep-alive period
   * instead of a timer replaced every turn).
   */
  private armTimer(at: number | undefined): void {
    if (at !== undefined && this.timerAt !== undefined && this.timerAt <= at) return;
    clearTimeout(this.timer);
    this.timerAt = at;
    if (at === undefined) return;
    this.timer = setTimeout(() => {
      this.timerAt = undefined;
      this.turn();
    }, Math.max(0, at - Date.now()));
  }
}

/** How long a turn waits for more events to send with the first (see the top of this file). */
const TURN_DELAY_MS = 1;

/** How often the links' interfaces are looked at (1.4.7 hears of changes from rtnetlink at once). */
const CARRIER_CHECK_MS = 1000;

/** The MTU of the link's interface, as 1.4.7 sizes its batches. */
function mtuOf(iface: string | undefined): number {
  return Number(interfaceFile(iface, 'mtu')) || DEFAULT_MTU;
}

/**
 * Whether the link's interface is up and running (has a carrier); both
 * when there is no interface to look at. sysfs's flags lack IFF_RUNNING:
 * the carrier file tells it.
 */
function interfaceFlags(iface: string | undefined): [up: boolean, running: boolean] {
  const text = interfaceFile(iface, 'flags');
  if (text === '') return [true, true];
  const up = (Number(text) & IFF_UP) !== 0;
  return [up, up && interfaceFile(iface, 'carrier') === '1'];
}

/** A file of the interface's sysfs directory (the daemon's namespace's), trimmed; '' when unreadable. */
function interfaceFile(iface: string | undefined, name: string): string {
  if (iface === undefined) return '';
  try {
    return readFileSync(`/sys/class/net/${iface}/${name}`, 'utf8').trim();
  } catch {
    return '';
  }
}
