/**
 * Malformed ctnetlink datagrams for the fuzz properties (fuzz-properties.ts):
 * a fast-check arbitrary that starts from the captured kernel messages
 * (test/fixtures/ctnetlink) and damages them the ways a decoder can be hurt.
 *
 * Mutations work on the attribute tree first, so that the damage reaches the
 * deep decoders with the framing still right (unknown types, wrong nesting,
 * odd value lengths, an attribute repeated hundreds of times), then on the
 * bytes, so that the framing itself breaks (bad nla_len, bad nlmsg_len,
 * truncation). Every choice is a plain number resolved modulo what the seed
 * has, so fast-check can shrink a failure to a few edits.
 */
import fc from 'fast-check';
import { NLMSG_HDRLEN } from '../../src/netlink/constants';
import { fixtureNames, loadMessage } from './ctnetlink-fixtures';

const NLA_F_NESTED = 0x8000;
/** nlmsghdr + nfgenmsg: kept as bytes, only the type and flags get edited. */
const HEAD = NLMSG_HDRLEN + 4;
/** Repeats stop at this many bytes of attributes: the kernel's messages fit in 64 KiB datagrams. */
const MAX_MESSAGE = 8192;

/** One attribute: a value, or (NLA_F_NESTED set) the attributes nested in it. */
interface Attr {
  type: number;
  value: Buffer | Attr[];
}

interface Seed {
  head: Buffer;
  attrs: Attr[];
}

function parseAttrs(buf: Buffer, start: number, end: number): Attr[] {
  const out: Attr[] = [];
  let pos = start;
  while (end - pos >= 4) {
    const len = buf.readUInt16LE(pos);
    const type = buf.readUInt16LE(pos + 2);
    if (len < 4 || pos + len > end) break;
    out.push({ type, value: type & NLA_F_NESTED ? parseAttrs(buf, pos + 4, pos + len) : buf.subarray(pos + 4, pos + len) });
    pos += (len + 3) & ~3;
  }
  return out;
}

let seeds: Seed[] | undefined;

/** Every captured message (entries, events, expectations, statistics) as a tree. */
function fuzzSeeds(): Seed[] {
  seeds ??= fixtureNames().map((name) => {
    const m = loadMessage(name);
    return { head: m.buf.subarray(0, HEAD), attrs: parseAttrs(m.buf, m.start, m.end) };
  });
  return seeds;
}

/**
 * Writes the tree at `at` (room for sizeOf(attrs) bytes) and returns where
 * it ends; records where each attribute header went. nla_len wraps at 16
 * bits for a nest past 64 KiB, which is damage too.
 */
function writeAttrs(attrs: Attr[], buf: Buffer, at: number, headers: number[]): number {
  for (const a of attrs) {
    const start = at;
    headers.push(start);
    buf.writeUInt16LE(a.type & 0xffff, start + 2);
    at = Array.isArray(a.value) ? writeAttrs(a.value, buf, start + 4, headers) : start + 4 + a.value.copy(buf, start + 4);
    buf.writeUInt16LE((at - start) & 0xffff, start);
    at = (at + 3) & ~3;
  }
  return at;
}

type TreeEdit =
  | { kind: 'delete'; at: number }
  /** The same attribute many times over (huge counts). */
  | { kind: 'repeat'; at: number; times: number }
  /** A new attribute of any type, known or not, nested or not. */
  | { kind: 'insert'; at: number; type: number; value: Uint8Array }
  /** A value cut short or grown (odd lengths: 0, 1, 3, 5…). */
  | { kind: 'resize'; at: number; length: number; fill: number }
  | { kind: 'retype'; at: number; type: number }
  /** An attribute moved into another nest (wrong nesting). */
  | { kind: 'move'; at: number; to: number }
  /** A nest flattened into a value, or a value read as a nest. */
  | { kind: 'flip'; at: number };

type ByteEdit =
  | { kind: 'byte'; at: number; value: number }
  | { kind: 'nla_len'; at: number; value: number }
  | { kind: 'nlmsg_len'; message: number; value: number }
  | { kind: 'cut'; at: number };

