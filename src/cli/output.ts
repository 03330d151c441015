import { writeSync } from 'node:fs';

/** Bytes collected before one write(2); big enough that a million-line dump costs few syscalls. */
const FLUSH_AT = 256 * 1024;

/**
 * Line output on a file descriptor, written synchronously in large chunks.
 *
 * We write the fd directly instead of process.stdout: Node turns a piped
 * stdout into a non-blocking stream with its own buffering, which makes
 * output order against stderr and exit timing hard to control; the C tool
 * writes with stdio and so do we, in effect.
 */
export class Output {
  private pending = '';

  constructor(private readonly fd: number) {}

  write(text: string): void {
    this.pending += text;
    if (this.pending.length >= FLUSH_AT) this.flush();
  }

  flush(): void {
    if (this.pending.length === 0) return;
    const text = this.pending;
    this.pending = '';
    writeAll(this.fd, Buffer.from(text));
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

export const stdout = new Output(1);
export const stderr = new Output(2);
