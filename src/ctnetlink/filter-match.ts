import { encodeAddress, formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from './address';
import type { FlowFilter, NatFilter, NatMatch } from './filter';
import type { Flow, Tuple } from './flow';
import { Status } from './status';

/**
 * The userspace half of the filter model: a FlowFilter compiled to a predicate
 * that means what the filter says (the CLI builds filters with 1.4.7's
 * quirks left in or out, see src/cli/parse.ts). Every dump, delete, update
 * and event stream runs it on every entry, whether or not the kernel already
 * filtered (filter-kernel.ts), so it alone defines the result.
 *
 * The tests run in 1.4.7's order: family, NAT, mark, labels,
 * networks, then the generic comparison.
 *
 * Everything that can be prepared is prepared once here: addresses are
 * canonicalised to the text the decoder produces (so the hot path compares
 * strings), masks and networks become bytes, and only the tests the filter
 * asks for are in the list. Only masked comparisons convert an entry's address
 * to bytes.
 */

type Test = (flow: Flow) => boolean;

const PASS: (flow: Flow) => boolean = () => true;

/**
 * Compiles `filter` into a predicate. Throws RangeError for a filter that
 * cannot mean anything: an address or mask that is no IP address (of
 * `filter.family`, when given), or a mask without the address it applies to.
 */
export function compileFilter(filter: FlowFilter): (flow: Flow) => boolean {
  const tests = buildTests(filter);
  if (tests.length === 0) return PASS;
  if (tests.length === 1) return tests[0]!;
  return (flow) => {
    for (let i = 0; i < tests.length; i++) if (!tests[i]!(flow)) return false;
    return true;
  };
}

/** True when `filter` selects every entry, so callers can skip the predicate. */
export function matchesAll(filter: FlowFilter): boolean {
  return buildTests(filter).length === 0;
}

function buildTests(filter: FlowFilter): Test[] {
  const tests: Test[] = [];
  const family = filter.family;
  // The kernel applies the family through nfgen_family already; testing it here
  // too gives events and fixture-fed callers the same answer.
  if (family !== undefined) tests.push((f) => f.family === family);
  if (filter.nat) {
    const nat = natTest(filter.nat);
    if (nat) tests.push(nat);
  }
  if (filter.mark) tests.push(markTest(filter.mark.value, filter.mark.mask));
  if (filter.labels) tests.push(labelsTest(filter.labels));
  if (filter.srcMask !== undefined) tests.push(networkTest(filter, 'src', filter.srcMask));
  if (filter.dstMask !== undefined) tests.push(networkTest(filter, 'dst', filter.dstMask));
  if (usesComparison(filter)) tests.push(...comparisonTests(filter));
  return tests;
}

// ---------------------------------------------------------------------------
// NAT

/**
 * One side (SNAT or DNAT) of 1.4.7's filter_nat(). The entry fields it reads
 * differ per side; everything else is shared.
 */
interface NatSide {
  done: number; // IPS_SRC_NAT_DONE / IPS_DST_NAT_DONE
  /** The reply address that differs from the original one when NAT-ed: reply.dst (SNAT) / reply.src (DNAT). */
  natAddr(f: Flow): string | undefined;
  origAddr(f: Flow): string | undefined;
  /** The reply port compared with the filter port: reply.dport (SNAT) / reply.sport (DNAT). */
  natPort(f: Flow): number;
  /** "Port-mapped": the 16-bit layer-4 words that NAT would have changed differ. */
  mapped(f: Flow): boolean;
}

const SNAT: NatSide = {
  done: Status.SRC_NAT_DONE,
  natAddr: (f) => f.reply.dst,
  origAddr: (f) => f.orig.src,
  natPort: (f) => f.reply.dport ?? 0,
  mapped: (f) => l4dst(f.reply) !== l4src(f.orig),
};

const DNAT: NatSide = {
  done: Status.DST_NAT_DONE,
  natAddr: (f) => f.reply.src,
  origAddr: (f) => f.orig.dst,
  natPort: (f) => f.reply.sport ?? 0,
  mapped: (f) => l4src(f.reply) !== l4dst(f.orig),
};

/*
 * libnetfilter_conntrack keeps a tuple's layer-4 part in two 16-bit unions and
 * its "port-mapped" test (NFCT_GOPT_IS_SPAT / _DPAT) compares them whole: the
 * source word holds the port or the ICMP id, the destination word the port or
 * the ICMP type and code bytes. Unset fields read as 0. Reproduced as is.
 */
function l4src(t: Tuple): number {
  return t.sport ?? t.icmpId ?? 0;
}

function l4dst(t: Tuple): number {
  if (t.dport !== undefined) return t.dport;
  if (t.icmpType === undefined && t.icmpCode === undefined) return 0;
  return ((t.icmpType ?? 0) << 8) | (t.icmpCode ?? 0);
}

/** The test of one NAT option, as filter_nat() evaluates `has_srcnat` / `has_dstnat`. */
function natSideTest(side: NatSide, m: NatMatch): Test {
  // (1.4.7 compares only IPv4 addresses, defect 18: the CLI leaves an IPv6 one out.)
  let addr: string | undefined;
  let l3 = 2;
  if (m.addr !== undefined) {
    const v4 = parseIPv4(m.addr);
    const v6 = v4 ? undefined : parseIPv6(m.addr);
    if (v4) addr = formatIPv4(v4, 0);
    else if (v6) [addr, l3] = [formatIPv6(v6, 0), 10];
    else throw new RangeError(`NAT filter address "${m.addr}" is not an IP address`);
  }
  const port = m.port;
  const done = side.done;
  // Status absent counts as NAT-ed (objopt.c tests the bit only when the attribute is set).
  const natDone = (f: Flow) => f.status === undefined || (f.status & done) !== 0;
  const natted = (f: Flow) => side.natAddr(f) !== side.origAddr(f);
  if (addr === undefined && port === undefined) {
    return (f) => natDone(f) && (natted(f) || side.mapped(f));
  }
  const addrOk = (f: Flow) => natted(f) && addressOf(f, side, l3) === addr;
  const portOk = (f: Flow) => side.mapped(f) && side.natPort(f) === port;
  if (port === undefined) return (f) => natDone(f) && addrOk(f);
  if (addr === undefined) return (f) => natDone(f) && portOk(f);
  return (f) => natDone(f) && addrOk(f) && portOk(f);
}

/** The NAT address of `f` if it is of family `l3`; an IPv4 one that is not there reads as 0.0.0.0 (libnetfilter_conntrack's unset attribute). */
function addressOf(f: Flow, side: NatSide, l3: number): string | undefined {
  const text = f.reply.l3 === l3 ? side.natAddr(f) : undefined;
  return text ?? (l3 === 2 ? '0.0.0.0' : undefined);
}

function natTest(nat: NatFilter): Test | undefined {
  const parts: Test[] = [];
  if (nat.any) {
    const s = natSideTest(SNAT, nat.any);
    const d = natSideTest(DNAT, nat.any);
    parts.push((f) => s(f) || d(f));
  }
  if (nat.src) parts.push(natSideTest(SNAT, nat.src));
  if (nat.dst) parts.push(natSideTest(DNAT, nat.dst));
  if (parts.length === 0) return undefined;
  if (parts.length === 1) return parts[0];
  return (f) => parts.every((p) => p(f));
}

// ---------------------------------------------------------------------------
// mark, labels

function markTest(value: number, mask: number): Test {
  const v = value >>> 0;
  const m = mask >>> 0;
  return (f) => f.mark !== undefined && ((f.mark & m) >>> 0) === v;
}

function labelsTest(labels: Buffer): Test {
  // The filter's non-zero bytes; the two bitmaps share one layout, so a
  // bytewise subset test is a bitwise one.
  const at: number[] = [];
  const bits: number[] = [];
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 0) {
      at.push(i);
      bits.push(labels[i]!);
    }
  }
  return (f) => {
    const have = f.labels;
    if (have === undefined) return false;
    for (let i = 0; i < at.length; i++) {
      const b = bits[i]!;
      if (((have[at[i]!] ?? 0) & b) !== b) return false;
    }
    return true;
  };
}

