/**
 * The datagram sync links, UDP and Multicast: thin shells around two
 * sockets that know nothing of sync messages (datagrams in, datagrams out,
 * the link's counters for `-s link`). `openUdpChannel` and
 * `openMulticastChannel` (udp.ts, multicast.ts) set the sockets up; this
 * class moves the datagrams.
 *
 * `SndSocketBuffer` / `RcvSocketBuffer` set the buffers with
 * SO_SNDBUFFORCE / SO_RCVBUFFORCE, as 1.4.7 does, so that the system's
 * `rmem_max` does not cap them. Without `RcvSocketBuffer` the receive
 * buffer is `DEFAULT_RECEIVE_BUFFER`, not the system's default (1.4.7's):
 * a bulk send or a burst queues thousands of datagrams at once, and what
 * overflows a small buffer comes back only after NACKs and resends.
 * `Checksum off` has no equivalent in Node (SO_NO_CHECK) and is ignored:
 * datagrams always carry a checksum, which every receiver accepts.
 *
 * A unicast link knows its peer: a datagram from any other address is
 * dropped unread and counted (`receiveForeign`), so that a host that can
 * reach the sync port cannot feed flows into the external cache. 1.4.7
 * takes sync traffic from anyone.
 */
import dgram from 'node:dgram';
import { once } from 'node:events';
import net from 'node:net';
import { forceSocketBuffers, receiveDrops } from '../../../api/socket-buffers';
import type { ChannelConfig } from '../../config/config';
import { newChannelCounters, type ChannelCounters } from '../../stats/counters';

export class DatagramChannel {
  readonly counters: ChannelCounters = newChannelCounters();
  private onDatagram: (datagram: Buffer) => void = () => {};

  /**
   * `to`: where every datagram goes (the peer, or the group); `peer`: the
   * only source address accepted (none for a group, whose members are not
   * configured).
   */
  constructor(
    private readonly receiver: dgram.Socket,
    private readonly sender: dgram.Socket,
    private readonly to: { address: string; port: number },
    peer?: string,
  ) {
    const accepted = peer === undefined ? undefined : unscoped(peer);
    // The verdict on the last source seen: datagrams come from the peer, one
    // address, and unscoped() costs two regular expressions a datagram.
    let lastFrom = '';
    let lastAccepted = false;
    receiver.on('message', (msg, from) => {
      if (accepted !== undefined && from.address !== lastFrom) {
        lastFrom = from.address;
        lastAccepted = unscoped(from.address) === accepted;
      }
      if (accepted !== undefined && !lastAccepted) {
        this.counters.receiveForeign++;
        return;
      }
      this.counters.packetsReceived++;
      this.counters.bytesReceived += msg.length;
      this.onDatagram(msg);
    });
    receiver.on('error', () => this.counters.receiveErrors++);
    sender.on('error', () => this.counters.sendErrors++);
  }

  /** Where received datagrams go (one handler; a later call replaces it). */
  onReceive(handler: (datagram: Buffer) => void): void {
    this.onDatagram = handler;
  }

  /** Sends one datagram; a failure is counted, not thrown (FTFW's NACKs recover). */
  send(datagram: Buffer): void {
    this.sender.send(datagram, this.to.port, this.to.address, (err) => {
      if (err) {
        this.counters.sendErrors++;
        return;
      }
      this.counters.packetsSent++;
      this.counters.bytesSent += datagram.length;
    });
  }

  /** Datagrams the kernel dropped because the receive buffer was full (0 where it does not say). */
  receiveDrops(): number {
    return receiveDrops(this.receiver) ?? 0;
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

/** The receive buffer asked for when the config sets none: a bulk send of 100,000 flows is about 10 MB of datagrams. */
export const DEFAULT_RECEIVE_BUFFER = 16 << 20;

/** The two unconfigured sockets of a block. */
export function createSockets(config: ChannelConfig): { receiver: dgram.Socket; sender: dgram.Socket } {
  const type = config.family === 6 ? 'udp6' : 'udp4';
  const lookup = literalLookup(config.family === 6 ? 6 : 4);
  return { receiver: dgram.createSocket({ type, reuseAddr: true, lookup }), sender: dgram.createSocket({ type, lookup }) };
}

/**
 * The sockets' name lookup: a link's addresses are literals (the config
 * takes nothing else), handed back at once. Node's default, dns.lookup,
 * answers a literal only on the next tick, after a regular expression:
 * for every datagram sent, thousands in a bulk send.
 */
function literalLookup(family: 4 | 6): NonNullable<dgram.SocketOptions['lookup']> {
  return (address, _options, callback) => callback(null, address, family);
}

/** Binds `socket`; a failure (EADDRNOTAVAIL: the address is not on this host…) rejects. */
export async function bindSocket(socket: dgram.Socket, port: number, address?: string): Promise<void> {
  // Listened for first: with a lookup that answers at once, bind() says 'listening' (or 'error') before it returns.
  const bound = Promise.race([once(socket, 'listening'), once(socket, 'error').then(([e]) => Promise.reject(e as Error))]);
  socket.bind(port, address);
  await bound;
}

/** Runs `setup` (which binds the sockets), then sizes their buffers; on failure closes both sockets and rethrows, as a failed set-up must stop the daemon. */
export async function openOrClose(
  config: ChannelConfig,
  sockets: { receiver: dgram.Socket; sender: dgram.Socket },
  setup: () => Promise<{ address: string; port: number }>,
  peer?: string,
): Promise<DatagramChannel> {
  try {
    const to = await setup();
    // Bound now, the sockets have their descriptors.
    forceSocketBuffers(sockets.receiver, { receive: config.rcvSocketBuffer ?? DEFAULT_RECEIVE_BUFFER });
    if (config.sndSocketBuffer !== undefined) forceSocketBuffers(sockets.sender, { send: config.sndSocketBuffer });
    return new DatagramChannel(sockets.receiver, sockets.sender, to, peer);
  } catch (err) {
    sockets.receiver.close();
    sockets.sender.close();
    throw err;
  }
}

/**
 * An address in one spelling, for comparing: without its IPv6 scope
 * (`fe80::1%eth0` → `fe80::1`) and in canonical form (`2001:DB8:0::2` →
 * `2001:db8::2`).
 */
export function unscoped(address: string): string {
  const bare = address.replace(/%.*$/, '');
  return net.isIPv6(bare) ? new net.SocketAddress({ address: bare, family: 'ipv6' }).address : bare;
}

/** A link-local IPv6 address needs the interface as its scope. */
export function scoped(address: string, config: ChannelConfig): string {
  return config.family === 6 && /^fe80:/i.test(address) && config.interface ? `${address}%${config.interface}` : address;
}
