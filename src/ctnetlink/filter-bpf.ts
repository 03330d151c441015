import { NLMSG_HDRLEN } from '../netlink/constants';
import { NFGENMSG_LEN } from '../nfnetlink/header';
import { encodeAddress } from './address';
import { CtAttr, IpAttr, Proto, ProtoAttr, ProtoinfoAttr, TcpAttr, TupleAttr } from './constants';
import type { FlowFilter } from './filter';
import { comparedFields, usesComparison } from './filter-match';
import type { Tuple } from './flow';

/**
 * The kernel half of the filter model for events: a FlowFilter compiled to a
 * classic BPF socket filter (SO_ATTACH_FILTER), as libnetfilter_conntrack's
 * nfct_filter_attach() does. The kernel runs it on every event before
 * queueing it for the listener, so an event it rejects never reaches
 * userspace, takes no receive buffer and is never counted as dropped.
 *
 * Like the dump filters (filter-kernel.ts) it may only narrow the stream to a
 * SUPERSET of what the userspace predicate (filter-match.ts) accepts, which
 * the listener still runs on every event it receives: each test here is the
 * predicate's own test on the attribute's bytes. A missing attribute fails a
 * test only where the predicate certainly fails too: strict fields that one
 * attribute alone sets in the decoded Flow (mark, id, status, protocol,
 * addresses, ports) and zones other than 0 (a missing zone is zone 0). Where
 * the Flow field has several sources (ICMP fields, the protocol state) or
 * the predicate reads a default (networks), a missing attribute passes.
 *
 * What the program sees (skb->data is the nlmsghdr of the event):
 * ```
 *  0           16             17        20
 *  | nlmsghdr  | nfgen_family | ver,res | CTA_* attributes ...
 * ```
 * Attributes are found with the kernel's netlink helpers, two ancillary
 * loads: SKF_AD_NLATTR (A = offset of the first top-level attribute of type X
 * at or after offset A, 0 if none) and SKF_AD_NLATTR_NEST (A = offset of
 * attribute X inside the nested attribute at offset A, 0 if none). A value
 * starts 4 bytes after its attribute, and classic BPF loads big-endian
 * numbers, which is how ctnetlink sends them.
 *
 * In the program: the family, the mark, the networks (`--mask-src/-dst`)
 * and, with the generic comparison, protocol, addresses, ports, ICMP type,
 * code and id, the tuple zones, zone, id, status and protocol state. Left to
 * userspace: NAT, labels, timeout, and ICMP fields when no protocol names
 * their attributes.
 */

/** Classic BPF opcodes (linux/filter.h, linux/bpf_common.h), as the program uses them. */
const enum Op {
  LD_IMM = 0x00, // BPF_LD | BPF_IMM
  LDX_IMM = 0x01, // BPF_LDX | BPF_IMM
  LD_W_ABS = 0x20, // BPF_LD | BPF_W | BPF_ABS
  LD_B_ABS = 0x30, // BPF_LD | BPF_B | BPF_ABS
  LD_W_IND = 0x40, // BPF_LD | BPF_W | BPF_IND
  LD_H_IND = 0x48, // BPF_LD | BPF_H | BPF_IND
  LD_B_IND = 0x50, // BPF_LD | BPF_B | BPF_IND
  AND_K = 0x54, // BPF_ALU | BPF_AND | BPF_K
  JA = 0x05, // BPF_JMP | BPF_JA
  JEQ_K = 0x15, // BPF_JMP | BPF_JEQ | BPF_K
  RET_K = 0x06, // BPF_RET | BPF_K
  TAX = 0x07, // BPF_MISC | BPF_TAX
}

/** Ancillary data offsets: SKF_AD_OFF (-0x1000) plus the operation. */
const SKF_AD_NLATTR = (-0x1000 + 12) >>> 0;
const SKF_AD_NLATTR_NEST = (-0x1000 + 16) >>> 0;

/** Return values: bytes of the message to keep. */
const ACCEPT = 0xffffffff;
const REJECT = 0;

/** Where the first attribute starts, and where a value starts after its attribute. */
const ATTRS = NLMSG_HDRLEN + NFGENMSG_LEN;
const NLA_HDRLEN = 4;