// ---------------------------------------------------------------------------
// networks

function networkTest(filter: FlowFilter, which: 'src' | 'dst', maskText: string): Test {
  const addrText = filter.orig?.[which];
  if (addrText === undefined) {
    throw new RangeError(`${which}Mask needs orig.${which}: a network is an address and a mask`);
  }
  // 1.4.7 requires the entry to be of the command family, which a mask always
  // fixes; encodeAddress throws for a mask that is not of filter.family.
  const mask = encodeAddress(maskText, filter.family);
  const family = mask.family;
  const addr = encodeAddress(addrText, family).bytes;
  if (family === 2) {
    const m = mask.bytes.readUInt32BE(0);
    const net = (addr.readUInt32BE(0) & m) >>> 0;
    // /0, /8, /16, /24: the decoder's dotted quad (no leading zeros) is in the
    // network exactly when it starts with the network's leading octets and a
    // dot, so the common prefixes need no conversion at all.
    const octets = [0, 0xff000000, 0xffff0000, 0xffffff00].indexOf(m);
    if (octets >= 0) {
      const prefix = octets === 0 ? '' : formatIPv4(addr, 0).split('.').slice(0, octets).join('.') + '.';
      return (f) => f.orig.l3 === 2 && (f.orig[which] ?? '0.0.0.0').startsWith(prefix);
    }
    return (f) => {
      if (f.orig.l3 !== 2) return false;
      const text = f.orig[which];
      const bytes = text === undefined ? undefined : parseIPv4(text);
      const a = bytes ? bytes.readUInt32BE(0) : 0;
      return ((a & m) >>> 0) === net;
    };
  }
  const m = Buffer.from(mask.bytes);
  const net = Buffer.alloc(16);
  for (let i = 0; i < 16; i++) net[i] = addr[i]! & m[i]!;
  return (f) => {
    if (f.orig.l3 !== 10) return false;
    const text = f.orig[which];
    const bytes = text === undefined ? undefined : parseIPv6(text);
    for (let i = 0; i < 16; i++) if (((bytes ? bytes[i]! : 0) & m[i]!) !== net[i]) return false;
    return true;
  };
}

