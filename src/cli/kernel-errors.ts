import { DumpInterruptedError, NetlinkError, ProtocolError } from '../api/errors';
import { COMMAND_KINDS, type CommandSelection } from './options';
import { OtherProblem } from './problems';
import { strerror } from '../libc/strerror';

const EPERM = 1;
const EINTR = 4;
const ENOENT = 2;
const ENOMEM = 12;
const EEXIST = 17;
const EINVAL = 22;
const EPROTO = 71;
const EAFNOSUPPORT = 97;
const ETIME = 62;
const ENOTSUPP = 524;

/**
 * 1.4.7's err2str(): a few (errno, command) pairs have their own text, the
 * rest is strerror(). The EINVAL row covers the first 16 internal command
 * kinds (a 0xFFFF bit mask in the C source), so `-A` and `-S` say
 * "Invalid argument" where `-I` says "invalid parameters".
 */
export function kernelMessage(errno: number, command: CommandSelection): string {
  const kind = COMMAND_KINDS.indexOf(command as (typeof COMMAND_KINDS)[number]);
  const is = (...kinds: CommandSelection[]): boolean => kinds.includes(command);
  if (errno === ENOTSUPP && is('CT_LIST')) return 'function not implemented';
  if (errno === EINVAL && kind >= 0 && kind < 16) return 'invalid parameters';
  if (errno === EEXIST && is('CT_CREATE')) return 'Such conntrack exists, try -U to update';
  if (errno === ENOENT && is('CT_CREATE', 'CT_GET', 'CT_DELETE', 'CT_ADD')) return "such conntrack doesn't exist";
  if (errno === ENOMEM && is('CT_CREATE', 'CT_GET', 'CT_ADD')) return 'not enough memory';
  if (errno === EAFNOSUPPORT && is('CT_GET')) return 'protocol not supported';
  if (errno === ETIME && is('CT_CREATE', 'CT_ADD')) return 'conntrack has expired';
  if (errno === ENOENT && is('EXP_CREATE')) return 'master conntrack not found';
  if (errno === EPERM) return 'sorry, you must be root or get CAP_NET_ADMIN capability to do this';
  return strerror(errno);
}

/**
 * The errno a library failure stands for, as libmnl reports it: a malformed
 * reply is EPROTO, a dump the kernel flagged NLM_F_DUMP_INTR is EINTR.
 */
export function errnoOf(err: unknown): number | undefined {
  if (err instanceof NetlinkError) return err.positiveErrno;
  if (err instanceof ProtocolError) return EPROTO;
  if (err instanceof DumpInterruptedError) return EINTR;
  return undefined;
}

/** The calls that set a socket up: a failure there is no answer of the kernel to a request. */
const SOCKET_SETUP = new Set(['open', 'setns', 'socket', 'bind', 'setsockopt', 'getsockopt']);

/** Whether opening the socket failed (in --netns: opening or entering the namespace). */
export function isSocketSetupFailure(err: unknown): boolean {
  return err instanceof NetlinkError && SOCKET_SETUP.has(err.syscall);
}

/** Whether entering the `--netns` namespace failed (its file could not be opened or joined). */
export function isNamespaceFailure(err: unknown): boolean {
  return err instanceof NetlinkError && (err.syscall === 'open' || err.syscall === 'setns');
}

/**
 * The errno when joining the event groups failed (setsockopt
 * NETLINK_ADD_MEMBERSHIP: EPERM without CAP_NET_ADMIN), else undefined.
 */
export function subscribeErrno(err: unknown): number | undefined {
  const { syscall, errno } = err as NodeJS.ErrnoException;
  return err instanceof Error && syscall === 'setsockopt' && typeof errno === 'number' ? Math.abs(errno) : undefined;
}

/** `Operation failed: MSG` for a failed kernel request; other errors pass through. */
export function operationFailed(err: unknown, command: CommandSelection): unknown {
  const errno = errnoOf(err);
  return errno === undefined ? err : new OtherProblem(`Operation failed: ${kernelMessage(errno, command)}`);
}
