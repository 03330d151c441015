/**
 * Access to the kernel messages captured by tools/capture-fixtures.ts
 * (test/fixtures/ctnetlink), and a seeded random source for property tests.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { MessageCursor } from '../../src/netlink/messages';
import { readNfgenmsg, NFGENMSG_LEN } from '../../src/nfnetlink/header';

export const FIXTURE_DIR = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'ctnetlink');

/** Names (without .hex) of the captured messages whose name starts with `prefix`. */
export function fixtureNames(prefix = ''): string[] {
  return readdirSync(FIXTURE_DIR)
    .filter((f) => f.endsWith('.hex') && f.startsWith(prefix))
    .map((f) => f.slice(0, -'.hex'.length))
    .sort();
}

/** Names of the conntrack entries and events (IPCTNL_MSG_CT_NEW / _DELETE messages). */
export function flowFixtureNames(): string[] {
  return fixtureNames().filter((name) => !name.startsWith('stats-') && !name.startsWith('expect-'));
}

/** One captured netlink message: nlmsghdr, nfgenmsg, attributes. */
export interface CapturedMessage {
  name: string;
  buf: Buffer;
  /** nlmsg_type */
  type: number;
  /** nlmsg_flags */
  flags: number;
  /** nfgen_family */
  family: number;
  /** nfgenmsg res_id (the CPU of a per-CPU statistics message) */
  resId: number;
  /** The attribute area: after the nfgenmsg, to the end of the message. */
  start: number;
  end: number;
}

export function loadMessage(name: string): CapturedMessage {
  const text = readFileSync(path.join(FIXTURE_DIR, `${name}.hex`), 'utf8');
  const buf = Buffer.from(text.replace(/^#.*$/gm, '').replace(/\s+/g, ''), 'hex');
  const m = new MessageCursor(buf, buf.length);
  if (!m.next() || m.end !== buf.length) throw new Error(`${name}.hex does not hold exactly one netlink message`);
  const { family, resId } = readNfgenmsg(buf, m.payload, m.end);
  return { name, buf, type: m.type, flags: m.flags, family, resId, start: m.payload + NFGENMSG_LEN, end: m.end };
}

/** What the reference `conntrack` printed for the captured state (NAME.txt), if anything. */
export function fixtureText(name: string): string | undefined {
  try {
    return readFileSync(path.join(FIXTURE_DIR, `${name}.txt`), 'utf8');
  } catch {
    return undefined;
  }
}

/** A small seeded PRNG (mulberry32): property tests must fail the same way twice. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [0, n). */
export function randomInt(random: () => number, n: number): number {
  return Math.floor(random() * n);
}

export function randomBytes(random: () => number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = randomInt(random, 256);
  return b;
}

/*
 * Readable builders for hand-made attribute bytes: `nest(1, attr(2, be16(80)))`.
 * They pad like the kernel does and set NLA_F_NESTED on nests.
 */

/** One attribute: header, value, padding to 4 bytes. `length` overrides nla_len (for malformed input). */
export function attr(type: number, value: Uint8Array, length = 4 + value.length): Buffer {
  const out = Buffer.alloc(4 + ((value.length + 3) & ~3));
  out.writeUInt16LE(length, 0);
  out.writeUInt16LE(type, 2);
  out.set(value, 4);
  return out;
}

export function nest(type: number, ...children: Uint8Array[]): Buffer {
  return attr(type | 0x8000, Buffer.concat(children));
}

export function u8(v: number): Buffer {
  return Buffer.from([v]);
}

export function be16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
}

export function be32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v);
  return b;
}

export function be64(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(v);
  return b;
}

/** A NUL-terminated string value. */
export function cstr(s: string): Buffer {
  return Buffer.from(`${s}\0`);
}
