/**
 * `Sync { Multicast { … } }` (`Group` is the UDP port, not a group id):
 * - receive: joins the group `IPv4_address` on the interface whose address
 *   is `IPv4_interface` (IPv6: the group `IPv6_address` on `Interface`) and
 *   binds the group address and port, with SO_REUSEADDR. 1.4.7 binds the
 *   wildcard address and so also takes unicast datagrams to that port and
 *   the group's traffic from other interfaces; binding the group does not;
 * - send: to the group and port, out of that interface, TTL 1, without
 *   looping our own datagrams back to us.
 */
import type { ChannelConfig } from '../../config/config';
import { DatagramChannel, bindSocket, createSockets, openOrClose } from './datagram';

/** @throws RangeError for an incomplete block, or the socket's error. */
export async function openMulticastChannel(config: ChannelConfig): Promise<DatagramChannel> {
  const { address: group, port } = config;
  const v6 = config.family === 6;
  const iface = v6 ? (config.interface === undefined ? undefined : `::%${config.interface}`) : config.interfaceAddress;
  if (group === undefined || port === undefined || iface === undefined) {
    throw new RangeError('a Multicast sync link needs its group address, Group (port) and interface');
  }
  const sockets = createSockets(config);
  return openOrClose(config, sockets, async () => {
    await bindSocket(sockets.receiver, port, group);
    sockets.receiver.addMembership(group, iface);
    await bindSocket(sockets.sender, 0);
    sockets.sender.setMulticastInterface(iface);
    sockets.sender.setMulticastLoopback(false);
    sockets.sender.setMulticastTTL(1);
    return { address: group, port };
  });
}
