/**
 * The default one-line conntrack format of `conntrack -L/-G/-D/-U/-E`, byte
 * for byte as libnetfilter_conntrack 1.0.9 prints it (snprintf_default.c).
 * It runs once per entry of a dump, so it only concatenates
 * strings: no arrays, no joins, no regular expressions.
 */

import type { Counters, Flow, Tuple } from '../ctnetlink/flow';
import { Status } from '../ctnetlink/status';
import { hasTupleFields } from '../ctnetlink/tuple-codec';
import {
  dccpStateName,
  l3Name,
  l4Layout,
  L4Layout,
  l4Name,
  namedLabels,
  sctpStateName,
  tcpStateName,
  unspecifiedAddress,
} from './names';
import { ctimeOfNanoseconds, textDeltaTime, wallClockSeconds } from './timestamp';
import type { EventType } from '../ctnetlink/event';

/** Which event a line reports (`conntrack -E`); absent for dumps. */
export type { EventType };

export interface TextOptions {
  /** `-o extended`: prefix the layer-3 name and number. */
  extended?: boolean;
  /** `-o id`: print `id=` (when the kernel sent CTA_ID). */
  id?: boolean;
  /** `-o ktimestamp`: print `[start=…]`/`[stop=…]` in local time. */
  ktimestamp?: boolean;
  /**
   * Present when a label map is loaded (`-o labels` or any label option): the
   * name of a label bit, if it has one. Then CTA_LABELS is printed.
   */
  labelName?: (bit: number) => string | undefined;
  /** Event type for the `%9s` prefix of event lines. */
  event?: EventType;
  /** Clock for `delta-time` of running entries (whole seconds); default: wall clock. */
  nowSeconds?: () => number;
}

/** `%9s ` of `[NEW]`, `[UPDATE]`, `[DESTROY]`. */
export const EVENT_PIECES: Readonly<Record<EventType, string>> = {
  new: '    [NEW] ',
  update: ' [UPDATE] ',
  destroy: '[DESTROY] ',
};

/** `%-8s %u ` of a name and its number, for every u8 value, built once. */
function namedNumberPieces(name: (n: number) => string): readonly string[] {
  const pieces: string[] = [];
  for (let n = 0; n < 256; n++) pieces.push(name(n).padEnd(8) + ' ' + n + ' ');
  return pieces;
}

export const L3_PIECES = namedNumberPieces(l3Name);
export const L4_PIECES = namedNumberPieces(l4Name);

/**
 * `SRC=… DST=… ` of one tuple, named by the tags (`src=`/` dst=` for
 * conntracks, `mask-src=`/` mask-dst=` etc. for expectations). Addresses are
 * printed only for IPv4/IPv6 (libnetfilter_conntrack takes the family of
 * every tuple from nfgen_family); absent ones print as C's zeroed struct would.
 */
export function addressText(t: Tuple, family: number, srcTag: string, dstTag: string): string {
  const zero = unspecifiedAddress(family);
  return zero === undefined ? '' : srcTag + (t.src ?? zero) + dstTag + (t.dst ?? zero) + ' ';
}

/** The layer-4 fields of one tuple by its own protocol, space-terminated; nothing for protocols without a tracker. */
export function l4Text(t: Tuple): string {
  switch (l4Layout(t.proto)) {
    case L4Layout.PORTS:
      return 'sport=' + (t.sport ?? 0) + ' dport=' + (t.dport ?? 0) + ' ';
    case L4Layout.GRE_KEYS:
      return 'srckey=0x' + (t.sport ?? 0).toString(16) + ' dstkey=0x' + (t.dport ?? 0).toString(16) + ' ';
    case L4Layout.ICMP:
      return 'type=' + (t.icmpType ?? 0) + ' code=' + (t.icmpCode ?? 0) + ' id=' + (t.icmpId ?? 0) + ' ';
    default:
      return '';
  }
}