/** Byte width of a loaded value. */
type Width = 1 | 2 | 4;

const LOAD_IND: Record<Width, Op> = { 1: Op.LD_B_IND, 2: Op.LD_H_IND, 4: Op.LD_W_IND };

/** What a test does when its attribute is missing. */
type Missing = 'pass' | 'reject';

/**
 * Emits the program. Every test is a straight sequence that falls through
 * when it holds and returns REJECT inline when it does not, so conditional
 * jumps only ever skip a few instructions (their offsets are 8 bits) and a
 * program of any length needs no far jumps.
 */
class Assembler {
  private readonly insns: number[][] = [];

  get length(): number {
    return this.insns.length;
  }

  /**
   * One test of an attribute: finds it along `path` (a top-level type, then
   * nested types), then `compare` runs with X = the attribute's offset.
   */
  test(path: readonly number[], missing: Missing, compare: () => void): void {
    const skips: number[] = [];
    this.emit(Op.LD_IMM, ATTRS);
    path.forEach((type, depth) => {
      this.emit(Op.LDX_IMM, type);
      this.emit(Op.LD_W_ABS, depth === 0 ? SKF_AD_NLATTR : SKF_AD_NLATTR_NEST);
      skips.push(this.emit(Op.JEQ_K, 0));
    });
    this.emit(Op.TAX, 0);
    compare();
    let missed = this.insns.length;
    if (missing === 'reject') {
      // Present and matching: jump over the RET that a missing attribute lands on.
      this.emit(Op.JA, 1);
      missed = this.emit(Op.RET_K, REJECT);
    }
    for (const at of skips) this.patch(at, missed);
  }

  /** Holds when `(value at X + 4 + offset & mask) == expected`, else rejects. */
  expect(width: Width, offset: number, expected: number, mask?: number): void {
    this.emit(LOAD_IND[width], NLA_HDRLEN + offset);
    if (mask !== undefined) this.emit(Op.AND_K, mask);
    this.reject(expected);
  }

  /** Holds when the family byte of nfgenmsg is `family`, else rejects. */
  family(family: number): void {
    this.emit(Op.LD_B_ABS, NLMSG_HDRLEN);
    this.reject(family);
  }

  /** The program as struct sock_filter[] ({u16 code, u8 jt, u8 jf, u32 k}, host order). */
  finish(): Buffer {
    this.emit(Op.RET_K, ACCEPT);
    const program = Buffer.alloc(this.insns.length * 8);
    const le = new DataView(program.buffer, program.byteOffset, program.length);
    this.insns.forEach(([code, jt, jf, k], i) => {
      le.setUint16(i * 8, code!, true);
      program[i * 8 + 2] = jt!;
      program[i * 8 + 3] = jf!;
      le.setUint32(i * 8 + 4, k! >>> 0, true);
    });
    return program;
  }

  /** A equal to `expected` skips the RET REJECT that follows. */
  private reject(expected: number): void {
    this.emit(Op.JEQ_K, expected >>> 0, 1, 0);
    this.emit(Op.RET_K, REJECT);
  }

  private emit(code: Op, k: number, jt = 0, jf = 0): number {
    this.insns.push([code, jt, jf, k]);
    return this.insns.length - 1;
  }

  /** Points the "true" branch of the JEQ #0 at `at` (A = 0: attribute missing) to `target`. */
  private patch(at: number, target: number): void {
    const offset = target - at - 1;
    if (offset > 255) throw new RangeError(`BPF jump of ${offset} instructions does not fit in 8 bits`);
    this.insns[at]![1] = offset;
  }
}

/**
 * Compiles `filter` into a socket filter program, or undefined when the
 * kernel can narrow nothing (then attach none). Throws RangeError for a
 * filter that compileFilter() refuses too (an address that is none).
 */
export function compileEventFilter(filter: FlowFilter): Buffer | undefined {
  const a = new Assembler();
  if (filter.family !== undefined) a.family(filter.family);
  if (filter.mark) {
    const { value, mask } = filter.mark;
    a.test([CtAttr.MARK], 'reject', () => a.expect(4, 0, value, mask));
  }
  if (filter.srcMask !== undefined) network(a, filter, filter.orig?.src, filter.srcMask, IpAttr.V4_SRC, IpAttr.V6_SRC);
  if (filter.dstMask !== undefined) network(a, filter, filter.orig?.dst, filter.dstMask, IpAttr.V4_DST, IpAttr.V6_DST);
  if (usesComparison(filter)) comparison(a, filter);
  return a.length === 0 ? undefined : a.finish();
}

