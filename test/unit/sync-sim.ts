/**
 * Deterministic simulation of two sync daemons (the replication state
 * machines only) joined by a fake link that drops, duplicates and delays
 * datagrams, all driven by one seeded generator: the same seed replays the
 * same run exactly. Each node has a fake internal cache that changes at
 * random moments and an external cache fed by its peer, as the engine will.
 *
 * Timeline of a run: a lossless warm-up (the FTFW handshake), a busy phase
 * with the link's faults, then a quiet phase on a clean link; `simulate`
 * then reports how far each external cache is from the peer's internal one.
 */
import type { Flow } from '../../src/ctnetlink/flow';
import type { SyncMode } from '../../src/conntrackd/config/config';
import { AlarmReplication } from '../../src/conntrackd/sync/alarm';
import { transmittedDatagrams } from './sync-out';
import { FtfwReplication } from '../../src/conntrackd/sync/ftfw';
import { MessageType } from '../../src/conntrackd/sync/header';
import { flowKey, syncKey } from '../../src/conntrackd/sync/key';
import { decodeFrame, encodeMessage, readFrames, type DataMessage, type FlowMessage } from '../../src/conntrackd/sync/message';
import { NotrackReplication } from '../../src/conntrackd/sync/notrack';
import type { Replication, ReplicationConfig, ReplicationHost, SyncObject } from '../../src/conntrackd/sync/replication';
import { seededRandom } from './ctnetlink-fixtures';

export interface SimOptions {
  seed: number;
  mode: SyncMode;
  /** Probability that a datagram is lost, duplicated, delayed out of order (busy phase only). */
  loss: number;
  duplicate: number;
  reorder: number;
  /** Simulated milliseconds of each phase. */
  busyMs: number;
  quietMs: number;
  /** Distinct flows each node may create (a small number makes updates and deletes of the same flow frequent). */
  keys: number;
  config?: Partial<ReplicationConfig>;
}

export interface SimResult {
  seed: number;
  /** Per node: keys whose external copy differs from the peer's internal object (missing, stale or extra). */
  divergent: [string[], string[]];
  datagrams: number;
  dropped: number;
  changes: number;
}

const START = 1_796_600_000_000; // ms since the epoch: sequence numbers start from the clock
const WARMUP_MS = 3000;
const LATENCY_MS = 2;
const MAX_REORDER_MS = 250;
const MTU_PAYLOAD = 1472;

/** An internal-cache object of the fake engine: one per flow key, revived when the key comes back. */
interface FakeObject extends SyncObject {
  state: 'new' | 'alive' | 'dead';
  flow: Flow;
}

class Node implements ReplicationHost {
  readonly internal = new Map<string, FakeObject>();
  readonly external = new Map<string, Flow>();
  machine!: Replication;

  forEachInternal(visit: (obj: SyncObject) => void): void {
    for (const obj of this.internal.values()) visit(obj);
  }

  applyExternal(msg: DataMessage): void {
    const { flow } = msg as FlowMessage;
    if (msg.type === MessageType.CT_DEL) this.external.delete(flowKey(flow));
    else this.external.set(flowKey(flow), flow);
  }

  release(obj: SyncObject): void {
    const o = obj as FakeObject;
    if (o.state === 'dead' && this.internal.get(flowKey(o.flow)) === o) this.internal.delete(flowKey(o.flow));
  }

  expireExternal(msg: DataMessage): void {
    this.external.delete(syncKey(msg));
  }
}

function makeMachine(mode: SyncMode, host: Node, config: ReplicationConfig, now: number, random: () => number): Replication {
  if (mode === 'ftfw') return new FtfwReplication(host, config, now);
  if (mode === 'notrack') return new NotrackReplication(host, config, now);
  return new AlarmReplication(host, config, random);
}

interface Delivery {
  at: number;
  order: number;
  to: number;
  datagram: Buffer;
}

