/**
 * Memory for many small records outside the JavaScript heap: one buffer
 * cut into blocks of 16-byte granules, freed blocks reused by size. The
 * garbage collector never scans or moves these bytes, which is what keeps a
 * cache of a hundred thousand flows cheap to fill and to hold.
 */

const GRANULE = 16;

export class Arena {
  /** The blocks; valid until the next alloc() (which may grow it). */
  buf: Buffer;
  private top = 0;
  /** Free blocks by size in granules. */
  private readonly free = new Map<number, number[]>();

  constructor(initialBytes = 64 * 1024) {
    // Unzeroed: the kernel maps pages only as blocks are written, so RSS follows use.
    this.buf = Buffer.allocUnsafeSlow(initialBytes);
  }

  /** A block of at least `bytes`; returns its offset. */
  alloc(bytes: number): number {
    const granules = sizeClass(bytes);
    const reused = this.free.get(granules)?.pop();
    if (reused !== undefined) return reused;
    const size = granules * GRANULE;
    if (this.top + size > this.buf.length) this.grow(this.top + size);
    const at = this.top;
    this.top += size;
    return at;
  }

  /** Gives back the block at `at` that was allocated for `bytes`. */
  release(at: number, bytes: number): void {
    const granules = sizeClass(bytes);
    let list = this.free.get(granules);
    if (list === undefined) this.free.set(granules, (list = []));
    list.push(at);
  }

  private grow(needed: number): void {
    const bigger = Buffer.allocUnsafeSlow(Math.max(needed, this.buf.length * 2));
    this.buf.copy(bigger, 0, 0, this.top);
    this.buf = bigger;
  }
}

function sizeClass(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / GRANULE));
}