/**
 * `(entry.orig.ADDR & mask) == (filter.ADDR & mask)`, the address of
 * the mask's family (a missing one passes: the predicate decides).
 */
function network(a: Assembler, filter: FlowFilter, addr: string | undefined, maskText: string, v4: IpAttr, v6: IpAttr): void {
  if (addr === undefined) throw new RangeError('a network needs its address: a mask without orig.src / orig.dst');
  const mask = encodeAddress(maskText, filter.family);
  address(a, CtAttr.TUPLE_ORIG, mask.family === 2 ? v4 : v6, encodeAddress(addr, mask.family).bytes, mask.bytes, 'pass');
}

/** Compares an address word by word under `mask` (all ones for an exact address). */
function address(a: Assembler, tuple: CtAttr, type: IpAttr, bytes: Buffer, mask: Buffer, missing: Missing): void {
  a.test([tuple, TupleAttr.IP, type], missing, () => {
    for (let i = 0; i < bytes.length; i += 4) {
      const m = mask.readUInt32BE(i);
      a.expect(4, i, (bytes.readUInt32BE(i) & m) >>> 0, m);
    }
  });
}

/** The generic comparison as filter-match.ts's comparisonTests() compiles it. */
function comparison(a: Assembler, filter: FlowFilter): void {
  if (filter.orig) tuple(a, CtAttr.TUPLE_ORIG, comparedFields(filter.orig, filter.srcMask !== undefined, filter.dstMask !== undefined));
  if (filter.reply) tuple(a, CtAttr.TUPLE_REPLY, comparedFields(filter.reply, false, false));
  const { id, status, state, zone } = filter;
  if (id !== undefined) a.test([CtAttr.ID], 'reject', () => a.expect(4, 0, id));
  if (status !== undefined) a.test([CtAttr.STATUS], 'reject', () => a.expect(4, 0, status.value, status.mask));
  if (state !== undefined) {
    const nest = PROTOINFO[filter.orig?.proto ?? filter.reply?.proto ?? -1];
    // The protocol's own nest: an entry carries only its protocol's, so the
    // predicate's `tcp ?? sctp ?? dccp` reads the same state.
    if (nest !== undefined) a.test([CtAttr.PROTOINFO, nest, STATE], 'pass', () => a.expect(1, 0, state));
  }
  if (zone !== undefined) zoneTest(a, [CtAttr.ZONE], zone);
}

/** CTA_PROTOINFO_TCP_STATE, _SCTP_STATE and _DCCP_STATE are all 1. */
const STATE = TcpAttr.STATE;

/** Which CTA_PROTOINFO nest carries a protocol's state. */
const PROTOINFO: Readonly<Record<number, ProtoinfoAttr>> = {
  [Proto.TCP]: ProtoinfoAttr.TCP,
  [Proto.SCTP]: ProtoinfoAttr.SCTP,
  [Proto.DCCP]: ProtoinfoAttr.DCCP,
};

/** Zones compare non-strictly: a missing one is zone 0. */
function zoneTest(a: Assembler, path: readonly number[], zone: number): void {
  a.test(path, zone === 0 ? 'pass' : 'reject', () => a.expect(2, 0, zone));
}

