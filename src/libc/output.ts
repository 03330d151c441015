import { fstatSync, writeSync } from 'node:fs';
import { TextBuffer } from '../format/text-buffer';

/** glibc's stdio buffer for a pipe or file (st_blksize); output leaves in blocks of this size. */
const BLOCK = 4096;
/** Bytes collected before a write(2); large, so a million-line dump costs few syscalls. */
const FLUSH_AT = 64 * BLOCK;

/**
 * How C stdio buffers a stream, which decides how stdout and stderr
 * interleave when both go to one pipe (`conntrack -L 2>&1 | ...`):
 * stderr is unbuffered, stdout is line-buffered on a terminal and written
 * in whole blocks otherwise, the last partial block at exit. We reproduce
 * that so even merged output is byte-identical to the C tool's.
 */
type Buffering = 'none' | 'line' | 'block';

/**
 * Line output on a file descriptor, written synchronously. We write the fd
 * directly instead of process.stdout, whose piped form is asynchronous and
 * would reorder output against stderr and exit.
 */
export class Output {
  /** What C stdio would still hold (and more: see sync). Formatters may append to it directly, then call wrote(). */
  readonly pending = new TextBuffer(FLUSH_AT + BLOCK);

  constructor(
    private readonly fd: number,
    private readonly buffering: Buffering,
  ) {}

  write(text: string): void {
    if (this.buffering === 'none') {
      writeAll(this.fd, Buffer.from(text));
      return;
    }
    this.pending.text(text);
    this.wrote();
  }

  /** Bytes were appended to `pending`: writes out when enough have collected. */
  wrote(): void {
    if (this.pending.length >= FLUSH_AT) this.sync();
  }

  /**
   * Writes what C stdio would have written by now: everything on a terminal,
   * whole blocks otherwise. Call before anything goes to the other stream.
   */
  sync(): void {
    if (this.buffering === 'line') {
      this.end();
      return;
    }
    const whole = this.pending.length - (this.pending.length % BLOCK);
    if (whole === 0) return;
    try {
      writeAll(this.fd, this.pending.buf.subarray(0, whole));
    } finally {
      this.pending.consume(whole);
    }
  }

  /** Writes everything (exit, or a line that must reach a live reader now). */
  end(): void {
    if (this.pending.length === 0) return;
    const length = this.pending.length;
    // Emptied first: a broken pipe must not leave the bytes to be written again at exit.
    this.pending.length = 0;
    writeAll(this.fd, this.pending.buf.subarray(0, length));
  }
}

/** How the reader went away: `conntrack -L | head -1`. */
export class BrokenPipe extends Error {
  constructor() {
    super('EPIPE');
    this.name = 'BrokenPipe';
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

function writeAll(fd: number, data: Buffer): void {
  let off = 0;
  while (off < data.length) {
    try {
      off += writeSync(fd, data, off);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') throw new BrokenPipe();
      // A descriptor inherited in non-blocking mode: wait for the reader briefly.
      if (code !== 'EAGAIN') throw err;
      Atomics.wait(sleeper, 0, 0, 1);
    }
  }
}

/** Linux's major number of the memory devices: /dev/null, /dev/zero, /dev/full. */
const MEM_MAJOR = 1;

/**
 * isatty(3), without node:tty when the answer is plain: loading node:tty
 * (net, stream) costs a one-shot command like `-C` milliseconds, and a
 * terminal is always a character device, never one of the memory devices
 * (where benchmarks and scripts send output: /dev/null).
 */
function isTerminal(fd: number): boolean {
  try {
    const st = fstatSync(fd);
    if (!st.isCharacterDevice() || Math.floor(st.rdev / 256) % 4096 === MEM_MAJOR) return false;
  } catch {
    return false;
  }
  return (require('node:tty') as typeof import('node:tty')).isatty(fd);
}

export const stdout = new Output(1, isTerminal(1) ? 'line' : 'block');
export const stderr = new Output(2, 'none');
