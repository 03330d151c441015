/**
 * An expectation ↔ the attributes of an EXP_NEW / EXP_UPD / EXP_DEL message
 * (sent only with `ExpectationSync`). Three tuples travel as groups of the
 * same shape (addresses, protocol, ports): the master's original tuple, the
 * expected tuple and its mask; then TIMEOUT (unless `CommitTimeout`), FLAGS
 * (always), CLASS, HELPER_NAME, the NAT part and FN.
 */
import type { Expectation } from '../../ctnetlink/expect';
import type { Tuple } from '../../ctnetlink/flow';
import { Family } from '../../ctnetlink/constants';
import { addressBytes, addressText } from './addresses';
import { AttrWriter, EXPECT_ATTR_SIZES, ExpectAttr, walkAttributes } from './attributes';
import { cString } from './flow-attributes';
import { SyncEncodeError } from './errors';

/** The attribute ids of one tuple group, IPv4 id first (IPv6 = IPv4 + 1). */
interface TupleGroup {
  ipv4: ExpectAttr;
  l4proto: ExpectAttr;
  port: ExpectAttr;
}

const MASTER: TupleGroup = { ipv4: ExpectAttr.MASTER_IPV4, l4proto: ExpectAttr.MASTER_L4PROTO, port: ExpectAttr.MASTER_PORT };
const EXPECTED: TupleGroup = { ipv4: ExpectAttr.EXPECT_IPV4, l4proto: ExpectAttr.EXPECT_L4PROTO, port: ExpectAttr.EXPECT_PORT };
const MASK: TupleGroup = { ipv4: ExpectAttr.MASK_IPV4, l4proto: ExpectAttr.MASK_L4PROTO, port: ExpectAttr.MASK_PORT };

export interface ExpectEncodeOptions {
  /** `CommitTimeout` is set: TIMEOUT is left out. */
  omitTimeout?: boolean;
}

/** Appends the attributes of `exp` to `w`. @throws SyncEncodeError when a tuple lacks its addresses. */
export function encodeExpectAttributes(w: AttrWriter, exp: Expectation, opts: ExpectEncodeOptions = {}): void {
  if (exp.family !== Family.INET && exp.family !== Family.INET6) throw new SyncEncodeError(`expectation family ${exp.family}`);
  encodeGroup(w, MASTER, exp.master, exp.family, 'master');
  encodeGroup(w, EXPECTED, exp.tuple, exp.family, 'expected');
  encodeGroup(w, MASK, exp.mask, exp.family, 'mask');
  if (exp.timeout !== undefined && !opts.omitTimeout) w.u32(ExpectAttr.TIMEOUT, exp.timeout);
  w.u32(ExpectAttr.FLAGS, exp.flags ?? 0);
  if (exp.class !== undefined) w.u32(ExpectAttr.CLASS, exp.class);
  if (exp.helper !== undefined) w.string(ExpectAttr.HELPER_NAME, exp.helper);
  const nat = exp.nat?.tuple;
  if (nat) {
    w.bytes(ExpectAttr.NAT_IPV4, addressBytes(nat.src, Family.INET, 'expectation NAT'));
    if (nat.proto !== undefined) w.u8(ExpectAttr.NAT_L4PROTO, nat.proto);
    if (nat.sport !== undefined) w.u16le(ExpectAttr.NAT_PORT, nat.sport);
  }
  if (exp.nat?.dir !== undefined) w.u32(ExpectAttr.NAT_DIR, exp.nat.dir);
  if (exp.fn !== undefined) w.string(ExpectAttr.FN, exp.fn);
}

function encodeGroup(w: AttrWriter, g: TupleGroup, t: Tuple, family: number, what: string): void {
  const v4 = family === Family.INET;
  w.bytes(v4 ? g.ipv4 : g.ipv4 + 1, addressBytes(t.src, family, `${what} source`), addressBytes(t.dst, family, `${what} destination`));
  if (t.proto !== undefined) w.u8(g.l4proto, t.proto);
  if (t.sport !== undefined || t.dport !== undefined) w.u16pair(g.port, t.sport ?? 0, t.dport ?? 0);
}

/**
 * The expectation in the attributes of `buf[start, end)`.
 * @throws SyncDecodeError('bad-payload') when they break 1.4.7's rules.
 */
export function decodeExpectAttributes(buf: Buffer, start: number, end: number): Expectation {
  const exp: Expectation = { family: 0, master: {}, tuple: {}, mask: {} };
  const groups: Array<[TupleGroup, Tuple]> = [[MASTER, exp.master], [EXPECTED, exp.tuple], [MASK, exp.mask]];
  walkAttributes(buf, start, end, EXPECT_ATTR_SIZES, (type, at, n) => {
    for (const [g, t] of groups) {
      if (type === g.ipv4 || type === g.ipv4 + 1) {
        const size = n / 2 as 4 | 16;
        t.l3 = size === 4 ? Family.INET : Family.INET6;
        if (g === MASTER) exp.family = t.l3;
        t.src = addressText(buf, at, size);
        t.dst = addressText(buf, at + size, size);
        return;
      }
      if (type === g.l4proto) { t.proto = buf[at]!; return; }
      if (type === g.port) { t.sport = buf.readUInt16BE(at); t.dport = buf.readUInt16BE(at + 2); return; }
    }
    const nat = (): Tuple => ((exp.nat ??= {}).tuple ??= {});
    switch (type as ExpectAttr) {
      case ExpectAttr.TIMEOUT: exp.timeout = buf.readUInt32BE(at); return;
      case ExpectAttr.FLAGS: exp.flags = buf.readUInt32BE(at); return;
      case ExpectAttr.CLASS: exp.class = buf.readUInt32BE(at); return;
      case ExpectAttr.NAT_IPV4: nat().l3 = Family.INET; nat().src = addressText(buf, at, 4); return;
      case ExpectAttr.NAT_PORT: nat().sport = buf.readUInt16LE(at); return;
      case ExpectAttr.NAT_L4PROTO: nat().proto = buf[at]!; return;
      case ExpectAttr.NAT_DIR: (exp.nat ??= {}).dir = buf.readUInt32BE(at); return;
      case ExpectAttr.HELPER_NAME: exp.helper = cString(buf, at, n); return;
      case ExpectAttr.FN: exp.fn = cString(buf, at, n); return;
    }
  });
  return exp;
}
