/**
 * A minimal sync peer for kernel tests, run inside a namespace:
 *   node dist/test/kernel/sync-peer.js '<json: { mode: SyncMode, channel: ChannelConfig, flows: Flow[] }>'
 * One of our replication machines over our UDP, Multicast or TCP channel,
 * driven the way the daemon's loop will drive it (receive, timers, transmit
 * round, sleep until the next timer), with `flows` as its internal cache.
 * It asks the peer for a resync at start. Each `dump` line on stdin is
 * answered with one JSON line:
 * { external: Flow[], counters: NetworkCounters, link: ChannelCounters }.
 */
import { createInterface } from 'node:readline';
import type { Flow } from '../../src/ctnetlink/flow';
import type { ChannelConfig, SyncMode } from '../../src/conntrackd/config/config';
import { maxBatchSize } from '../../src/conntrackd/sync/batch';
import { transmittedDatagrams } from '../unit/sync-out';
import { openMulticastChannel } from '../../src/conntrackd/sync/channels/multicast';
import { TcpChannel } from '../../src/conntrackd/sync/channels/tcp';
import { openUdpChannel } from '../../src/conntrackd/sync/channels/udp';
import { FtfwReplication } from '../../src/conntrackd/sync/ftfw';
import { MessageType } from '../../src/conntrackd/sync/header';
import { syncKey } from '../../src/conntrackd/sync/key';
import type { DataMessage, FlowMessage } from '../../src/conntrackd/sync/message';
import { NotrackReplication } from '../../src/conntrackd/sync/notrack';
import { AlarmReplication } from '../../src/conntrackd/sync/alarm';
import type { Replication, ReplicationHost, SyncObject } from '../../src/conntrackd/sync/replication';

async function main(): Promise<void> {
  const opts = JSON.parse(process.argv[2]!) as { mode: SyncMode; channel: ChannelConfig; flows: Flow[] };
  const open = { udp: openUdpChannel, multicast: openMulticastChannel, tcp: (c: ChannelConfig) => TcpChannel.open(c) }[opts.channel.kind];
  const channel = await open(opts.channel);
  const internal: SyncObject[] = opts.flows.map((flow) => ({ state: 'new', flow }));
  const external = new Map<string, Flow>();
  const host: ReplicationHost = {
    forEachInternal: (visit: (obj: SyncObject) => void) => {
      for (const obj of internal) visit(obj);
    },
    applyExternal(msg: DataMessage) {
      if (!('flow' in msg)) return;
      if (msg.type === MessageType.CT_DEL) external.delete(syncKey(msg));
      else external.set(syncKey(msg), (msg as FlowMessage).flow);
    },
    release() {},
    expireExternal(msg: DataMessage) {
      external.delete(syncKey(msg));
    },
  };
  const config = { resendQueueSize: 131072, ackWindowSize: 300, refreshTime: 2, cacheTimeout: 10, tcpWindowTracking: false };
  const mode: Replication =
    opts.mode === 'ftfw'
      ? new FtfwReplication(host, config, Date.now())
      : opts.mode === 'notrack'
        ? new NotrackReplication(host, config, Date.now())
        : new AlarmReplication(host, config);
  let timer: NodeJS.Timeout | undefined;
  const turn = (): void => {
    const now = Date.now();
    mode.fireTimers(now);
    for (const d of transmittedDatagrams(mode, now, maxBatchSize(1500, opts.channel.kind))) channel.send(d);
    clearTimeout(timer);
    const next = mode.nextTimer();
    if (next !== undefined) timer = setTimeout(turn, Math.max(0, next - Date.now()));
  };
  channel.onReceive((d) => {
    mode.receive(d, Date.now());
    turn();
  });
  for (const o of internal) mode.changed(o, Date.now());
  mode.requestResync();
  turn();
  for await (const line of createInterface({ input: process.stdin })) {
    if (line !== 'dump') continue;
    process.stdout.write(JSON.stringify({ external: [...external.values()], counters: mode.counters, link: channel.counters }) + '\n');
  }
  clearTimeout(timer);
  channel.close();
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
