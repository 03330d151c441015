/**
 * Messages out of a TCP byte stream: reads split messages anywhere, so the
 * bytes of an incomplete message wait for the next read, as 1.4.7's TCP
 * channel keeps them.
 */
import { readFrames, type FrameSplit } from './message';

export class StreamReassembler {
  private tail: Buffer = Buffer.alloc(0);

  /**
   * The complete messages now available, and their bytes (`bytes`, what a
   * datagram link would have delivered). An impossible length (`stop:
   * 'bad-size'`) cannot be resynchronised in a byte stream: everything
   * buffered is dropped and reading starts afresh with the next chunk; the
   * dropped bytes stay in `bytes`, so that the receiver counts them.
   */
  push(chunk: Buffer): FrameSplit & { bytes: Buffer } {
    const buf = this.tail.length === 0 ? chunk : Buffer.concat([this.tail, chunk]);
    const split = readFrames(buf);
    if (split.stop === 'truncated') {
      // An incomplete tail is not an error in a stream: it is the next read's beginning.
      this.tail = Buffer.from(buf.subarray(split.end));
      return { frames: split.frames, end: split.end, bytes: buf.subarray(0, split.end) };
    }
    this.tail = Buffer.alloc(0);
    return { ...split, bytes: buf };
  }

  /** Bytes waiting for the rest of their message. */
  get pending(): number {
    return this.tail.length;
  }
}
