/**
 * A classic BPF interpreter for the instructions our socket filters use, with
 * the kernel's netlink ancillary loads (net/core/filter.c: bpf_skb_get_nlattr,
 * bpf_skb_get_nlattr_nest over nla_find), so filter programs can be checked
 * against the userspace predicate without a kernel. The kernel tier runs the
 * same programs for real (test/kernel/events.test.ts).
 */

const SKF_AD_OFF = 0xfffff000;
const SKF_AD_NLATTR = 12;
const SKF_AD_NLATTR_NEST = 16;
const NLA_TYPE_MASK = 0x3fff;

/** nla_ok() */
function attrFits(p: Buffer, at: number, remaining: number): boolean {
  if (remaining < 4) return false;
  const len = p.readUInt16LE(at);
  return len >= 4 && len <= remaining;
}

/** nla_find(): offset of the first attribute of `type` in p[at, at + remaining), or 0. */
function findAttr(p: Buffer, at: number, remaining: number, type: number): number {
  while (attrFits(p, at, remaining)) {
    const len = p.readUInt16LE(at);
    if ((p.readUInt16LE(at + 2) & NLA_TYPE_MASK) === type) return at;
    const step = (len + 3) & ~3;
    at += step;
    remaining -= step;
  }
  return 0;
}

function ancillary(op: number, p: Buffer, a: number, x: number): number {
  if (p.length < 4 || a > p.length - 4) return 0;
  switch (op) {
    case SKF_AD_NLATTR:
      return findAttr(p, a, p.length - a, x);
    case SKF_AD_NLATTR_NEST: {
      if (!attrFits(p, a, p.length - a)) return 0;
      return findAttr(p, a + 4, p.readUInt16LE(a) - 4, x);
    }
    default:
      throw new Error(`unsupported ancillary load ${op}`);
  }
}

function load(p: Buffer, at: number, size: number): number | undefined {
  if (at < 0 || at + size > p.length) return undefined;
  return size === 1 ? p[at]! : size === 2 ? p.readUInt16BE(at) : p.readUInt32BE(at);
}

const SIZES: Record<number, number> = { 0x00: 4, 0x08: 2, 0x10: 1 };

/** Runs `program` (struct sock_filter[]) on `packet`; returns the kernel's verdict (bytes to keep, 0 = drop). */
export function runClassicBpf(program: Buffer, packet: Buffer): number {
  let a = 0;
  let x = 0;
  for (let pc = 0; pc * 8 < program.length; pc++) {
    const code = program.readUInt16LE(pc * 8);
    const jt = program[pc * 8 + 2]!;
    const jf = program[pc * 8 + 3]!;
    const k = program.readUInt32LE(pc * 8 + 4);
    const cls = code & 0x07;
    const mode = code & 0xe0;
    if (cls === 0x00 /* BPF_LD */ && mode === 0x00) a = k;
    else if (cls === 0x01 /* BPF_LDX */ && mode === 0x00) x = k;
    else if (cls === 0x00 && mode === 0x20 && k >= SKF_AD_OFF) a = ancillary(k - SKF_AD_OFF, packet, a, x);
    else if (cls === 0x00 && (mode === 0x20 || mode === 0x40)) {
      const value = load(packet, (mode === 0x40 ? x : 0) + k, SIZES[code & 0x18]!);
      if (value === undefined) return 0; // the kernel aborts the program: drop
      a = value;
    } else if (code === 0x54) a = (a & k) >>> 0;
    else if (code === 0x05) pc += k;
    else if (code === 0x15) pc += a === k ? jt : jf;
    else if (code === 0x06) return k;
    else if (code === 0x07) x = a;
    else throw new Error(`unsupported BPF instruction 0x${code.toString(16)} at ${pc}`);
  }
  throw new Error('BPF program ran off its end');
}