export interface DatagramRecipe {
  messages: Array<{ seed: number; type: number | undefined; flags: number | undefined; edits: TreeEdit[] }>;
  bytes: ByteEdit[];
}

/** Every attribute of a tree with the list that holds it, depth first. */
function flatten(attrs: Attr[], out: Array<{ list: Attr[]; index: number }> = []): Array<{ list: Attr[]; index: number }> {
  attrs.forEach((a, index) => {
    out.push({ list: attrs, index });
    if (Array.isArray(a.value)) flatten(a.value, out);
  });
  return out;
}

/** Bytes the attributes take on the wire. */
function sizeOf(attrs: Attr[]): number {
  let n = 0;
  for (const a of attrs) n += 4 + ((Array.isArray(a.value) ? sizeOf(a.value) : a.value.length + 3) & ~3);
  return n;
}

/** Whether `list` is `a`'s own list of nested attributes or lies inside it. */
function holds(a: Attr, list: Attr[]): boolean {
  return Array.isArray(a.value) && (a.value === list || a.value.some((child) => holds(child, list)));
}

function cloneAttrs(attrs: Attr[]): Attr[] {
  return attrs.map((a) => ({ type: a.type, value: Array.isArray(a.value) ? cloneAttrs(a.value) : a.value }));
}

function applyTreeEdit(root: Attr[], e: TreeEdit): void {
  const all = flatten(root);
  if (all.length === 0) {
    if (e.kind === 'insert') root.push({ type: e.type, value: Buffer.from(e.value) });
    return;
  }
  const { list, index } = all[e.at % all.length]!;
  const a = list[index]!;
  switch (e.kind) {
    case 'delete':
      list.splice(index, 1);
      break;
    case 'repeat': {
      // Copies, not shared references: with sharing, a repeat inside a repeat would multiply.
      const times = Math.min(e.times, Math.floor((MAX_MESSAGE - sizeOf(root)) / sizeOf([a])));
      list.splice(index, 0, ...cloneAttrs(Array.from({ length: Math.max(0, times) }, () => a)));
      break;
    }
      break;
    case 'insert':
      (Array.isArray(a.value) ? a.value : list).push({
        type: e.type,
        value: e.type & NLA_F_NESTED ? parseAttrs(Buffer.from(e.value), 0, e.value.length) : Buffer.from(e.value),
      });
      break;
    case 'resize':
      if (!Array.isArray(a.value)) {
        const v = Buffer.alloc(e.length, e.fill);
        a.value.copy(v, 0, 0, Math.min(e.length, a.value.length));
        list[index] = { type: a.type, value: v };
      }
      break;
    case 'retype':
      list[index] = { type: (e.type & ~NLA_F_NESTED) | (a.type & NLA_F_NESTED), value: a.value };
      break;
    case 'move': {
      const target = all[e.to % all.length]!;
      const into = target.list[target.index]!.value;
      if (Array.isArray(into) && !holds(a, into)) {
        list.splice(index, 1);
        into.push(a);
      }
      break;
    }
    case 'flip':
      if (Array.isArray(a.value)) {
        const bytes = Buffer.alloc(sizeOf(a.value));
        writeAttrs(a.value, bytes, 0, []);
        list[index] = { type: a.type & ~NLA_F_NESTED, value: bytes };
      } else {
        list[index] = { type: a.type | NLA_F_NESTED, value: parseAttrs(a.value, 0, a.value.length) };
      }
      break;
  }
}

