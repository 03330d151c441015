/**
 * Sync mode's replication, wired: the internal cache's changes go to the
 * mode's state machine (sync/ftfw.ts, notrack.ts, alarm.ts), what it
 * returns goes out on the sync link in batches, and what the link receives
 * goes back into the machine, which applies the peer's changes to the
 * external cache.
 *
 * One loop turn as 1.4.7 runs it: the events of this turn of Node's event
 * loop (cache changes, datagrams, `-n`, `-B`), then the mode's due timers,
 * then one transmit round whose messages are packed into datagrams of at
 * most MTU − 28 bytes; then sleep until the mode's next timer.
 *
 * The machine keeps internal-cache objects by identity and rebuilds each
 * message from the object's current contents, so there is one object per
 * key here, updated in place; a destroyed one stays (DEAD) until the peer
 * acknowledges its deletion, and comes back to life if its key does.
 */
import { readFileSync } from 'node:fs';
import type { Flow } from '../../ctnetlink/flow';
import type { ChannelConfig, SyncConfig } from '../config/config';
import type { Log } from '../daemon/contract';
import { batchMessages, maxBatchSize } from '../sync/batch';
import type { DatagramChannel } from '../sync/channels/datagram';
import { openMulticastChannel } from '../sync/channels/multicast';
import { openUdpChannel } from '../sync/channels/udp';
import { AlarmReplication } from '../sync/alarm';
import { FtfwReplication } from '../sync/ftfw';
import { flowKey, syncKey } from '../sync/key';
import type { DataMessage } from '../sync/message';
import { NotrackReplication } from '../sync/notrack';
import type { Replication, ReplicationHost, SyncObject } from '../sync/replication';
import type { CacheChange } from './cache';
import { ExternalCache } from './external-cache';
import { newChannelCounters, type LinkStatus, type QueueCounters, type SyncSnapshot } from '../stats/counters';

/** An internal-cache flow as the mode keeps it. */
class InternalObject implements SyncObject {
  constructor(
    public state: 'new' | 'alive' | 'dead',
    public flow: Flow,
  ) {}
}

const STATE_OF: Record<CacheChange, InternalObject['state']> = { new: 'new', update: 'alive', destroy: 'dead' };

/** The MTU 1.4.7 assumes when the link's interface does not say. */
const DEFAULT_MTU = 1500;
/** 1.4.7's transmit queue is unbounded: it reports INT_MAX as its maximum. */
const TX_QUEUE_MAX = 2147483647;
/** The error queue's length when the config sets none (a TCP link's ErrorQueueLength). */
const ERROR_QUEUE_DEFAULT = 128;
const IFF_UP = 0x1;

export class SyncSide implements ReplicationHost {
  readonly external: ExternalCache;
  readonly mode: Replication;
  readonly link: ChannelConfig;
  private channel: DatagramChannel | undefined;
  private readonly objects = new Map<string, InternalObject>();
  private maxBatch = maxBatchSize(DEFAULT_MTU, 'udp');
  private timer: NodeJS.Timeout | undefined;
  private turnQueued = false;
  private stopped = false;

  constructor(
    private readonly config: SyncConfig,
    hashLimit: number,
    private readonly log: Log,
  ) {
    this.external = new ExternalCache(hashLimit);
    const now = Date.now();
    this.mode =
      config.mode === 'ftfw'
        ? new FtfwReplication(this, config, now)
        : config.mode === 'notrack'
          ? new NotrackReplication(this, config, now)
          : new AlarmReplication(this, config);
    this.link = config.channels.find((c) => c.isDefault) ?? config.channels[0]!;
  }

  /** Opens the sync link and, with StartupResync, asks the peer for its flows. */
  async start(): Promise<void> {
    const link = this.link;
    if (link.kind === 'tcp') throw new Error('TCP sync links are not supported yet');
    this.channel = await (link.kind === 'multicast' ? openMulticastChannel : openUdpChannel)(link);
    this.maxBatch = maxBatchSize(mtuOf(link.interface), link.kind);
    this.channel.onReceive((datagram) => {
      this.mode.receive(datagram, Date.now());
      this.queueTurn();
    });
    if (this.config.startupResync && this.config.mode !== 'alarm') this.mode.requestResync();
    this.queueTurn();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.channel?.close();
  }

