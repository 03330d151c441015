/**
 * `Sync { TCP { … } }`: each node listens on `IPv4_address`:`Port` (one
 * peer at a time: a new connection replaces the old one) and connects to
 * `IPv4_Destination_Address`:`Port`; each direction has its own connection,
 * as in 1.4.7. Received bytes are cut into whole messages (a read may end
 * inside one); what is handed on is always whole messages.
 *
 * The client connects when there is something to send, at most once a
 * second. While it is down, datagrams wait in the error queue
 * (`ErrorQueueLength`, 128 by default; the oldest is dropped when full) and
 * go out before newer data once connected. Connections use SO_KEEPALIVE.
 *
 * Only the peer (`IPv4_Destination_Address`) may connect: a connection from
 * any other address is closed at once and counted (`receiveForeign`), and
 * does not replace the peer's.
 */
import net from 'node:net';
import { once } from 'node:events';
import type { ChannelConfig } from '../../config/config';
import { newChannelCounters, type ChannelCounters, type TcpConnectionState } from '../../stats/counters';
import { StreamReassembler } from '../stream';
import { unscoped } from './datagram';

const RECONNECT_INTERVAL_MS = 1000;
const DEFAULT_ERROR_QUEUE_LENGTH = 128;

export class TcpChannel {
  readonly counters: ChannelCounters = newChannelCounters();
  private onMessages: (messages: Buffer) => void = () => {};
  private peer: net.Socket | undefined;
  private client: net.Socket | undefined;
  private clientUp = false;
  private lastAttempt = -Infinity;
  private readonly errorQueue: Buffer[] = [];

  private constructor(
    private readonly config: ChannelConfig & { address: string; destination: string; port: number },
    private readonly server: net.Server,
    private readonly now: () => number,
  ) {
    server.on('connection', (socket) => this.accept(socket));
  }

  /**
   * Starts listening; the client connects on the first send.
   * `now` is the clock for the reconnect rate limit (Date.now in the daemon).
   * @throws RangeError for an incomplete block, or the listening socket's error.
   */
  static async open(config: ChannelConfig, now: () => number = Date.now): Promise<TcpChannel> {
    const { address, destination, port } = config;
    if (address === undefined || destination === undefined || port === undefined) {
      throw new RangeError('a TCP sync link needs its address, destination address and port');
    }
    const server = net.createServer();
    server.listen({ port, host: address, backlog: 1 });
    await Promise.race([once(server, 'listening'), once(server, 'error').then(([e]) => Promise.reject(e as Error))]);
    return new TcpChannel({ ...config, address, destination, port }, server, now);
  }

  /** Where received messages go: one or more whole messages per call. */
  onReceive(handler: (messages: Buffer) => void): void {
    this.onMessages = handler;
  }

  /** Sends whole messages to the peer, or queues them until the client is connected. */
  send(messages: Buffer): void {
    if (!this.clientUp) {
      this.queue(messages);
      this.connect();
      return;
    }
    this.write(messages);
  }

  /** The two connections, as `-s` shows them. */
  get state(): { server: TcpConnectionState; client: TcpConnectionState } {
    return { server: this.peer ? 'connected' : 'disconnected', client: this.clientUp ? 'connected' : 'disconnected' };
  }

  close(): void {
    this.server.close();
    this.peer?.destroy();
    this.client?.destroy();
  }

  private accept(socket: net.Socket): void {
    if (socket.remoteAddress === undefined || unscoped(socket.remoteAddress) !== unscoped(this.config.destination)) {
      this.counters.receiveForeign++;
      socket.destroy();
      return;
    }
    this.peer?.destroy();
    this.peer = socket;
    socket.setKeepAlive(true);
    const stream = new StreamReassembler();
    socket.on('data', (chunk: Buffer) => {
      this.counters.bytesReceived += chunk.length;
      const { frames, bytes } = stream.push(chunk);
      this.counters.packetsReceived += frames.length;
      if (bytes.length > 0) this.onMessages(bytes);
    });
    socket.on('error', () => this.counters.receiveErrors++);
    socket.on('close', () => {
      if (this.peer === socket) this.peer = undefined;
    });
  }

  private connect(): void {
    const now = this.now();
    if (this.client || now - this.lastAttempt < RECONNECT_INTERVAL_MS) return;
    this.lastAttempt = now;
    const client = net.connect({ host: this.config.destination, port: this.config.port, localAddress: this.config.address });
    this.client = client;
    client.setKeepAlive(true);
    client.on('connect', () => {
      this.clientUp = true;
      for (const queued of this.errorQueue.splice(0)) this.write(queued);
    });
    client.on('error', () => this.counters.sendErrors++);
    client.on('close', () => {
      if (this.client !== client) return;
      this.client = undefined;
      this.clientUp = false;
    });
  }

  private write(messages: Buffer): void {
    this.client!.write(messages, (err) => {
      if (err) {
        this.counters.sendErrors++;
        this.queue(messages);
        return;
      }
      this.counters.packetsSent++;
      this.counters.bytesSent += messages.length;
    });
  }

  private queue(messages: Buffer): void {
    if (this.errorQueue.length >= (this.config.errorQueueLength ?? DEFAULT_ERROR_QUEUE_LENGTH)) this.errorQueue.shift();
    this.errorQueue.push(messages);
  }
}
