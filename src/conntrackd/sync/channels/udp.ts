/**
 * The UDP sync link (`Sync { UDP { … } }`): a thin shell around two
 * datagram sockets. It knows nothing of sync messages: datagrams in,
 * datagrams out, and the link's counters for `-s link`.
 *
 * - receive: bound to `IPv4_address` / `IPv6_address` : `Port` with
 *   SO_REUSEADDR. Unlike 1.4.7, which binds the wildcard address and so
 *   accepts sync traffic from any interface, only the configured address
 *   receives (link-local IPv6 addresses get their scope from `Interface`);
 * - send: an unbound socket (ephemeral source port) to
 *   `IPv4_Destination_Address` / `IPv6_Destination_Address` : `Port`.
 *
 * `SndSocketBuffer` / `RcvSocketBuffer` set SO_SNDBUF / SO_RCVBUF (Node has
 * no SO_*BUFFORCE, so the system's maximum applies). `Checksum off` has no
 * equivalent in Node (SO_NO_CHECK) and is ignored: datagrams always carry
 * a checksum, which every receiver accepts.
 */
import dgram from 'node:dgram';
import { once } from 'node:events';
import type { ChannelConfig } from '../../config/config';
import { newChannelCounters, type ChannelCounters } from '../../stats/counters';

export class UdpChannel {
  readonly counters: ChannelCounters = newChannelCounters();
  private onDatagram: (datagram: Buffer) => void = () => {};

  private constructor(
    private readonly config: ChannelConfig,
    private readonly receiver: dgram.Socket,
    private readonly sender: dgram.Socket,
  ) {
    receiver.on('message', (msg) => {
      this.counters.packetsReceived++;
      this.counters.bytesReceived += msg.length;
      this.onDatagram(msg);
    });
    receiver.on('error', () => this.counters.receiveErrors++);
    sender.on('error', () => this.counters.sendErrors++);
  }

  /**
   * Opens both sockets of a `UDP` block.
   * @throws the socket's error (EADDRNOTAVAIL when the address is not on this host…), as a failed set-up must stop the daemon.
   */
  static async open(config: ChannelConfig): Promise<UdpChannel> {
    if (config.address === undefined || config.destination === undefined || config.port === undefined) {
      throw new RangeError('a UDP sync link needs its address, destination address and port');
    }
    const type = config.family === 6 ? 'udp6' : 'udp4';
    const receiver = dgram.createSocket({ type, reuseAddr: true, recvBufferSize: config.rcvSocketBuffer });
    const sender = dgram.createSocket({ type, sendBufferSize: config.sndSocketBuffer });
    try {
      receiver.bind(config.port, scoped(config.address, config));
      await Promise.race([once(receiver, 'listening'), once(receiver, 'error').then(([e]) => Promise.reject(e))]);
      sender.bind(0);
      await once(sender, 'listening');
    } catch (err) {
      receiver.close();
      sender.close();
      throw err;
    }
    return new UdpChannel(config, receiver, sender);
  }

  /** Where received datagrams go (one handler; a later call replaces it). */
  onReceive(handler: (datagram: Buffer) => void): void {
    this.onDatagram = handler;
  }

  /** Sends one datagram to the peer; a failure is counted, not thrown (the peer's NACKs recover). */
  send(datagram: Buffer): void {
    this.sender.send(datagram, this.config.port, scoped(this.config.destination!, this.config), (err) => {
      if (err) {
        this.counters.sendErrors++;
        return;
      }
      this.counters.packetsSent++;
      this.counters.bytesSent += datagram.length;
    });
  }

  /** The local address and port datagrams are received on. */
  get local(): { address: string; port: number } {
    return this.receiver.address();
  }

  close(): void {
    this.receiver.close();
    this.sender.close();
  }
}

/** A link-local IPv6 address needs the interface as its scope. */
function scoped(address: string, config: ChannelConfig): string {
  return config.family === 6 && /^fe80:/i.test(address) && config.interface ? `${address}%${config.interface}` : address;
}
