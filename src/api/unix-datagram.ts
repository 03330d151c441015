/**
 * Datagrams to local AF_UNIX sockets, which Node's dgram module cannot send:
 * what a daemon needs for syslog (`/dev/log`) and for systemd's readiness
 * protocol (`$NOTIFY_SOCKET`).
 */
import { unixDatagramSend } from '../netlink/socket';
import { errnoName } from '../netlink/errors';

/**
 * Sends `data` as one datagram to the socket at `address`: a path, or
 * `@name` for an abstract socket (systemd's notation). Never blocks: when
 * the receiver's queue is full the datagram is dropped. Throws a
 * Node-style system error (`code`, `errno`, `syscall: 'sendto'`) on failure.
 *
 * ```ts
 * sendUnixDatagram(process.env.NOTIFY_SOCKET!, 'READY=1');
 * ```
 */
export function sendUnixDatagram(address: string, data: string | Buffer): void {
  const sunPath = address.startsWith('@') ? Buffer.concat([Buffer.alloc(1), Buffer.from(address.slice(1))]) : Buffer.from(address);
  const r = unixDatagramSend(sunPath, typeof data === 'string' ? Buffer.from(data) : data);
  if (r < 0) throw systemError(-r);
}

function systemError(errno: number): NodeJS.ErrnoException {
  const code = errnoName(errno);
  return Object.assign(new Error(`sendto ${code}`), { code, errno: -errno, syscall: 'sendto' });
}
