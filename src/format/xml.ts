/**
 * The XML format of `conntrack -o xml`: one `<flow>…</flow>` element per entry,
 * byte for byte as libnetfilter_conntrack 1.0.9 prints it (snprintf_xml.c),
 * quirks included:
 *  - `<state>` looks SCTP and DCCP states up in the TCP table;
 *  - the reply direction's `<counters>` appear when the *original* counters
 *    are present (C tests the original bits for both directions);
 *  - `<helper>` follows the independent `<meta>` (and `<when>`);
 *  - the independent `<meta>` opens for a fixed list of attributes that omits
 *    secctx (so a lone secctx sits outside it) and includes labels even when
 *    no label map is loaded (giving an empty element);
 *  - nothing is escaped: addresses and numbers cannot need it, and the helper
 *    name, secctx and label names are printed raw, as 1.4.7 does.
 */

import type { Counters, Flow, Tuple } from '../ctnetlink/flow';
import { Status } from '../ctnetlink/status';
import { hasTupleFields } from '../ctnetlink/tuple-codec';
import { l3Name, l4Layout, L4Layout, l4Name, namedLabels, unspecifiedAddress, xmlStateName } from './names';
import type { EventType } from './text';
import { wallClockSeconds, xmlDeltaTime, xmlWhen } from './timestamp';

export interface XmlOptions {
  /** Event type for `<flow type="…">`; absent for dumps. */
  event?: EventType;
  /** `-o ktimestamp`: add `<timestamp>` with the raw nanosecond values. */
  ktimestamp?: boolean;
  /** Present when a label map is loaded: the name of a label bit, if any. */
  labelName?: (bit: number) => string | undefined;
  /** Events with `-o timestamp`: the time for `<when>` (printed in local time). */
  when?: Date;
  /** Clock for `<deltatime>` of running entries (whole seconds); default: wall clock. */
  nowSeconds?: () => number;
}

/** What `-L`, `-G` and `-E` print before the first `<flow>`. */
export const XML_HEADER = '<?xml version="1.0" encoding="utf-8"?>\n<conntrack>\n';
/** What `-L` and `-E` print after the last `<flow>`. */
export const XML_FOOTER = '</conntrack>\n';

export const FLOW_OPEN: Readonly<Record<EventType, string>> = {
  new: '<flow type="new">',
  update: '<flow type="update">',
  destroy: '<flow type="destroy">',
};

const ZERO_COUNTERS: Counters = { packets: 0n, bytes: 0n };

/** `<src>…</src><dst>…</dst>` of one tuple; empty elements for families other than IPv4/IPv6. */
export function addressXml(t: Tuple, family: number): string {
  const zero = unspecifiedAddress(family);
  return zero === undefined ? '<src></src><dst></dst>' : '<src>' + (t.src ?? zero) + '</src><dst>' + (t.dst ?? zero) + '</dst>';
}

/** `<layer3 …>` / `<layer4 …>` opening tags of a family or protocol number. */
export function layerOpenXml(layer: 3 | 4, protonum: number): string {
  return '<layer' + layer + ' protonum="' + protonum + '" protoname="' + (layer === 3 ? l3Name(protonum) : l4Name(protonum)) + '">';
}

/** The ports or GRE keys of one tuple by its own protocol; ICMP type/code/id are not part of the XML format. */
export function l4Xml(t: Tuple): string {
  switch (l4Layout(t.proto)) {
    case L4Layout.PORTS:
      return '<sport>' + (t.sport ?? 0) + '</sport><dport>' + (t.dport ?? 0) + '</dport>';
    case L4Layout.GRE_KEYS:
      return '<srckey>0x' + (t.sport ?? 0).toString(16) + '</srckey><dstkey>0x' + (t.dport ?? 0).toString(16) + '</dstkey>';
    default:
      return '';
  }
}