function tuple(a: Assembler, dir: CtAttr, t: Tuple): void {
  const proto = t.proto;
  if (t.src !== undefined) exactAddress(a, dir, t.src, t.l3, IpAttr.V4_SRC, IpAttr.V6_SRC);
  if (t.dst !== undefined) exactAddress(a, dir, t.dst, t.l3, IpAttr.V4_DST, IpAttr.V6_DST);
  const l4 = (type: ProtoAttr, width: Width, value: number | undefined, missing: Missing): void => {
    if (value !== undefined) a.test([dir, TupleAttr.PROTO, type], missing, () => a.expect(width, 0, value));
  };
  l4(ProtoAttr.NUM, 1, proto, 'reject');
  l4(ProtoAttr.SRC_PORT, 2, t.sport, 'reject');
  l4(ProtoAttr.DST_PORT, 2, t.dport, 'reject');
  // ICMP and ICMPv6 keep the same Flow fields under different attribute numbers.
  const icmp = proto === Proto.ICMP ? ICMP_ATTRS : proto === Proto.ICMPV6 ? ICMPV6_ATTRS : undefined;
  if (icmp) {
    l4(icmp.type, 1, t.icmpType, 'pass');
    l4(icmp.code, 1, t.icmpCode, 'pass');
    l4(icmp.id, 2, t.icmpId, 'pass');
  }
  if (t.zone !== undefined) zoneTest(a, [dir, TupleAttr.ZONE], t.zone);
}

const ICMP_ATTRS = { type: ProtoAttr.ICMP_TYPE, code: ProtoAttr.ICMP_CODE, id: ProtoAttr.ICMP_ID };
const ICMPV6_ATTRS = { type: ProtoAttr.ICMPV6_TYPE, code: ProtoAttr.ICMPV6_CODE, id: ProtoAttr.ICMPV6_ID };

function exactAddress(a: Assembler, dir: CtAttr, text: string, l3: number | undefined, v4: IpAttr, v6: IpAttr): void {
  const { family, bytes } = encodeAddress(text, l3);
  // The other family's attribute decodes to text that never equals this address.
  address(a, dir, family === 2 ? v4 : v6, bytes, Buffer.alloc(bytes.length, 0xff), 'reject');
}

// ---------------------------------------------------------------------------
// List filters: conntrackd's `Filter` (libnetfilter_conntrack's nfct_filter).

/** Accept: only what is listed passes; otherwise what is listed is dropped. */
export interface ListTest<T> {
  accept: boolean;
  values: readonly T[];
}

/** A network of an address list: `(address & mask(prefix)) == (network & mask(prefix))`. */
export interface ListedNetwork {
  /** 4 bytes (IPv4) or 16 (IPv6), network order. */
  address: Buffer;
  prefix: number;
}

/**
 * Lists an event must (Accept) or must not (Ignore) be on, each part tested
 * on its own and all of them required, as conntrackd's `Filter` does.
 */
export interface ListFilter {
  /** The layer-4 protocol of the original tuple. */
  protocols?: ListTest<number>;
  /** The original source or the reply source: the two real endpoints, NAT or not. */
  addresses?: ListTest<ListedNetwork>;
  /** The TCP state of TCP events that carry one; other events pass. */
  tcpStates?: ListTest<number>;
}

/** One instruction whose jump target is a label, resolved when the program is finished. */
interface LabelledInsn {
  code: Op;
  k: number;
  jt: number;
  jf: number;
  /** Set for JA: the label jumped to. */
  target?: number;
}

/**
 * Emits programs with far jumps: a conditional jump to a label is a JEQ over
 * an unconditional JA, whose 32-bit offset reaches any distance (lists can
 * be long).
 */
class LabelAssembler {
  private readonly insns: LabelledInsn[] = [];
  private readonly labels: number[] = [];

  label(): number {
    this.labels.push(-1);
    return this.labels.length - 1;
  }

  place(label: number): void {
    this.labels[label] = this.insns.length;
  }

  emit(code: Op, k: number, jt = 0, jf = 0): void {
    this.insns.push({ code, k, jt, jf });
  }

  jump(label: number): void {
    this.insns.push({ code: Op.JA, k: 0, jt: 0, jf: 0, target: label });
  }

  /** To `label` when A == k. */
  jumpIf(k: number, label: number): void {
    this.emit(Op.JEQ_K, k >>> 0, 0, 1);
    this.jump(label);
  }

  /** X = offset of the attribute along `path` (top-level type, then nested ones); to `missing` when absent. */
  find(path: readonly number[], missing: number): void {
    this.emit(Op.LD_IMM, ATTRS);
    path.forEach((type, depth) => {
      this.emit(Op.LDX_IMM, type);
      this.emit(Op.LD_W_ABS, depth === 0 ? SKF_AD_NLATTR : SKF_AD_NLATTR_NEST);
      this.jumpIf(0, missing);
    });
    this.emit(Op.TAX, 0);
  }

