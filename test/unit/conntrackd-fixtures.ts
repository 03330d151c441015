/**
 * Kernel-shaped conntrack entries for the conntrackd engine's unit tests:
 * a Flow encoded into the attributes a dump or an event carries, with the
 * read-only ones (use, counters) a request encoder leaves out.
 */
import { MessageWriter } from '../../src/netlink/attributes';
import { CountersAttr, CtAttr } from '../../src/ctnetlink/constants';
import type { Counters, Flow } from '../../src/ctnetlink/flow';
import { encodeFlow } from '../../src/ctnetlink/flow-codec';
import { WireEntry } from '../../src/ctnetlink/wire-entry';
import type { Config, GeneralConfig } from '../../src/conntrackd/config/config';

function writeCounters(w: MessageWriter, type: CtAttr, c: Counters): void {
  const nest = w.beginNested(type);
  w.u64be(CountersAttr.PACKETS, c.packets);
  w.u64be(CountersAttr.BYTES, c.bytes);
  w.endNested(nest);
}

/** The entry as the kernel would send it (a fresh WireEntry over its own bytes). */
export function wireEntry(flow: Flow): WireEntry {
  const w = new MessageWriter();
  encodeFlow(w, flow);
  if (flow.use !== undefined) w.u32be(CtAttr.USE, flow.use);
  if (flow.countersOrig) writeCounters(w, CtAttr.COUNTERS_ORIG, flow.countersOrig);
  if (flow.countersReply) writeCounters(w, CtAttr.COUNTERS_REPLY, flow.countersReply);
  const buf = w.toBuffer();
  return new WireEntry().set(buf, 0, buf.length, flow.family);
}

/** The General section with 1.4.7's defaults. */
export function generalDefaults(overrides: Partial<GeneralConfig> = {}): GeneralConfig {
  return {
    hashSize: 65536,
    hashLimit: 262144,
    lockFile: '/nonexistent/conntrackd.lock',
    netlinkOverrunResync: 30,
    netlinkEventsReliable: false,
    eventIterationLimit: 100,
    systemd: false,
    ...overrides,
  };
}

/** A Stats-mode config. */
export function statsConfig(general: Partial<GeneralConfig> = {}, logFile?: string): Config {
  return { general: generalDefaults(general), stats: { logFile } };
}