/** `<meta direction="…">` of one tuple. */
function tupleMeta(direction: string, t: Tuple, family: number, counters: Counters | undefined): string {
  let s = '<meta direction="' + direction + '">' + layerOpenXml(3, family) + addressXml(t, family) + '</layer3>';
  s += layerOpenXml(4, t.proto ?? 0) + l4Xml(t) + '</layer4>';
  if (t.zone !== undefined) s += '<zone>' + t.zone + '</zone>';
  if (counters !== undefined) {
    s += '<counters><packets>' + counters.packets + '</packets><bytes>' + counters.bytes + '</bytes></counters>';
  }
  return s + '</meta>';
}

/** One conntrack entry as a `<flow>` element, without a newline. */
export function formatXml(flow: Flow, opts: XmlOptions = {}): string {
  const { status, timestamp } = flow;
  const hasCounters = flow.countersOrig !== undefined;
  let s = opts.event === undefined ? '<flow>' : FLOW_OPEN[opts.event];
  s += tupleMeta('original', flow.orig, flow.family, flow.countersOrig);
  // C tests the original counters for both directions and prints whatever the reply ones hold.
  // A flow known by its original tuple only (conntrackd's external cache)
  // has a reply of no family, which C prints as family 0 with empty addresses.
  const replyFamily = hasTupleFields(flow.reply) ? flow.family : 0;
  s += tupleMeta('reply', flow.reply, replyFamily, hasCounters ? flow.countersReply ?? ZERO_COUNTERS : undefined);

  const tcpState = flow.tcp?.state;
  const sctpState = flow.sctp?.state;
  const dccpState = flow.dccp?.state;
  const independent =
    tcpState !== undefined || sctpState !== undefined || dccpState !== undefined ||
    flow.timeout !== undefined || flow.mark !== undefined || flow.secmark !== undefined ||
    flow.zone !== undefined || flow.use !== undefined || status !== undefined ||
    flow.id !== undefined || flow.labels !== undefined ||
    timestamp?.start !== undefined || timestamp?.stop !== undefined;

  if (independent) s += '<meta direction="independent">';
  if (tcpState !== undefined) s += '<state>' + xmlStateName(tcpState) + '</state>';
  if (sctpState !== undefined) s += '<state>' + xmlStateName(sctpState) + '</state>';
  if (dccpState !== undefined) s += '<state>' + xmlStateName(dccpState) + '</state>';
  if (flow.timeout !== undefined) s += '<timeout>' + flow.timeout + '</timeout>';
  if (flow.mark !== undefined) s += '<mark>' + flow.mark + '</mark>';
  if (opts.labelName !== undefined && flow.labels !== undefined) {
    s += '<labels>' + namedLabels(flow.labels, opts.labelName, '<label>', '</label>') + '</labels>';
  }
  if (flow.secmark !== undefined) s += '<secmark>' + flow.secmark + '</secmark>';
  if (flow.secctx !== undefined) s += '<secctx>' + flow.secctx + '</secctx>';
  if (flow.zone !== undefined) s += '<zone>' + flow.zone + '</zone>';
  if (flow.use !== undefined) s += '<use>' + flow.use + '</use>';
  // Unlike the text format, the id needs no `-o id`.
  if (flow.id !== undefined) s += '<id>' + flow.id + '</id>';
  if (status !== undefined && status & Status.ASSURED) s += '<assured/>';
  if (status !== undefined && !(status & Status.SEEN_REPLY)) s += '<unreplied/>';
  if (timestamp !== undefined) {
    const { start, stop } = timestamp;
    if (opts.ktimestamp && (start !== undefined || stop !== undefined)) {
      s += '<timestamp>';
      if (start !== undefined) s += '<start>' + start + '</start>';
      if (stop !== undefined) s += '<stop>' + stop + '</stop>';
      s += '</timestamp>';
    }
    if (start !== undefined) {
      s += '<deltatime>' + xmlDeltaTime(start, stop, (opts.nowSeconds ?? wallClockSeconds)()) + '</deltatime>';
    }
  }
  if (independent) s += '</meta>';
  if (opts.when !== undefined) s += xmlWhen(opts.when);
  if (flow.helper !== undefined) s += '<helper>' + flow.helper + '</helper>';
  return s + '</flow>';
}