  finish(): Buffer {
    this.emit(Op.RET_K, ACCEPT);
    const program = Buffer.alloc(this.insns.length * 8);
    this.insns.forEach(({ code, k, jt, jf, target }, i) => {
      const value = target === undefined ? k : this.labels[target]! - i - 1;
      program.writeUInt16LE(code, i * 8);
      program[i * 8 + 2] = jt;
      program[i * 8 + 3] = jf;
      program.writeUInt32LE(value >>> 0, i * 8 + 4);
    });
    return program;
  }
}

/**
 * Compiles `filter` into a socket filter for conntrack events (conntrackd's
 * `Filter From Kernelspace`), or undefined when it lists nothing. The
 * program follows the same rules as the lists' userspace check, so an
 * event it rejects is one that check would drop.
 */
export function compileListFilter(filter: ListFilter): Buffer | undefined {
  const a = new LabelAssembler();
  let tests = 0;
  const list = <T>(test: ListTest<T> | undefined, body: (found: number, notFound: number) => void): void => {
    if (test === undefined) return;
    tests++;
    const found = a.label();
    const notFound = a.label();
    body(found, notFound);
    a.jump(notFound);
    // Accept: a listed event goes on to the next test; Ignore: an unlisted one does.
    a.place(test.accept ? notFound : found);
    a.emit(Op.RET_K, REJECT);
    a.place(test.accept ? found : notFound);
  };
  list(filter.protocols, (found, notFound) => {
    a.find([CtAttr.TUPLE_ORIG, TupleAttr.PROTO, ProtoAttr.NUM], notFound);
    a.emit(Op.LD_B_IND, NLA_HDRLEN);
    for (const proto of filter.protocols!.values) a.jumpIf(proto, found);
  });
  list(filter.addresses, (found) => {
    for (const tuple of [CtAttr.TUPLE_ORIG, CtAttr.TUPLE_REPLY]) {
      for (const [length, type] of [
        [4, IpAttr.V4_SRC],
        [16, IpAttr.V6_SRC],
      ] as const) {
        const networks = filter.addresses!.values.filter((n) => n.address.length === length);
        if (networks.length === 0) continue;
        const next = a.label();
        a.find([tuple, TupleAttr.IP, type], next);
        for (const n of networks) networkTest(a, n, found);
        a.place(next);
      }
    }
  });
  if (filter.tcpStates) {
    // Only TCP events with a state are tested: the others skip the list.
    const tested = a.label();
    const skip = a.label();
    a.find([CtAttr.TUPLE_ORIG, TupleAttr.PROTO, ProtoAttr.NUM], skip);
    a.emit(Op.LD_B_IND, NLA_HDRLEN);
    a.jumpIf(Proto.TCP, tested);
    a.jump(skip);
    a.place(tested);
    list(filter.tcpStates, (found) => {
      a.find([CtAttr.PROTOINFO, ProtoinfoAttr.TCP, STATE], skip);
      a.emit(Op.LD_B_IND, NLA_HDRLEN);
      for (const state of filter.tcpStates!.values) a.jumpIf(state, found);
    });
    a.place(skip);
  }
  return tests === 0 ? undefined : a.finish();
}

/** To `found` when the address at X lies in `n`; falls through otherwise. */
function networkTest(a: LabelAssembler, n: ListedNetwork, found: number): void {
  const words: { value: number; mask: number }[] = [];
  for (let i = 0; i < n.address.length; i += 4) {
    const bits = Math.min(32, Math.max(0, n.prefix - i * 8));
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    if (mask !== 0) words.push({ value: (n.address.readUInt32BE(i) & mask) >>> 0, mask });
  }
  words.forEach(({ value, mask }, i) => {
    a.emit(Op.LD_W_IND, NLA_HDRLEN + i * 4);
    a.emit(Op.AND_K, mask);
    // A mismatch skips the rest of this network: 3 instructions per word left, then the JA.
    a.emit(Op.JEQ_K, value, 0, (words.length - 1 - i) * 3 + 1);
  });
  a.jump(found);
}
