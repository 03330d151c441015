/**
 * Why a received sync message was rejected, in the categories `-s` counts
 * separately (1.4.7's "message tracking" counters):
 * - `truncated`: fewer bytes than a header, or than the message says;
 * - `bad-size`: a length that cannot be (0, or shorter than its header);
 * - `bad-version`: not protocol version 1;
 * - `bad-header`: a header that makes no sense for the mode (unknown
 *   control flags, an ACK whose range ends before it starts…);
 * - `bad-type`: a data message type above 5;
 * - `bad-payload`: attributes that break the rules (see walkAttributes).
 * Each rejected message also counts as malformed.
 */
export type RejectReason = 'truncated' | 'bad-size' | 'bad-version' | 'bad-header' | 'bad-type' | 'bad-payload';

/** The one error the sync codec throws. */
export class SyncDecodeError extends Error {
  readonly reason: RejectReason;

  constructor(reason: RejectReason, detail: string) {
    super(`sync message rejected (${reason}): ${detail}`);
    this.name = 'SyncDecodeError';
    this.reason = reason;
  }
}

/** Thrown when asked to encode something the wire cannot carry (1.4.7's "send malformed"). */
export class SyncEncodeError extends Error {
  constructor(detail: string) {
    super(`cannot encode sync message: ${detail}`);
    this.name = 'SyncEncodeError';
  }
}
