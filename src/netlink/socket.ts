import { join } from 'node:path';
import { NetlinkOption, SOL_NETLINK, SOL_SOCKET, SocketOption } from './constants';

/** The native addon's surface (native/netlink_socket.c). */
interface Addon {
  open(protocol: number, netnsPath?: string): number;
  bind(fd: number, groups: number): number;
  setsockopt(fd: number, level: number, name: number, value: number): void;
  getsockopt(fd: number, level: number, name: number): number;
  attachFilter(fd: number, program: Buffer): void;
  send(fd: number, buffers: Buffer[]): number;
  recv(fd: number, buffer: Buffer): number;
  close(fd: number): void;
  pollCreate(fd: number, onReadable: (status: number, events: number) => void): object;
  pollStart(handle: object): void;
  pollStop(handle: object): void;
  pollClose(handle: object): void;
}

let addon: Addon | undefined;
function native(): Addon {
  // Loaded on first use so that importing the package has no side effects.
  addon ??= require(join(__dirname, '..', '..', '..', 'build', 'Release', 'netlink_socket.node')) as Addon;
  return addon;
}

/**
 * What the request engine needs from a socket. The real one is NetlinkSocket;
 * tests substitute a fake kernel ("request in, replies out").
 */
export interface Transport {
  readonly portid: number;
  /** One sendmsg of all buffers; returns bytes sent or a negative errno. */
  send(buffers: Buffer[]): number;
  /** One datagram into buf; its length (more than buf.length = truncated) or a negative errno (-EAGAIN when empty). */
  recv(buf: Buffer): number;
  /** Calls onReadable whenever data may be waiting, until pause() or close(). */
  resume(onReadable: () => void): void;
  pause(): void;
  close(): void;
}

export interface SocketOptions {
  /** Network namespace to open the socket in: a name under /run/netns or a path. */
  netns?: string;
  /** Multicast groups as bind() bits (1 << (group - 1)). */
  groups?: number;
  /** NETLINK_NETFILTER by default. */
  protocol?: number;
}

/** Resolves `--netns NAME|PATH` the way `ip netns` names them. */
export function netnsPath(netns: string): string {
  return netns.includes('/') ? netns : `/run/netns/${netns}`;
}

/** A non-blocking AF_NETLINK socket bound to a kernel-assigned port id. */
export class NetlinkSocket implements Transport {
  readonly fd: number;
  readonly portid: number;
  private poller: object | undefined;
  private polling = false;
  private closed = false;
  private readable: () => void = () => {};

  private constructor(fd: number, portid: number) {
    this.fd = fd;
    this.portid = portid;
  }

  static open(options: SocketOptions = {}): NetlinkSocket {
    const n = native();
    const fd = n.open(options.protocol ?? 12, options.netns === undefined ? undefined : netnsPath(options.netns));
    try {
      return new NetlinkSocket(fd, n.bind(fd, options.groups ?? 0));
    } catch (err) {
      n.close(fd);
      throw err;
    }
  }

  send(buffers: Buffer[]): number {
    return native().send(this.fd, buffers);
  }

  recv(buf: Buffer): number {
    return native().recv(this.fd, buf);
  }

  resume(onReadable: () => void): void {
    if (this.closed || this.polling) return;
    this.poller ??= native().pollCreate(this.fd, () => this.onPoll());
    this.readable = onReadable;
    this.polling = true;
    native().pollStart(this.poller);
  }

  pause(): void {
    if (!this.polling || !this.poller) return;
    this.polling = false;
    native().pollStop(this.poller);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.polling = false;
    if (this.poller) native().pollClose(this.poller);
    native().close(this.fd);
  }

  setOption(level: typeof SOL_SOCKET | typeof SOL_NETLINK, name: SocketOption | NetlinkOption, value: number): void {
    native().setsockopt(this.fd, level, name, value);
  }

  getOption(level: typeof SOL_SOCKET | typeof SOL_NETLINK, name: SocketOption | NetlinkOption): number {
    return native().getsockopt(this.fd, level, name);
  }

  /**
   * Sets the receive buffer. SO_RCVBUFFORCE lifts the rmem_max cap but needs
   * CAP_NET_ADMIN; without it fall back to SO_RCVBUF. Returns the size the
   * kernel reports afterwards (it doubles the request for bookkeeping).
   */
  setReceiveBuffer(bytes: number): number {
    try {
      this.setOption(SOL_SOCKET, SocketOption.SO_RCVBUFFORCE, bytes);
    } catch {
      this.setOption(SOL_SOCKET, SocketOption.SO_RCVBUF, bytes);
    }
    return this.getOption(SOL_SOCKET, SocketOption.SO_RCVBUF);
  }

  joinGroup(group: number): void {
    this.setOption(SOL_NETLINK, NetlinkOption.ADD_MEMBERSHIP, group);
  }

  leaveGroup(group: number): void {
    this.setOption(SOL_NETLINK, NetlinkOption.DROP_MEMBERSHIP, group);
  }

  attachFilter(program: Buffer): void {
    native().attachFilter(this.fd, program);
  }

  /** Sets an int option and ignores kernels that do not know it (older kernels lack EXT_ACK, GET_STRICT_CHK). */
  trySetOption(name: NetlinkOption, value: number): boolean {
    try {
      this.setOption(SOL_NETLINK, name, value);
      return true;
    } catch (err) {
      if (err instanceof Error && (err as NodeJS.ErrnoException).code === 'ENOPROTOOPT') return false;
      throw err;
    }
  }

  private onPoll(): void {
    if (this.polling) this.readable();
  }
}
