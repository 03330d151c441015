/**
 * `conntrack -o json` (our extension, not in 1.4.7): one JSON object per
 * entry per line, with readable names, for scripts (`| jq`). Only the
 * attributes the kernel sent appear, as in the text format.
 *
 * ```
 * {"event":"update","family":"ipv4","protocol":"tcp","protonum":6,"timeout":431999,
 *  "state":"ESTABLISHED","status":["SEEN_REPLY","ASSURED","CONFIRMED"],
 *  "orig":{"src":"10.0.0.1","dst":"10.0.0.2","protocol":"tcp","protonum":6,"sport":4000,"dport":80,
 *          "packets":3,"bytes":180},
 *  "reply":{…},"mark":1,"zone":5,"id":3212354,"portid":4077}
 * ```
 * Counters are numbers while they fit a double exactly, decimal strings past 2^53.
 */
import type { Counters, Flow, Tuple } from '../ctnetlink/flow';
import { STATUS_NAMES } from '../ctnetlink/status';
import { dccpStateName, l3Name, l4Layout, L4Layout, l4Name, sctpStateName, tcpStateName } from './names';
import type { EventType } from './text';

export interface JsonOptions {
  event?: EventType;
  /** `-o timestamp`: when it was printed, as an ISO 8601 `time` member. */
  time?: Date;
  /** Names of label bits, when a label map is loaded; other bits appear as numbers. */
  labelName?: (bit: number) => string | undefined;
  /** Events: the port id of the process whose request caused it (0 = the kernel: left out), and its name. */
  portid?: number;
  progname?: string;
}

/** A tuple as a plain object: addresses, protocol by name and number, and its layer-4 fields by their names. */
export function tupleJson(t: Tuple): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (t.src !== undefined) o.src = t.src;
  if (t.dst !== undefined) o.dst = t.dst;
  if (t.proto !== undefined) {
    o.protocol = l4Name(t.proto);
    o.protonum = t.proto;
  }
  const [srcName, dstName] = l4Layout(t.proto) === L4Layout.GRE_KEYS ? ['srckey', 'dstkey'] : ['sport', 'dport'];
  if (t.sport !== undefined) o[srcName] = t.sport;
  if (t.dport !== undefined) o[dstName] = t.dport;
  if (t.icmpType !== undefined) o.type = t.icmpType;
  if (t.icmpCode !== undefined) o.code = t.icmpCode;
  if (t.icmpId !== undefined) o.id = t.icmpId;
  if (t.zone !== undefined) o.zone = t.zone;
  return o;
}

function count(n: bigint): number | string {
  return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString();
}

function direction(t: Tuple, counters: Counters | undefined): Record<string, unknown> {
  const o = tupleJson(t);
  if (counters !== undefined) {
    o.packets = count(counters.packets);
    o.bytes = count(counters.bytes);
  }
  return o;
}

function statusNames(status: number): string[] {
  return STATUS_NAMES.filter((_, bit) => status & (1 << bit));
}

function labelList(labels: Buffer, labelName: JsonOptions['labelName']): (string | number)[] {
  const out: (string | number)[] = [];
  labels.forEach((byte, i) => {
    for (let b = 0; b < 8; b++) if (byte & (1 << b)) out.push(labelName?.(i * 8 + b) || i * 8 + b);
  });
  return out;
}

/** One conntrack entry as a single-line JSON object. */
export function formatJson(flow: Flow, opts: JsonOptions = {}): string {
  return JSON.stringify(flowToJson(flow, opts));
}

/**
 * One conntrack entry as a plain object that JSON.stringify takes as it is
 * (no bigint: counters are numbers, or decimal strings past 2^53), in the
 * shape of `conntrack -o json` (schema/conntrack-json.v1.json).
 */
export function flowToJson(flow: Flow, opts: JsonOptions = {}): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (opts.event !== undefined) o.event = opts.event;
  if (opts.time !== undefined) o.time = opts.time.toISOString();
  o.family = l3Name(flow.family);
  if (flow.orig.proto !== undefined) {
    o.protocol = l4Name(flow.orig.proto);
    o.protonum = flow.orig.proto;
  }
  if (flow.timeout !== undefined) o.timeout = flow.timeout;
  if (flow.tcp?.state !== undefined) o.state = tcpStateName(flow.tcp.state);
  else if (flow.sctp?.state !== undefined) o.state = sctpStateName(flow.sctp.state);
  else if (flow.dccp?.state !== undefined) o.state = dccpStateName(flow.dccp.state);
  if (flow.status !== undefined) o.status = statusNames(flow.status);
  o.orig = direction(flow.orig, flow.countersOrig);
  o.reply = direction(flow.reply, flow.countersReply);
  if (flow.mark !== undefined) o.mark = flow.mark;
  if (flow.secmark !== undefined) o.secmark = flow.secmark;
  if (flow.secctx !== undefined) o.secctx = flow.secctx;
  if (flow.zone !== undefined) o.zone = flow.zone;
  if (flow.use !== undefined) o.use = flow.use;
  if (flow.id !== undefined) o.id = flow.id;
  if (flow.helper !== undefined) o.helper = flow.helper;
  if (flow.labels !== undefined) o.labels = labelList(flow.labels, opts.labelName);
  const ts = flow.timestamp;
  if (ts?.start !== undefined || ts?.stop !== undefined) {
    o.timestamp = {
      ...(ts.start !== undefined && { start: count(ts.start) }),
      ...(ts.stop !== undefined && { stop: count(ts.stop) }),
    };
  }
  if (opts.portid) {
    o.portid = opts.portid;
    if (opts.progname !== undefined) o.progname = opts.progname;
  }
  return o;
}
