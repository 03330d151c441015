/**
 * Messages out of a TCP byte stream: reads split messages anywhere, so the
 * bytes of an incomplete message wait for the next read, as 1.4.7's TCP
 * channel keeps them.
 */
import { readFrames, type FrameSplit } from './message';

export class StreamReassembler {
  private tail: Buffer = Buffer.alloc(0);

  /**
   * The complete messages now available. An impossible length (`stop:
   * 'bad-size'`) cannot be resynchronised in a byte stream: everything
   * buffered is dropped and reading starts afresh with the next chunk.
   */
  push(chunk: Buffer): FrameSplit {
    const buf = this.tail.length === 0 ? chunk : Buffer.concat([this.tail, chunk]);
    const split = readFrames(buf);
    this.tail = split.stop === 'truncated' ? Buffer.from(buf.subarray(split.end)) : Buffer.alloc(0);
    // An incomplete tail is not an error in a stream: it is the next read's beginning.
    return split.stop === 'truncated' ? { frames: split.frames, end: split.end } : split;
  }

  /** Bytes waiting for the rest of their message. */
  get pending(): number {
    return this.tail.length;
  }
}
