/**
 * A minimal sync peer for kernel tests, run inside a namespace:
 *   node dist/test/kernel/sync-peer.js '<json: { channel: ChannelConfig, flows: Flow[] }>'
 * Our FTFW machine over our UDP or Multicast channel, driven the way the daemon's loop
 * will drive it (receive, timers, transmit round, sleep until the next
 * timer), with `flows` as its internal cache. It asks the peer for a resync
 * at start. Each `dump` line on stdin is answered with one JSON line:
 * { external: Flow[], counters: NetworkCounters, link: ChannelCounters }.
 */
import { createInterface } from 'node:readline';
import type { Flow } from '../../src/ctnetlink/flow';
import type { ChannelConfig } from '../../src/conntrackd/config/config';
import { batchMessages, maxBatchSize } from '../../src/conntrackd/sync/batch';
import { openMulticastChannel } from '../../src/conntrackd/sync/channels/multicast';
import { openUdpChannel } from '../../src/conntrackd/sync/channels/udp';
import { FtfwReplication } from '../../src/conntrackd/sync/ftfw';
import { MessageType } from '../../src/conntrackd/sync/header';
import { syncKey } from '../../src/conntrackd/sync/key';
import type { DataMessage, FlowMessage } from '../../src/conntrackd/sync/message';
import type { SyncObject } from '../../src/conntrackd/sync/replication';

async function main(): Promise<void> {
  const opts = JSON.parse(process.argv[2]!) as { channel: ChannelConfig; flows: Flow[] };
  const channel = await (opts.channel.kind === 'multicast' ? openMulticastChannel : openUdpChannel)(opts.channel);
  const internal: SyncObject[] = opts.flows.map((flow) => ({ state: 'new', flow }));
  const external = new Map<string, Flow>();
  const ftfw = new FtfwReplication(
    {
      internalObjects: () => internal,
      applyExternal(msg: DataMessage) {
        if (!('flow' in msg)) return;
        if (msg.type === MessageType.CT_DEL) external.delete(syncKey(msg));
        else external.set(syncKey(msg), (msg as FlowMessage).flow);
      },
      release() {},
      expireExternal() {},
    },
    { resendQueueSize: 131072, ackWindowSize: 300, refreshTime: 60, cacheTimeout: 180, tcpWindowTracking: false },
    Date.now(),
  );
  let timer: NodeJS.Timeout | undefined;
  const turn = (): void => {
    const now = Date.now();
    ftfw.fireTimers(now);
    for (const d of batchMessages(ftfw.transmit(now), maxBatchSize(1500, 'udp'))) channel.send(d);
    clearTimeout(timer);
    timer = setTimeout(turn, Math.max(0, ftfw.nextTimer() - Date.now()));
  };
  channel.onReceive((d) => {
    ftfw.receive(d, Date.now());
    turn();
  });
  for (const o of internal) ftfw.changed(o);
  ftfw.requestResync();
  turn();
  for await (const line of createInterface({ input: process.stdin })) {
    if (line !== 'dump') continue;
    process.stdout.write(JSON.stringify({ external: [...external.values()], counters: ftfw.counters, link: channel.counters }) + '\n');
  }
  clearTimeout(timer);
  channel.close();
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
