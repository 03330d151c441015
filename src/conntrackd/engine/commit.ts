/**
 * `-c`: the external cache into the kernel table, as 1.4.7 commits it.
 *
 * A replicated flow knows only its original tuple and the NAT the peer
 * applied, so the kernel entry is rebuilt: the reply tuple is the plain
 * inverse of the original, and the kernel translates it itself from the
 * NAT ranges. Handing it the translated reply instead looks the same in a
 * listing but leaves nothing to translate: the kernel then sets no NAT
 * status bit (ctnetlink refuses them in CTA_STATUS) and forwards the
 * committed connection's packets untranslated. IPS_EXPECTED is cleared
 * (the kernel refuses to set it), TCP flows are marked "be liberal" in
 * both directions unless `TCPWindowTracking` (the backup never saw the
 * window, so strict tracking would drop the first packets it forwards),
 * and the timeout is `CommitTimeout`, else what was left of the
 * replicated one.
 *
 * Flows without a master go first, then related flows: the kernel links a
 * related flow to its master, which must exist by then.
 */
import type { Flow } from '../../ctnetlink/flow';
import { Proto, TcpFlag } from '../../ctnetlink/constants';
import { writeCreateRequest } from '../../ctnetlink/requests';
import { Status } from '../../ctnetlink/status';
import { invertTuple } from '../../ctnetlink/tuple';
import type { MessageWriter } from '../../netlink/attributes';
import { isRelated, writeCommitRequest } from './commit-request';
import type { CachedAttributes, ExternalCache, ExternalFlow } from './external-cache';

/** The timeout of a flow whose replicated one ran out (or never came), as 1.4.7. */
const FALLBACK_TIMEOUT = 60;

export interface CommitOptions {
  /** `CommitTimeout`: the timeout of every committed flow. */
  commitTimeout?: number;
  tcpWindowTracking: boolean;
}

/** The outcome of one `-c`, for the log and the client's report. */
export interface CommitResult {
  created: number;
  /** Existed already: deleted and created again. */
  replaced: number;
  failed: number;
}

/** What became of one flow of a commit: created, replaced, or why it failed. */
export type CreateOutcome = 'created' | 'replaced' | Error;

/**
 * What the commit asks of the kernel side: for every item of `items`,
 * send the create request (NLM_F_EXCL) `write` appends to `w`, replacing an
 * entry with the same tuple, as many at a time as it likes, telling `done`
 * each outcome (what `write` threw, for an item it could not write);
 * resolves when all are answered.
 */
export type CreateRequests = <T>(items: Iterable<T>, write: (w: MessageWriter, item: T) => void, done: (outcome: CreateOutcome) => void) => Promise<void>;

/** The kernel entry to create for `entry` at `now` (ms since the epoch). */
export function committedFlow(entry: ExternalFlow, opts: CommitOptions, now: number): Flow {
  const f = entry.flow;
  const flow: Flow = { ...f, reply: invertTuple(f.orig), timeout: commitTimeout(f.timeout, entry.updatedAt, opts, now) };
  if (f.status !== undefined) flow.status = f.status & ~Status.EXPECTED;
  if (f.orig.proto === Proto.TCP && !opts.tcpWindowTracking) {
    const liberal = { flags: TcpFlag.BE_LIBERAL, mask: TcpFlag.BE_LIBERAL };
    flow.tcp = { ...f.tcp, flagsOrig: liberal, flagsReply: liberal };
  }
  return flow;
}

/** A committed flow's timeout: `CommitTimeout`, else what is left at `now` of the `replicated` one, replicated at `updatedAt`. */
function commitTimeout(replicated: number | undefined, updatedAt: number, opts: CommitOptions, now: number): number {
  if (opts.commitTimeout !== undefined) return opts.commitTimeout;
  if (replicated === undefined) return FALLBACK_TIMEOUT;
  const left = replicated - Math.floor((now - updatedAt) / 1000);
  return left < 0 ? FALLBACK_TIMEOUT : left;
}

/**
 * Commits every flow of the external cache (walked once per round),
 * masters first (all of them answered before the first related flow goes);
 * a failure is reported to `failed` and the commit goes on. Each request is
 * written from the flow's cached attributes as the kernel side takes it
 * (commit-request.ts), so a million cached flows are never decoded.
 */
export async function commitFlows(cache: ExternalCache, opts: CommitOptions, create: CreateRequests, failed: (err: Error) => void): Promise<CommitResult> {
  const result: CommitResult = { created: 0, replaced: 0, failed: 0 };
  const now = Date.now();
  const done = (outcome: CreateOutcome): void => {
    if (typeof outcome === 'string') {
      result[outcome]++;
      return;
    }
    result.failed++;
    failed(outcome);
  };
  const a: CachedAttributes = { buf: Buffer.alloc(0), start: 0, end: 0, updatedAt: 0 };
  const timeout = (replicated: number | undefined): number => commitTimeout(replicated, a.updatedAt, opts, now);
  const write = (w: MessageWriter, slot: number): void => {
    cache.attributes(slot, a);
    if (writeCommitRequest(w, a.buf, a.start, a.end, timeout, opts)) return;
    writeCreateRequest(w, 0, committedFlow(cache.entry(slot), opts, now), true);
  };
  for (const related of [false, true]) await create(slotsOf(cache, related, a), write, done);
  return result;
}

/** The slots of the cache's flows with a master (`related`) or without. */
function* slotsOf(cache: ExternalCache, related: boolean, a: CachedAttributes): Generator<number> {
  for (const slot of cache.slots()) {
    cache.attributes(slot, a);
    if (isRelated(a.buf, a.start, a.end) === related) yield slot;
  }
}
