import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MemInfo, NetlinkOption, SOL_NETLINK, SOL_SOCKET, SocketOption } from './constants';
import { NetlinkError } from './errors';

/** The native addon's surface (native/netlink_socket.c). */
interface Addon {
  open(protocol: number, netnsPath?: string): number;
  bind(fd: number, groups: number): number;
  setsockopt(fd: number, level: number, name: number, value: number): void;
  getsockopt(fd: number, level: number, name: number): number;
  getsockoptBuffer(fd: number, level: number, name: number, buffer: Buffer): number;
  attachFilter(fd: number, program: Buffer): void;
  send(fd: number, buffers: Buffer[]): number;
  recv(fd: number, buffer: Buffer): number;
  close(fd: number): void;
  unixDatagramSend(address: Buffer, data: Buffer): number;
  pollCreate(fd: number, onReadable: (status: number, events: number) => void): object;
  pollStart(handle: object): void;
  pollStop(handle: object): void;
  pollClose(handle: object): void;
  readAheadStart(fd: number, ringBytes: number, wakeDelayUs: number, onReadable: () => void): object;
  readAheadRecv(handle: object, buffer: Buffer): number;
  readAheadRef(handle: object, on: boolean): void;
  readAheadBacklog(handle: object): number;
  populate(buffer: Buffer, offset: number, length: number): number;
  writerStart(fd: number, onFailure: () => void): object;
  writerSend(handle: object, buffers: Buffer[]): number;
  writerFinished(handle: object): number;
  writerFailures(handle: object): number[];
  writerStop(handle: object): void;
  readAheadStop(handle: object): void;
}

/** The addon's calls that throw Node-style system errors (the others return a negative errno). */
const THROWING = ['open', 'bind', 'setsockopt', 'getsockopt', 'getsockoptBuffer', 'attachFilter'] as const;

const PACKAGE_ROOT = join(__dirname, '..', '..', '..');

/**
 * Where the addon may be, best first: the one built from source on this
 * machine (`npm install` builds it when no prebuilt one fits, `npm rebuild`
 * always), then the one the package ships for linux-x64 with glibc.
 */
export function* addonCandidates(root: string, platform: string, arch: string, glibc: () => boolean): Generator<string> {
  yield join(root, 'build', 'Release', 'netlink_socket.node');
  // Asked only when there is no local build: a process report costs milliseconds at start-up.
  if (platform === 'linux' && glibc()) yield join(root, 'prebuilds', `${platform}-${arch}-glibc`, 'netlink_socket.node');
}

/** Whether this process runs on glibc (the prebuilt addon's C library). */
function isGlibc(): boolean {
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return report?.header?.glibcVersionRuntime !== undefined;
}

/** Loads the first candidate that exists and loads; one clear error when none does. */
function loadAddon(): Addon {
  const failures: string[] = [];
  for (const file of addonCandidates(PACKAGE_ROOT, process.platform, process.arch, isGlibc)) {
    if (!existsSync(file)) continue;
    try {
      return require(file) as Addon;
    } catch (err) {
      failures.push(`${file}: ${(err as Error).message}`);
    }
  }
  throw new Error(
    `conntrack-ts: no usable netlink addon${failures.length ? ` (${failures.join('; ')})` : ''}; ` +
      'build it with `npm rebuild conntrack-ts` (needs python3, make and a C compiler)',
  );
}

let addon: Addon | undefined;
function native(): Addon {
  // Loaded on first use so that importing the package has no side effects.
  addon ??= withNetlinkErrors(loadAddon());
  return addon;
}

/** Maps the whole pages of buffer[offset, offset + length) now (MADV_POPULATE_WRITE); 0 or a negative errno. */
export function populate(buffer: Buffer, offset: number, length: number): number {
  return native().populate(buffer, offset, length);
}

/**
 * One datagram to an AF_UNIX datagram socket (`address`: sun_path's bytes, a
 * leading NUL for an abstract name), which Node's dgram cannot do. Never
 * blocks; returns the bytes sent or a negative errno.
 */
export function unixDatagramSend(address: Buffer, data: Buffer): number {
  return native().unixDatagramSend(address, data);
}

/**
 * Sets an int-valued option of any socket (`fd` need not be netlink's): the
 * buffer sizes beyond `rmem_max` / `wmem_max` that SO_RCVBUFFORCE and
 * SO_SNDBUFFORCE give a privileged process, which Node's own sockets cannot
 * ask for. Throws NetlinkError (EPERM without CAP_NET_ADMIN…).
 */
