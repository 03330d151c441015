/**
 * Socket buffers past the system's limits, for the UDP and TCP sockets of
 * a program that also talks to ctnetlink (a sync daemon's links): Node can
 * ask only for SO_RCVBUF / SO_SNDBUF, which the kernel caps at
 * `net.core.rmem_max` / `wmem_max` (often 208 KiB to 4 MiB), while a
 * burst of replicated flows needs tens of MiB queued. With CAP_NET_ADMIN,
 * SO_RCVBUFFORCE / SO_SNDBUFFORCE lift the cap; without it the capped size
 * applies, as Node would have set it.
 */
import dgram from 'node:dgram';
import type net from 'node:net';
import { SOL_SOCKET, SocketOption } from '../netlink/constants';
import { forceBuffer, getIntSocketOption, receiveQueueOf } from '../netlink/socket';

export interface SocketBufferSizes {
  /** Bytes asked for the receive buffer (the kernel reports twice as many, for its bookkeeping). */
  receive?: number;
  /** Bytes asked for the send buffer. */
  send?: number;
}

/** What the kernel granted: the sizes it reports, and whether a request was capped below what was asked. */
export interface SocketBufferResult {
  receive: number;
  send: number;
  capped: boolean;
}

/**
 * Sets the buffers of a bound `dgram.Socket` or a connected `net.Socket`,
 * forcing past the system's limits where the process may.
 *
 * ```ts
 * const { receive, capped } = forceSocketBuffers(socket, { receive: 16 << 20 });
 * ```
 *
 * @throws Error when the socket has no descriptor yet (not bound or not connected).
 */
export function forceSocketBuffers(socket: dgram.Socket | net.Socket, sizes: SocketBufferSizes): SocketBufferResult {
  const fd = descriptorOf(socket);
  if (fd === undefined) throw new Error('the socket has no descriptor yet (bind or connect it first)');
  let capped = false;
  if (sizes.receive !== undefined) capped = forceBuffer(fd, SocketOption.SO_RCVBUFFORCE, SocketOption.SO_RCVBUF, sizes.receive) || capped;
  if (sizes.send !== undefined) capped = forceBuffer(fd, SocketOption.SO_SNDBUFFORCE, SocketOption.SO_SNDBUF, sizes.send) || capped;
  return {
    receive: getIntSocketOption(fd, SOL_SOCKET, SocketOption.SO_RCVBUF),
    send: getIntSocketOption(fd, SOL_SOCKET, SocketOption.SO_SNDBUF),
    capped,
  };
}

/**
 * How many datagrams (or segments) the socket's full receive buffer has
 * dropped since it was opened: the kernel's count, which the program never
 * sees otherwise. Undefined for a socket without a descriptor, or a kernel
 * without SO_MEMINFO (before Linux 4.12).
 */
export function receiveDrops(socket: dgram.Socket | net.Socket): number | undefined {
  const fd = descriptorOf(socket);
  return fd === undefined ? undefined : receiveQueueOf(fd)?.drops;
}

/**
 * The descriptor behind a Node socket. Node documents none: a net.Socket
 * has `_handle.fd`; a dgram.Socket keeps its handle in an internal state
 * object (its `_handle` accessor is deprecated and warns), found here by
 * the shape it has had since Node 10.
 */
function descriptorOf(socket: dgram.Socket | net.Socket): number | undefined {
  if (!(socket instanceof dgram.Socket)) return validFd((socket as unknown as { _handle?: { fd?: number } })._handle?.fd);
  for (const symbol of Object.getOwnPropertySymbols(socket)) {
    const state = (socket as unknown as Record<symbol, { handle?: { fd?: number } } | undefined>)[symbol];
    if (state && typeof state === 'object' && state.handle && 'fd' in state.handle) return validFd(state.handle.fd);
  }
  return undefined;
}

function validFd(fd: number | undefined): number | undefined {
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}
