import { constants } from 'node:os';

const errnoNames = new Map<number, string>();
for (const [name, value] of Object.entries(constants.errno)) {
  if (!errnoNames.has(value)) errnoNames.set(value, name);
}
// The kernel's internal "not supported" code leaks through some netlink paths.
errnoNames.set(524, 'ENOTSUPP');

/** The symbolic name of a positive errno value (`2` -> `'ENOENT'`). */
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `E${errno}`;
}

/**
 * Everything the kernel (or the socket) said about a failure. Mirrors Node's
 * SystemError fields (`code`, `errno` as a negative number, `syscall`), plus the
 * extended-ack text and offset when the kernel sent them (NETLINK_EXT_ACK).
 */
export class NetlinkError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
  readonly extAck: string | undefined;
  readonly extAckOffset: number | undefined;

  constructor(errno: number, syscall: string, extAck?: string, extAckOffset?: number) {
    const positive = Math.abs(errno);
    const code = errnoName(positive);
    super(`${syscall} ${code}${extAck ? `: ${extAck}` : ''}`);
    this.name = 'NetlinkError';
    this.code = code;
    this.errno = -positive;
    this.syscall = syscall;
    this.extAck = extAck;
    this.extAckOffset = extAckOffset;
  }

  /** The positive errno, as the C tools compare it. */
  get positiveErrno(): number {
    return -this.errno;
  }
}

/** Whether the kernel said ENOENT: the object asked for does not exist (any more). */
export function isNotFound(err: unknown): boolean {
  return err instanceof NetlinkError && err.positiveErrno === 2;
}

/**
 * The bytes broke the netlink framing rules (a bad length, a truncated header,
 * an attribute running past its parent). Never a crash: decoders throw this.
 */
export class ProtocolError extends Error {
  readonly code = 'EPROTO';
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/** A dump ended with NLM_F_DUMP_INTR: the table changed while it was walked. */
export class DumpInterruptedError extends Error {
  readonly code = 'EINTR';
  constructor() {
    super('dump interrupted: the table changed during the dump, dump again for a consistent view');
    this.name = 'DumpInterruptedError';
  }
}