function setIntSocketOption(fd: number, level: number, name: number, value: number): void {
  native().setsockopt(fd, level, name, value);
}

/**
 * Sets a buffer of any socket to `bytes` with the `forced` option
 * (SO_RCVBUFFORCE / SO_SNDBUFFORCE: past the system's limit, with
 * CAP_NET_ADMIN), else the `plain` one, which the system caps. True when the
 * plain option capped the size below `bytes`.
 */
export function forceBuffer(fd: number, forced: SocketOption, plain: SocketOption, bytes: number): boolean {
  try {
    setIntSocketOption(fd, SOL_SOCKET, forced, bytes);
    return false;
  } catch {
    setIntSocketOption(fd, SOL_SOCKET, plain, bytes);
    // The kernel doubles what it grants; half of it is what the request became.
    return getIntSocketOption(fd, SOL_SOCKET, plain) / 2 < bytes;
  }
}

/** Reads an int-valued option of any socket. */
export function getIntSocketOption(fd: number, level: number, name: number): number {
  return native().getsockopt(fd, level, name);
}

/**
 * The receive accounting of any socket (SO_MEMINFO): bytes queued for
 * reading and messages dropped because they did not fit. Undefined where
 * the kernel lacks SO_MEMINFO (before Linux 4.12).
 */
export function receiveQueueOf(fd: number): { queued: number; drops: number } | undefined {
  const info = Buffer.alloc(MemInfo.VARS * 4);
  let length: number;
  try {
    length = native().getsockoptBuffer(fd, SOL_SOCKET, SocketOption.SO_MEMINFO, info);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOPROTOOPT') return undefined;
    throw err;
  }
  if (length < MemInfo.VARS * 4) return undefined;
  return { queued: info.readUInt32LE(MemInfo.RMEM_ALLOC * 4), drops: info.readUInt32LE(MemInfo.DROPS * 4) };
}

/**
 * The addon with its system errors (socket, setns, bind, setsockopt …) turned
 * into NetlinkError, the one error type the library documents for what the
 * kernel refused.
 */
function withNetlinkErrors(raw: Addon): Addon {
  // The addon's functions are read-only, non-enumerable properties: copy them by name.
  const wrapped: Record<string, unknown> = {};
  for (const name of Object.getOwnPropertyNames(raw)) wrapped[name] = (raw as unknown as Record<string, unknown>)[name];
  for (const name of THROWING) {
    const call = raw[name] as (...args: unknown[]) => unknown;
    wrapped[name] = (...args: unknown[]): unknown => {
      try {
        return call(...args);
      } catch (err) {
        const { errno, syscall } = err as NodeJS.ErrnoException;
        if (typeof errno === 'number' && typeof syscall === 'string') throw new NetlinkError(errno, syscall);
        throw err;
      }
    };
  }
  return wrapped as unknown as Addon;
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
  /** The kernel's receive accounting (bytes queued, messages dropped), where the transport knows it. */
  receiveQueue?(): { queued: number; drops: number } | undefined;
  /** Changes the receive buffer and returns the size in effect, where the transport has one. */
  setReceiveBuffer?(bytes: number): number;
  /** Datagrams received ahead and not returned by recv() yet, where the transport reads ahead. */
  backlog?(): number;
  /**
   * Queues one sendmsg of all buffers for a sending thread, where the
   * transport has one (false: send() it). The buffers may be reused at once;
   * `failed` hears the errno if the sendmsg fails.
   */
  sendLater?(buffers: Buffer[], failed: (errno: number) => void): boolean;
}