// ---------------------------------------------------------------------------
// generic comparison

/**
 * Whether `filter` has any field of the generic comparison: a tuple field,
 * mark, status, id, zone, labels, state or timeout. (1.4.7 compares the
 * timeout only next to one of its comparison options, so `conntrack -D -t 5`
 * deletes everything: the CLI leaves such a timeout out of the filter it
 * builds, see src/cli/parse.ts.)
 */
export function usesComparison(filter: FlowFilter): boolean {
  return (
    hasFields(filter.orig) ||
    hasFields(filter.reply) ||
    filter.mark !== undefined ||
    filter.status !== undefined ||
    filter.id !== undefined ||
    filter.zone !== undefined ||
    filter.labels !== undefined ||
    filter.state !== undefined ||
    filter.timeout !== undefined
  );
}

function hasFields(t: Tuple | undefined): boolean {
  if (!t) return false;
  for (const key in t) if (t[key as keyof Tuple] !== undefined) return true;
  return false;
}

function comparisonTests(filter: FlowFilter): Test[] {
  const tests: Test[] = [];
  const orig = filter.orig && tupleTest(filter.orig, 'orig', filter.srcMask !== undefined, filter.dstMask !== undefined);
  if (orig) tests.push(orig);
  const reply = filter.reply && tupleTest(filter.reply, 'reply', false, false);
  if (reply) tests.push(reply);

  const { id, zone, state, timeout, status } = filter;
  if (id !== undefined) tests.push((f) => f.id === id);
  if (status !== undefined) {
    const v = status.value >>> 0;
    const m = status.mask >>> 0;
    tests.push((f) => f.status !== undefined && ((f.status & m) >>> 0) === v);
  }
  if (state !== undefined) {
    tests.push((f) => (f.tcp?.state ?? f.sctp?.state ?? f.dccp?.state) === state);
  }
  if (zone !== undefined) tests.push((f) => (f.zone ?? 0) === zone);
  if (timeout !== undefined) tests.push((f) => f.timeout === timeout);
  return tests;
}

/**
 * The fields of one filter direction that the comparison tests: every field
 * given (GRE keys are the ports), without addresses that a network mask
 * compares instead. The zone compares non-strictly (absent = 0), everything
 * else strictly. The predicate and the kernel's event filter (filter-bpf.ts)
 * both compile exactly these.
 */
export function comparedFields(t: Tuple, srcMasked: boolean, dstMasked: boolean): Tuple {
  return { ...t, src: srcMasked ? undefined : t.src, dst: dstMasked ? undefined : t.dst };
}

/**
 * The test of one direction, as a single closure: unset filter fields are
 * constants here, so skipping them costs a comparison with undefined and no
 * call.
 */
function tupleTest(t: Tuple, dir: 'orig' | 'reply', srcMasked: boolean, dstMasked: boolean): Test | undefined {
  const c = comparedFields(t, srcMasked, dstMasked);
  const { l3, proto, sport, dport, icmpType, icmpCode, icmpId, zone } = c;
  const src = c.src !== undefined ? canonical(c.src, l3) : undefined;
  const dst = c.dst !== undefined ? canonical(c.dst, l3) : undefined;
  const compared = [l3, proto, src, dst, sport, dport, icmpType, icmpCode, icmpId, zone];
  if (compared.every((v) => v === undefined)) return undefined;
  return (f) => {
    const e = f[dir];
    return (
      (l3 === undefined || e.l3 === l3) &&
      (proto === undefined || e.proto === proto) &&
      (src === undefined || e.src === src) &&
      (dst === undefined || e.dst === dst) &&
      (sport === undefined || e.sport === sport) &&
      (dport === undefined || e.dport === dport) &&
      (icmpType === undefined || e.icmpType === icmpType) &&
      (icmpCode === undefined || e.icmpCode === icmpCode) &&
      (icmpId === undefined || e.icmpId === icmpId) &&
      (zone === undefined || (e.zone ?? 0) === zone)
    );
  };
}

/** The text the decoder would produce for this address, so equality is a string compare. */
function canonical(text: string, l3: number | undefined): string {
  const a = encodeAddress(text, l3);
  return a.family === 2 ? formatIPv4(a.bytes, 0) : formatIPv6(a.bytes, 0);
}
