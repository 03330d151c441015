/**
 * The default text format of text.ts written straight from the received
 * bytes: the hot path of `conntrack -L` and `-D`. formatText builds a JS
 * string from a decoded Flow (a dozen objects and strings per entry); this
 * reads each value where the kernel put it (WireEntry) and writes digits and
 * names into a TextBuffer, so a million-entry dump makes next to no garbage.
 * The bytes are formatText's, line for line; test/unit/format-text-wire.test.ts
 * checks that over every fixture and option.
 */

import { cString } from '../netlink/attributes';
import { IPV6_QUAD_TAIL, ipv6Layout } from '../ctnetlink/address';
import { Status } from '../ctnetlink/status';
import { Slot, TupleField, type WireEntry } from '../ctnetlink/wire-entry';
import { dccpStateName, L4Layout, l4Layout, sctpStateName, tcpStateName, unspecifiedAddress } from './names';
import { EVENT_PIECES, L3_PIECES, L4_PIECES, labelsText, type TextOptions } from './text';
import type { TextBuffer } from './text-buffer';
import { ctimeOfNanoseconds, textDeltaTime, wallClockSeconds } from './timestamp';

const SPACE = 0x20;
const NEWLINE = 0x0a;
const COLON = 0x3a;
const DOT = 0x2e;

/** Pieces encoded once: copying bytes beats reading a string per character. */
const piece = (s: string): Buffer => Buffer.from(s, 'latin1');
const L3 = L3_PIECES.map(piece);
const L4 = L4_PIECES.map(piece);
const SRC = piece('src=');
const DST = piece(' dst=');
const SPORT = piece('sport=');
const DPORT = piece('dport=');
const TYPE = piece('type=');
const CODE = piece('code=');
const ID = piece('id=');
const UNREPLIED = piece('[UNREPLIED] ');
const ASSURED = piece('[ASSURED] ');
const MARK = piece('mark=');
const USE = piece('use=');

/** Writes one entry in the default format, newline included. */
export function writeTextLine(out: TextBuffer, e: WireEntry, opts: TextOptions): void {
  e.index();
  if (opts.event !== undefined) out.ascii(EVENT_PIECES[opts.event]);
  if (opts.extended) out.bytes(L3[e.family & 0xff]!);
  out.bytes(L4[e.has(Slot.ORIG + TupleField.PROTO) ? e.u8(Slot.ORIG + TupleField.PROTO) : 0]!);
  if (e.has(Slot.TIMEOUT)) number(out, e.u32(Slot.TIMEOUT));
  if (e.has(Slot.TCP_STATE)) word(out, tcpStateName(e.u8(Slot.TCP_STATE)));
  if (e.has(Slot.SCTP_STATE)) word(out, sctpStateName(e.u8(Slot.SCTP_STATE)));
  if (e.has(Slot.DCCP_STATE)) word(out, dccpStateName(e.u8(Slot.DCCP_STATE)));

  const status = e.has(Slot.STATUS) ? e.u32(Slot.STATUS) : -1;
  tuple(out, e, Slot.ORIG);
  if (e.has(Slot.ORIG + TupleField.ZONE)) tagged(out, 'zone-orig=', e.u16(Slot.ORIG + TupleField.ZONE));
  if (e.has(Slot.COUNTERS_ORIG)) counters(out, e, Slot.COUNTERS_ORIG);
  if (status >= 0 && !(status & Status.SEEN_REPLY)) out.bytes(UNREPLIED);

  // As text.ts: a reply with none of the tuple's fields prints nothing.
  if (
    e.has(Slot.REPLY + TupleField.SRC) ||
    e.has(Slot.REPLY + TupleField.DST) ||
    e.has(Slot.REPLY + TupleField.PROTO) ||
    e.has(Slot.REPLY + TupleField.ZONE)
  ) {
    tuple(out, e, Slot.REPLY);
  }
  if (e.has(Slot.REPLY + TupleField.ZONE)) tagged(out, 'zone-reply=', e.u16(Slot.REPLY + TupleField.ZONE));
  if (e.has(Slot.COUNTERS_REPLY)) counters(out, e, Slot.COUNTERS_REPLY);
  if (status >= 0) {
    if (status & Status.HW_OFFLOAD) out.ascii('[HW_OFFLOAD] ');
    else if (status & Status.OFFLOAD) out.ascii('[OFFLOAD] ');
    else if (status & Status.ASSURED) out.bytes(ASSURED);
  }

  if (e.has(Slot.MARK)) tagged(out, MARK, e.u32(Slot.MARK));
  if (e.has(Slot.SECMARK)) tagged(out, 'secmark=', e.u32(Slot.SECMARK));
  if (e.has(Slot.SECCTX)) named(out, 'secctx=', e, Slot.SECCTX);
  if (e.has(Slot.ZONE)) tagged(out, 'zone=', e.u16(Slot.ZONE));
  if (e.has(Slot.TIMESTAMP_START)) {
    const stop = e.has(Slot.TIMESTAMP_STOP) ? e.bigint(Slot.TIMESTAMP_STOP) : undefined;
    out.ascii('delta-time=' + textDeltaTime(e.bigint(Slot.TIMESTAMP_START), stop, (opts.nowSeconds ?? wallClockSeconds)()) + ' ');
  }
  if (opts.ktimestamp) {
    if (e.has(Slot.TIMESTAMP_START)) out.ascii('[start=' + ctimeOfNanoseconds(e.bigint(Slot.TIMESTAMP_START)) + '] ');
    if (e.has(Slot.TIMESTAMP_STOP)) out.ascii('[stop=' + ctimeOfNanoseconds(e.bigint(Slot.TIMESTAMP_STOP)) + '] ');
  }
  if (e.has(Slot.HELPER)) named(out, 'helper=', e, Slot.HELPER);
  if (e.has(Slot.USE)) tagged(out, USE, e.u32(Slot.USE));
  if (opts.id && e.has(Slot.ID)) tagged(out, ID, e.u32(Slot.ID));
  if (opts.labelName !== undefined && e.has(Slot.LABELS)) {
    const at = e.at[Slot.LABELS]!;
    out.text(labelsText(e.buf.subarray(at, at + e.len[Slot.LABELS]!), opts.labelName));
  }
  // Every piece ends with a space; C drops the last one, and the newline takes its place.
  out.buf[out.length - 1] = NEWLINE;
}

