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
import { Status } from '../../ctnetlink/status';
import { invertTuple } from '../../ctnetlink/tuple';
import type { ExternalFlow } from './external-cache';

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
 * What the commit asks of the kernel side: create every flow of `flows`
 * (replacing an entry with the same tuple), as many at a time as it likes,
 * telling `done` each flow's outcome; resolves when all are answered.
 */
export type CreateFlows = (flows: Iterable<Flow>, done: (flow: Flow, outcome: CreateOutcome) => void) => Promise<void>;

/** The kernel entry to create for `entry` at `now` (ms since the epoch). */
export function committedFlow(entry: ExternalFlow, opts: CommitOptions, now: number): Flow {
  const f = entry.flow;
  const flow: Flow = { ...f, reply: invertTuple(f.orig), timeout: timeoutOf(entry, opts, now) };
  if (f.status !== undefined) flow.status = f.status & ~Status.EXPECTED;
  if (f.orig.proto === Proto.TCP && !opts.tcpWindowTracking) {
    const liberal = { flags: TcpFlag.BE_LIBERAL, mask: TcpFlag.BE_LIBERAL };
    flow.tcp = { ...f.tcp, flagsOrig: liberal, flagsReply: liberal };
  }
  return flow;
}

function timeoutOf(entry: ExternalFlow, opts: CommitOptions, now: number): number {
  if (opts.commitTimeout !== undefined) return opts.commitTimeout;
  if (entry.flow.timeout === undefined) return FALLBACK_TIMEOUT;
  const left = entry.flow.timeout - Math.floor((now - entry.updatedAt) / 1000);
  return left < 0 ? FALLBACK_TIMEOUT : left;
}

/**
 * Commits every flow of `entries` (walked once per round), masters first (all of them answered
 * before the first related flow goes); a failure is reported to `failed`
 * (with the flow) and the commit goes on. Flows are built as the kernel side
 * takes them, so a million cached flows never exist twice.
 */
export async function commitFlows(
  entries: Iterable<ExternalFlow>,
  opts: CommitOptions,
  create: CreateFlows,
  failed: (flow: Flow, err: Error) => void,
): Promise<CommitResult> {
  const result: CommitResult = { created: 0, replaced: 0, failed: 0 };
  const now = Date.now();
  const done = (flow: Flow, outcome: CreateOutcome): void => {
    if (typeof outcome === 'string') {
      result[outcome]++;
      return;
    }
    result.failed++;
    failed(flow, outcome);
  };
  for (const related of [false, true]) await create(committedFlows(entries, related, opts, now), done);
  return result;
}

function* committedFlows(entries: Iterable<ExternalFlow>, related: boolean, opts: CommitOptions, now: number): Generator<Flow> {
  for (const entry of entries) if ((entry.flow.master !== undefined) === related) yield committedFlow(entry, opts, now);
}