  /** Sync mode's part of the statistics: the link, message tracking and the queues. */
  stats(): Pick<SyncSnapshot, 'syncMode' | 'links' | 'network' | 'queueNodes' | 'queues' | 'resendQueue'> {
    const link = this.link;
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
      links: [
        {
          kind: link.kind,
          device: link.interface ?? '',
          status: linkStatus(link.interface),
          active: true,
          traffic: this.channel?.counters ?? newChannelCounters(),
        },
      ],
      network: mode.counters,
      queueNodes: lengths.tx + lengths.rs,
      queues,
      ...(ftfw ? { resendQueue: ftfw.resendQueue() } : {}),
    };
  }

  /**
   * An internal-cache change. `replicate` is false for the changes the
   * daemon caused itself (dumps, its commit and flush sockets): the object
   * follows the cache, but nothing is sent.
   */
  cacheChanged(change: CacheChange, flow: Flow, replicate: boolean): void {
    const key = flowKey(flow);
    let obj = this.objects.get(key);
    if (obj === undefined) {
      if (change === 'destroy') return;
      obj = new InternalObject(STATE_OF[change], flow);
      this.objects.set(key, obj);
    } else {
      // A NEW for a key whose flow is DEAD brings the same object back to life.
      obj.state = STATE_OF[change];
      // An update without a timeout keeps the last one known.
      if (change !== 'destroy') obj.flow = flow.timeout === undefined ? { ...flow, timeout: obj.flow.timeout } : flow;
    }
    if (!replicate) {
      if (change === 'destroy') this.objects.delete(key);
      return;
    }
    this.mode.changed(obj, Date.now());
    this.queueTurn();
  }

  /** `-n`: ask the peer to send all its flows. */
  requestResync(): void {
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

  *internalObjects(): Iterable<SyncObject> {
    for (const obj of this.objects.values()) if (obj.state !== 'dead') yield obj;
  }

  applyExternal(msg: DataMessage): void {
    // Expectations (ExpectationSync) are not kept yet.
    if ('flow' in msg) this.external.apply(msg, Date.now());
  }

  release(obj: SyncObject): void {
    const key = flowKey(obj.flow!);
    if (this.objects.get(key) === obj && obj.state === 'dead') this.objects.delete(key);
  }

  expireExternal(msg: DataMessage): void {
    this.external.delete(syncKey(msg));
  }

  // -------------------------------------------------------------------------

  /** Runs one loop turn once the events already queued in Node's loop are handled. */
  private queueTurn(): void {
    if (this.turnQueued || this.stopped) return;
    this.turnQueued = true;
    setImmediate(() => {
      this.turnQueued = false;
      this.turn();
    });
  }

  private turn(): void {
    if (this.stopped) return;
    const now = Date.now();
    this.mode.fireTimers(now);
    const messages = this.mode.transmit(now);
    if (this.channel) for (const datagram of batchMessages(messages, this.maxBatch)) this.channel.send(datagram);
    clearTimeout(this.timer);
    const next = this.mode.nextTimer();
    if (next !== undefined) this.timer = setTimeout(() => this.turn(), Math.max(0, next - Date.now()));
  }
}

/** The MTU of the link's interface, as 1.4.7 sizes its batches. */
function mtuOf(iface: string | undefined): number {
  return Number(interfaceFile(iface, 'mtu')) || DEFAULT_MTU;
}

/** The link's carrier in 1.4.7's words: whether its interface is up, and has a carrier. */
function linkStatus(iface: string | undefined): LinkStatus {
  const flags = Number(interfaceFile(iface, 'flags'));
  if (!(flags & IFF_UP)) return iface === undefined ? 'RUNNING' : 'DOWN';
  return interfaceFile(iface, 'carrier') === '1' ? 'RUNNING' : 'NO-CARRIER';
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