export interface SocketOptions {
  /** Network namespace to open the socket in: a name under /run/netns or a path. */
  netns?: string;
  /** Multicast groups as bind() bits (1 << (group - 1)). */
  groups?: number;
  /** NETLINK_NETFILTER by default. */
  protocol?: number;
  /**
   * Bytes of datagrams a thread of its own receives ahead (0: none). A dump
   * does its work inside the recvmsg() that fetches the next datagram, so
   * receiving on a second core lets the kernel produce the dump while this
   * thread decodes it. Memory stays bounded by this size.
   */
  readAhead?: number;
  /**
   * With readAhead: how long (µs) datagrams may wait before they wake the
   * loop that found none (0: at once). Datagrams that come one by one (a
   * burst of events) then cost one wake-up per this period, not one each,
   * and a wake-up costs the loop more than a datagram does.
   */
  wakeDelay?: number;
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
  private reader: object | undefined;
  private writer: object | undefined;
  /** What to tell when a send of the writer fails, by token, for the sends not known to be finished. */
  private readonly unfinished = new Map<number, (errno: number) => void>();
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
      const socket = new NetlinkSocket(fd, n.bind(fd, options.groups ?? 0));
      if (options.readAhead) socket.readAhead(options.readAhead, options.wakeDelay);
      return socket;
    } catch (err) {
      n.close(fd);
      throw err;
    }
  }

  /**
   * From now on a thread of its own receives up to `bytes` of datagrams
   * ahead (see SocketOptions.readAhead, and wakeDelay). For when a dump or a
   * bulk change starts: a single request is answered sooner without the hand-over.
   */
  readAhead(bytes: number, wakeDelay = 0): void {
    if (this.reader || this.closed) return;
    const polling = this.polling;
    if (polling && this.poller) native().pollStop(this.poller);
    this.reader = native().readAheadStart(this.fd, bytes, wakeDelay, () => this.onPoll());
    if (polling) native().readAheadRef(this.reader, true);
  }

  /**
   * From now on a thread of its own sends (sendLater), in order, while the
   * caller writes what comes next: the kernel makes a change inside the
   * sendmsg() that carries it, so a bulk change's kernel work moves to a
   * second core. Replies come on the socket as before.
   */
  sendBehind(): void {
    if (this.writer || this.closed) return;
    this.writer = native().writerStart(this.fd, () => this.settleSends());
  }

  send(buffers: Buffer[]): number {
    return native().send(this.fd, buffers);
  }

  sendLater(buffers: Buffer[], failed: (errno: number) => void): boolean {
    if (!this.writer) return false;
    this.settleSends();
    const token = native().writerSend(this.writer, buffers);
    if (token < 0) failed(-token);
    else this.unfinished.set(token, failed);
    return true;
  }

  /** Tells the failures of the writer's sends, and forgets the sends finished (the count is read before the failures: see the addon). */
  private settleSends(): void {
    if (!this.writer) return;
    const finished = native().writerFinished(this.writer);
    const failures = native().writerFailures(this.writer);
    for (let i = 0; i < failures.length; i += 2) {
      const failed = this.unfinished.get(failures[i]!);
      this.unfinished.delete(failures[i]!);
      failed?.(-failures[i + 1]!);
    }
    // Tokens were added in increasing order, which is the Map's order.
    for (const token of this.unfinished.keys()) {
      if (token > finished) break;
      this.unfinished.delete(token);
    }
  }

  recv(buf: Buffer): number {
    return this.reader ? native().readAheadRecv(this.reader, buf) : native().recv(this.fd, buf);
  }

  /** Datagrams the read-ahead thread received that recv() has not returned yet (0 without read-ahead). */
  backlog(): number {
    return this.reader ? native().readAheadBacklog(this.reader) : 0;
  }

  resume(onReadable: () => void): void {
    if (this.closed || this.polling) return;
    this.readable = onReadable;
    this.polling = true;
    if (this.reader) {
      native().readAheadRef(this.reader, true);
      return;
    }
    this.poller ??= native().pollCreate(this.fd, () => this.onPoll());
    native().pollStart(this.poller);
  }

  pause(): void {
    if (!this.polling) return;
    this.polling = false;
    if (this.reader) native().readAheadRef(this.reader, false);
    else if (this.poller) native().pollStop(this.poller);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.polling = false;
    // The threads must be gone before their descriptor is.
    if (this.reader) native().readAheadStop(this.reader);
    if (this.writer) native().writerStop(this.writer);
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
    forceBuffer(this.fd, SocketOption.SO_RCVBUFFORCE, SocketOption.SO_RCVBUF, bytes);
    return this.getOption(SOL_SOCKET, SocketOption.SO_RCVBUF);
  }

  /**
   * The kernel's receive accounting of this socket (SO_MEMINFO): bytes
   * queued for reading, and messages dropped because they did not fit —
   * every one, also those of an overrun reported by a single ENOBUFS.
   * Undefined where the kernel lacks SO_MEMINFO (before Linux 4.12).
   */
  receiveQueue(): { queued: number; drops: number } | undefined {
    return receiveQueueOf(this.fd);
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