function number(out: TextBuffer, n: number): void {
  out.uint(n);
  out.byte(SPACE);
}

function word(out: TextBuffer, s: string): void {
  out.ascii(s);
  out.byte(SPACE);
}

function tagged(out: TextBuffer, tag: string | Buffer, n: number): void {
  if (typeof tag === 'string') out.ascii(tag);
  else out.bytes(tag);
  number(out, n);
}

/** A string attribute, as the decoder reads it (up to a NUL, UTF-8). */
function named(out: TextBuffer, tag: string, e: WireEntry, slot: Slot): void {
  const at = e.at[slot]!;
  out.ascii(tag);
  out.text(cString(e.buf, at, at + e.len[slot]!));
  out.byte(SPACE);
}

function counters(out: TextBuffer, e: WireEntry, nest: Slot.COUNTERS_ORIG | Slot.COUNTERS_REPLY): void {
  out.ascii('packets=');
  counter(out, e, nest + 1);
  out.ascii(' bytes=');
  counter(out, e, nest + 2);
  out.byte(SPACE);
}

function counter(out: TextBuffer, e: WireEntry, slot: Slot): void {
  const v = e.has(slot) ? e.u64(slot) : 0;
  if (typeof v === 'number') out.uint(v);
  else out.ascii(v.toString());
}

/** `src=… dst=… ` and the layer-4 fields of one direction, like text.ts's tupleText. */
function tuple(out: TextBuffer, e: WireEntry, base: Slot.ORIG | Slot.REPLY): void {
  const zero = unspecifiedAddress(e.family);
  if (zero !== undefined) {
    out.bytes(SRC);
    address(out, e, base + TupleField.SRC, zero);
    out.bytes(DST);
    address(out, e, base + TupleField.DST, zero);
    out.byte(SPACE);
  }
  const proto = base + TupleField.PROTO;
  switch (l4Layout(e.has(proto) ? e.u8(proto) : undefined)) {
    case L4Layout.PORTS:
      out.bytes(SPORT);
      number(out, field16(e, base + TupleField.SPORT));
      out.bytes(DPORT);
      number(out, field16(e, base + TupleField.DPORT));
      break;
    case L4Layout.GRE_KEYS:
      word(out, 'srckey=0x' + field16(e, base + TupleField.SPORT).toString(16));
      word(out, 'dstkey=0x' + field16(e, base + TupleField.DPORT).toString(16));
      break;
    case L4Layout.ICMP:
      out.bytes(TYPE);
      number(out, e.has(base + TupleField.ICMP_TYPE) ? e.u8(base + TupleField.ICMP_TYPE) : 0);
      out.bytes(CODE);
      number(out, e.has(base + TupleField.ICMP_CODE) ? e.u8(base + TupleField.ICMP_CODE) : 0);
      out.bytes(ID);
      number(out, field16(e, base + TupleField.ICMP_ID));
      break;
    default:
      break;
  }
}

function field16(e: WireEntry, slot: Slot): number {
  return e.has(slot) ? e.u16(slot) : 0;
}

function address(out: TextBuffer, e: WireEntry, slot: Slot, zero: string): void {
  if (!e.has(slot)) {
    out.ascii(zero);
    return;
  }
  if (e.len[slot] === 16) ipv6(out, e.buf, e.at[slot]!);
  else ipv4(out, e.buf, e.at[slot]!);
}

/** address.ts's formatIPv4, into bytes. */
function ipv4(out: TextBuffer, b: Buffer, at: number): void {
  out.uint(b[at]!);
  out.byte(DOT);
  out.uint(b[at + 1]!);
  out.byte(DOT);
  out.uint(b[at + 2]!);
  out.byte(DOT);
  out.uint(b[at + 3]!);
}

/** address.ts's formatIPv6, into bytes. */
function ipv6(out: TextBuffer, b: Buffer, at: number): void {
  const layout = ipv6Layout(b, at);
  const runBase = layout & 0xf;
  const runEnd = runBase + ((layout >> 4) & 0xf);
  for (let i = 0; i < 8; i++) {
    if (i >= runBase && i < runEnd) {
      if (i === runBase) out.byte(COLON);
      continue;
    }
    if (i !== 0) out.byte(COLON);
    if (i === 6 && layout & IPV6_QUAD_TAIL) {
      ipv4(out, b, at + 12);
      return;
    }
    out.hex16((b[at + 2 * i]! << 8) | b[at + 2 * i + 1]!);
  }
  if (runEnd === 8 && runEnd > runBase) out.byte(COLON);
}
