/**
 * `Sync { UDP { … } }`:
 * - receive: bound to `IPv4_address` / `IPv6_address` : `Port`, with
 *   SO_REUSEADDR. Unlike 1.4.7, which binds the wildcard address and so
 *   accepts sync traffic from any interface, only the configured address
 *   receives (a link-local IPv6 address gets its scope from `Interface`);
 * - send: an unbound socket (ephemeral source port) to
 *   `IPv4_Destination_Address` / `IPv6_Destination_Address` : `Port`.
 *   Datagrams from any other address than that destination are dropped
 *   and counted.
 */
import type { ChannelConfig } from '../../config/config';
import { DatagramChannel, bindSocket, createSockets, openOrClose, scoped } from './datagram';

/** @throws RangeError for an incomplete block, or the socket's error. */
export async function openUdpChannel(config: ChannelConfig): Promise<DatagramChannel> {
  const { address, destination, port } = config;
  if (address === undefined || destination === undefined || port === undefined) {
    throw new RangeError('a UDP sync link needs its address, destination address and port');
  }
  const sockets = createSockets(config);
  return openOrClose(config, sockets, async () => {
    await bindSocket(sockets.receiver, port, scoped(address, config));
    await bindSocket(sockets.sender, 0);
    return { address: scoped(destination, config), port };
  }, destination);
}