/** `src=… dst=… ` plus the layer-4 fields of one direction. */
function tupleText(t: Tuple, family: number): string {
  return addressText(t, family, 'src=', ' dst=') + l4Text(t);
}

function countersText(c: Counters): string {
  return 'packets=' + c.packets + ' bytes=' + c.bytes + ' ';
}

/** One conntrack entry in the default format, without the trailing newline. */
export function formatText(flow: Flow, opts: TextOptions = {}): string {
  const { orig, reply, status, timestamp } = flow;
  let s = opts.event === undefined ? '' : EVENT_PIECES[opts.event];
  if (opts.extended) s += L3_PIECES[flow.family & 0xff];
  s += L4_PIECES[(orig.proto ?? 0) & 0xff];
  if (flow.timeout !== undefined) s += flow.timeout + ' ';
  if (flow.tcp?.state !== undefined) s += tcpStateName(flow.tcp.state) + ' ';
  if (flow.sctp?.state !== undefined) s += sctpStateName(flow.sctp.state) + ' ';
  if (flow.dccp?.state !== undefined) s += dccpStateName(flow.dccp.state) + ' ';

  s += tupleText(orig, flow.family);
  if (orig.zone !== undefined) s += 'zone-orig=' + orig.zone + ' ';
  if (flow.countersOrig !== undefined) s += countersText(flow.countersOrig);
  if (status !== undefined && !(status & Status.SEEN_REPLY)) s += '[UNREPLIED] ';

  // A flow known by its original tuple only (conntrackd's external cache)
  // has no reply addresses: nothing is printed for them, as in C.
  if (hasTupleFields(reply)) s += tupleText(reply, flow.family);
  if (reply.zone !== undefined) s += 'zone-reply=' + reply.zone + ' ';
  if (flow.countersReply !== undefined) s += countersText(flow.countersReply);
  if (status !== undefined) {
    if (status & Status.HW_OFFLOAD) s += '[HW_OFFLOAD] ';
    else if (status & Status.OFFLOAD) s += '[OFFLOAD] ';
    else if (status & Status.ASSURED) s += '[ASSURED] ';
  }

  if (flow.mark !== undefined) s += 'mark=' + flow.mark + ' ';
  if (flow.secmark !== undefined) s += 'secmark=' + flow.secmark + ' ';
  // secctx and helper are printed raw, as C does.
  if (flow.secctx !== undefined) s += 'secctx=' + flow.secctx + ' ';
  if (flow.zone !== undefined) s += 'zone=' + flow.zone + ' ';
  if (timestamp?.start !== undefined) {
    const now = (opts.nowSeconds ?? wallClockSeconds)();
    s += 'delta-time=' + textDeltaTime(timestamp.start, timestamp.stop, now) + ' ';
  }
  if (opts.ktimestamp && timestamp !== undefined) {
    if (timestamp.start !== undefined) s += '[start=' + ctimeOfNanoseconds(timestamp.start) + '] ';
    if (timestamp.stop !== undefined) s += '[stop=' + ctimeOfNanoseconds(timestamp.stop) + '] ';
  }
  if (flow.helper !== undefined) s += 'helper=' + flow.helper + ' ';
  if (flow.use !== undefined) s += 'use=' + flow.use + ' ';
  if (opts.id && flow.id !== undefined) s += 'id=' + flow.id + ' ';
  if (opts.labelName !== undefined && flow.labels !== undefined) s += labelsText(flow.labels, opts.labelName);
  // Every piece ends with a space; C drops the last one.
  return s.slice(0, -1);
}

/** `labels=a,b ` of a label bitmap. */
export function labelsText(labels: Buffer, labelName: (bit: number) => string | undefined): string {
  // C prints "labels=" + "name," per name, then backs up over the last
  // character: the final comma, or the "=" when no set bit has a name.
  const names = namedLabels(labels, labelName, '', ',');
  return names === '' ? 'labels ' : 'labels=' + names.slice(0, -1) + ' ';
}