export function simulate(opts: SimOptions): SimResult {
  const random = seededRandom(opts.seed);
  const config: ReplicationConfig = {
    resendQueueSize: 131072, ackWindowSize: 20, refreshTime: 5, cacheTimeout: 15, tcpWindowTracking: false, ...opts.config,
  };
  const nodes = [new Node(), new Node()];
  nodes.forEach((n, i) => (n.machine = makeMachine(opts.mode, n, config, START + i * 137, random)));
  const inFlight: Delivery[] = [];
  let order = 0;
  const result: SimResult = { seed: opts.seed, divergent: [[], []], datagrams: 0, dropped: 0, changes: 0 };
  const busyEnd = START + WARMUP_MS + opts.busyMs;
  const end = busyEnd + opts.quietMs;

  const send = (from: number, now: number): void => {
    for (const datagram of transmittedDatagrams(nodes[from]!.machine, now, MTU_PAYLOAD)) {
      result.datagrams++;
      const faulty = now > START + WARMUP_MS && now < busyEnd;
      if (faulty && random() < opts.loss) {
        result.dropped++;
        continue;
      }
      const copies = faulty && random() < opts.duplicate ? 2 : 1;
      for (let c = 0; c < copies; c++) {
        const delay = LATENCY_MS + (faulty && random() < opts.reorder ? random() * MAX_REORDER_MS : 0);
        inFlight.push({ at: now + delay, order: order++, to: 1 - from, datagram });
      }
    }
  };
  const step = (i: number, now: number): void => {
    nodes[i]!.machine.fireTimers(now);
    send(i, now);
  };

  let nextChange = [START + WARMUP_MS, START + WARMUP_MS + 50];
  for (let now = START; ; ) {
    // The next event: a delivery, a node's timer or (busy phase) a node's cache change.
    inFlight.sort((a, b) => a.at - b.at || a.order - b.order);
    const candidates = [inFlight[0]?.at ?? Infinity, ...nodes.map((n) => n.machine.nextTimer() ?? Infinity)];
    if (now < busyEnd) candidates.push(...nextChange);
    now = Math.max(now, Math.min(...candidates));
    if (now >= end) break;
    if (inFlight[0] && inFlight[0].at <= now) {
      const d = inFlight.shift()!;
      nodes[d.to]!.machine.receive(d.datagram, now);
      step(d.to, now);
      continue;
    }
    const changing = now < busyEnd ? nextChange.findIndex((t) => t <= now) : -1;
    if (changing >= 0) {
      changeSomething(nodes[changing]!, changing, now, random, opts.keys);
      result.changes++;
      nextChange[changing] = now + 20 + random() * 300;
      step(changing, now);
      continue;
    }
    nodes.forEach((_, i) => step(i, now));
  }
  nextChange = [];
  nodes.forEach((n, i) => (result.divergent[1 - i] = divergence(n, nodes[1 - i]!)));
  return result;
}

/** Creates, updates or deletes one of the node's flows and tells its machine. */
function changeSomething(node: Node, index: number, now: number, random: () => number, keys: number): void {
  const port = 1000 + Math.floor(random() * keys);
  const flow: Flow = {
    family: 2,
    orig: { l3: 2, src: `10.${index}.0.1`, dst: '10.9.0.1', proto: 6, sport: port, dport: 80 },
    reply: { l3: 2, src: '10.9.0.1', dst: `10.${index}.0.1`, proto: 6, sport: 80, dport: port },
    status: 0x0e,
    timeout: 300,
    mark: Math.floor(random() * 1000),
    tcp: { state: 3 },
  };
  const key = flowKey(flow);
  let obj = node.internal.get(key);
  const roll = random();
  if (!obj || obj.state === 'dead') {
    if (roll < 0.3 && obj) return; // sometimes leave a dead flow dead a little longer
    if (obj) Object.assign(obj, { state: 'new', flow });
    else node.internal.set(key, (obj = { state: 'new', flow }));
  } else if (roll < 0.6) {
    obj.state = 'alive';
    obj.flow = { ...obj.flow, mark: flow.mark };
  } else {
    obj.state = 'dead';
  }
  node.machine.changed(obj, now);
}

/** Keys where `receiver`'s external cache differs from what `sender` has live, as the wire would carry it. */
function divergence(sender: Node, receiver: Node): string[] {
  const want = new Map<string, string>();
  for (const [key, obj] of sender.internal) {
    if (obj.state !== 'dead') want.set(key, wireForm(obj.flow));
  }
  const bad: string[] = [];
  for (const [key, text] of want) if (!receiver.external.has(key) || wireForm(receiver.external.get(key)!) !== text) bad.push(key);
  for (const key of receiver.external.keys()) if (!want.has(key)) bad.push(key);
  return bad;
}

/** A flow as its peer sees it: encoded and decoded once. */
function wireForm(flow: Flow): string {
  const bytes = encodeMessage({ type: MessageType.CT_NEW, flags: 0, seq: 0, flow });
  return JSON.stringify((decodeFrame(readFrames(bytes).frames[0]!) as FlowMessage).flow);
}
