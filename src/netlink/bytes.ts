/**
 * Integers read and written byte by byte. Buffer's readUInt16BE and its
 * kin check their range and cost a builtin call each (about 10 ns on
 * Node 20, against 1 ns for indexing): the paths that run per message or
 * per attribute (netlink and sync headers, sync attributes, cache records)
 * use these instead. The caller has made sure the bytes are there.
 */

export function readU16BE(buf: Uint8Array, at: number): number {
  return (buf[at]! << 8) | buf[at + 1]!;
}

export function readU32BE(buf: Uint8Array, at: number): number {
  return ((buf[at]! << 24) | (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!) >>> 0;
}

export function readU16LE(buf: Uint8Array, at: number): number {
  return buf[at]! | (buf[at + 1]! << 8);
}

export function readU32LE(buf: Uint8Array, at: number): number {
  return (buf[at]! | (buf[at + 1]! << 8) | (buf[at + 2]! << 16) | (buf[at + 3]! << 24)) >>> 0;
}

export function writeU16BE(buf: Uint8Array, at: number, value: number): void {
  buf[at] = (value >>> 8) & 0xff;
  buf[at + 1] = value & 0xff;
}

export function writeU32BE(buf: Uint8Array, at: number, value: number): void {
  buf[at] = value >>> 24;
  buf[at + 1] = (value >>> 16) & 0xff;
  buf[at + 2] = (value >>> 8) & 0xff;
  buf[at + 3] = value & 0xff;
}
