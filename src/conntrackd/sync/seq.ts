/**
 * Serial-number arithmetic on 32-bit sequence numbers (as TCP does): `a`
 * is before `b` when the signed 32-bit difference b − a is positive, so the
 * order survives the counter wrapping around.
 */

/** `n` plus `d`, wrapped to 32 bits. */
export function seqAdd(n: number, d: number): number {
  return (n + d) >>> 0;
}

/** a comes strictly before b. */
export function seqBefore(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

/** a comes strictly after b. */
export function seqAfter(a: number, b: number): boolean {
  return seqBefore(b, a);
}

/** from ≤ seq ≤ to in serial order. */
export function seqBetween(seq: number, from: number, to: number): boolean {
  return !seqBefore(seq, from) && !seqAfter(seq, to);
}

/** How far b is ahead of a (b − a), wrapped to 32 bits. */
export function seqDistance(a: number, b: number): number {
  return (b - a) >>> 0;
}