/** The datagram a recipe describes, and where its messages start (for fixing up seq and pid). */
export function buildDatagram(recipe: DatagramRecipe): { datagram: Buffer; messageStarts: number[] } {
  const all = fuzzSeeds();
  const messages = recipe.messages.map((m) => {
    const seed = all[m.seed % all.length]!;
    const attrs = cloneAttrs(seed.attrs);
    for (const e of m.edits) applyTreeEdit(attrs, e);
    return { m, seed, attrs, length: HEAD + sizeOf(attrs) };
  });
  let datagram = Buffer.alloc(messages.reduce((n, { length }) => n + length, 0));
  const headers: number[] = [];
  const messageStarts: number[] = [];
  let at = 0;
  for (const { m, seed, attrs, length } of messages) {
    messageStarts.push(at);
    seed.head.copy(datagram, at);
    datagram.writeUInt32LE(length, at);
    if (m.type !== undefined) datagram.writeUInt16LE(m.type, at + 4);
    if (m.flags !== undefined) datagram.writeUInt16LE(m.flags, at + 6);
    at = writeAttrs(attrs, datagram, at + HEAD, headers);
  }
  for (const e of recipe.bytes) {
    if (datagram.length === 0) break;
    switch (e.kind) {
      case 'byte':
        datagram[e.at % datagram.length] = e.value;
        break;
      case 'nla_len':
        if (headers.length > 0) {
          const at = headers[e.at % headers.length]!;
          if (at + 2 <= datagram.length) datagram.writeUInt16LE(e.value, at);
        }
        break;
      case 'nlmsg_len': {
        const at = messageStarts[e.message % messageStarts.length]!;
        if (at + 4 <= datagram.length) datagram.writeUInt32LE(e.value, at);
        break;
      }
      case 'cut':
        datagram = datagram.subarray(0, e.at % datagram.length);
        break;
    }
  }
  return { datagram, messageStarts: messageStarts.filter((s) => s + NLMSG_HDRLEN <= datagram.length) };
}

const pick = fc.nat();
/** Known types most of the time (they reach the decoders' switch arms), anything now and then. */
const attrType = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 30 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) },
);
const nestedType = attrType.map((t) => t | NLA_F_NESTED);

const treeEdit: fc.Arbitrary<TreeEdit> = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: pick }),
  fc.record({
    kind: fc.constant('repeat' as const),
    at: pick,
    times: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 3 }) }, { weight: 1, arbitrary: fc.integer({ min: 100, max: 1000 }) }),
  }),
  fc.record({ kind: fc.constant('insert' as const), at: pick, type: fc.oneof(attrType, nestedType), value: fc.uint8Array({ maxLength: 24 }) }),
  fc.record({ kind: fc.constant('resize' as const), at: pick, length: fc.integer({ min: 0, max: 20 }), fill: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('retype' as const), at: pick, type: attrType }),
  fc.record({ kind: fc.constant('move' as const), at: pick, to: pick }),
  fc.record({ kind: fc.constant('flip' as const), at: pick }),
);

const u16Length = fc.oneof(fc.constantFrom(0, 1, 3, 4, 5, 7, 8, 0x7fff, 0x8000, 0xffff), fc.integer({ min: 0, max: 0xffff }));
const u32Length = fc.oneof(fc.constantFrom(0, 1, 15, 16, 17, 20, 0x7fffffff, 0xffffffff), fc.integer({ min: 0, max: 0xffffffff }));

const byteEdit: fc.Arbitrary<ByteEdit> = fc.oneof(
  fc.record({ kind: fc.constant('byte' as const), at: pick, value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('nla_len' as const), at: pick, value: u16Length }),
  fc.record({ kind: fc.constant('nlmsg_len' as const), message: pick, value: u32Length }),
  fc.record({ kind: fc.constant('cut' as const), at: pick }),
);

/** Message types: conntrack and expectation entries, statistics, control messages, anything. */
const messageType = fc.option(
  fc.oneof(fc.constantFrom(0x100, 0x102, 0x104, 0x105, 0x200, 0x202, 0x203, 1, 2, 3), fc.integer({ min: 0, max: 0xffff })),
  { nil: undefined, freq: 3 },
);

/** Recipes: one to three messages, each mostly lightly damaged, the bytes sometimes. */
export const datagramRecipe: fc.Arbitrary<DatagramRecipe> = fc.record({
  messages: fc.array(
    fc.record({
      seed: pick,
      type: messageType,
      flags: fc.option(fc.integer({ min: 0, max: 0xffff }), { nil: undefined, freq: 4 }),
      edits: fc.array(treeEdit, { maxLength: 5 }),
    }),
    { minLength: 1, maxLength: 3 },
  ),
  bytes: fc.array(byteEdit, { maxLength: 3 }),
});
