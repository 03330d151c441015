/**
 * The common `-R` line, decided without the full parser: an IPv4 UDP `-I`
 * or `-A` as scripts write it and as `conntrack -L -o save` prints it
 * (`-A -t 600 -u UNSET -s A -d B -r B -q A -p udp --sport 1000 --dport 53
 * --reply-port-src 53 --reply-port-dst 1000`). Parsing such a line is most
 * of what `-R` costs; here it is one pass over the words.
 *
 * Only lines whose meaning is beyond doubt are taken: each option at most
 * once, in its plain spelling, values in their canonical form (dotted quads
 * without leading zeros, decimal numbers), nothing that warns. Anything else
 * returns undefined and goes to the full parser, which alone decides every
 * error, so messages and exit codes stay those of 1.4.7. The flow built
 * here is the one the full parser builds for the same words (a property
 * test compares the two on generated lines).
 */
import type { Flow, Tuple } from '../ctnetlink/flow';
import { Proto } from '../ctnetlink/constants';
import { STATUS_KEYWORDS } from './status-keywords';

/** A `-I`/`-A` line decided here. */
export interface FastCreate {
  readonly command: 'CT_CREATE' | 'CT_ADD';
  readonly flow: Flow;
}

const AF_INET = 2;
const PORT_MAX = 65535;
/** Longer timeouts go to the full parser (and its overflow rules). */
const TIMEOUT_DIGITS_MAX = 9;

const enum Field {
  SRC, DST, REPLY_SRC, REPLY_DST, PROTO, SPORT, DPORT, REPLY_SPORT, REPLY_DPORT, TIMEOUT, STATUS,
}

/** The option words taken, and the field each sets. Port options only after `-p udp`. */
const OPTIONS: readonly (readonly [string, Field])[] = [
  ['-s', Field.SRC], ['-d', Field.DST], ['-r', Field.REPLY_SRC], ['-q', Field.REPLY_DST],
  ['-p', Field.PROTO], ['--sport', Field.SPORT], ['--dport', Field.DPORT],
  ['--reply-port-src', Field.REPLY_SPORT], ['--reply-port-dst', Field.REPLY_DPORT],
  ['-t', Field.TIMEOUT], ['-u', Field.STATUS],
];

/**
 * The options by length, third (or second) byte and last byte, which tell
 * them apart: one lookup and one comparison per option word.
 */
const optionKey = (length: number, third: number, last: number): number => (length << 16) | (third << 8) | last;
const OPTION_INDEX: ReadonlyMap<number, readonly [string, Field]> = new Map(
  OPTIONS.map((option) => {
    const [name] = option;
    return [optionKey(name.length, name.charCodeAt(Math.min(2, name.length - 1)), name.charCodeAt(name.length - 1)), option];
  }),
);

const SPACE = 0x20;
const TAB = 0x09;
const NEWLINE = 0x0a;
const QUOTE = 0x22;

/**
 * The flow of one line as fgets() read it (see load-file.ts), or undefined
 * when the tokenizer and the full parser must decide. Works on the bytes:
 * only the four addresses become strings.
 */
export function fastCreate(line: Buffer): FastCreate | undefined {
  const words = new Words(line);
  if (!words.next()) return undefined;
  const command = words.is('-I') ? 'CT_CREATE' : words.is('-A') ? 'CT_ADD' : undefined;
  if (command === undefined) return undefined;
  let seen = 0;
  let src = '', dst = '', replySrc = '', replyDst = '';
  let sport = 0, dport = 0, replySport = 0, replyDport = 0, timeout = 0;
  let status: number | undefined;
  while (words.next()) {
    const field = words.option();
    if (field === undefined || seen & (1 << field) || !words.next()) return undefined;
    seen |= 1 << field;
    switch (field) {
      case Field.SRC: case Field.DST: case Field.REPLY_SRC: case Field.REPLY_DST: {
        const address = words.dottedQuad();
        if (address === undefined) return undefined;
        if (field === Field.SRC) src = address;
        else if (field === Field.DST) dst = address;
        else if (field === Field.REPLY_SRC) replySrc = address;
        else replyDst = address;
        break;
      }
      case Field.PROTO:
        if (!words.is('udp')) return undefined;
        break;
      case Field.SPORT: case Field.DPORT: case Field.REPLY_SPORT: case Field.REPLY_DPORT: {
        const port = words.decimal(5);
        if (!(seen & (1 << Field.PROTO)) || port === undefined || port > PORT_MAX) return undefined;
        if (field === Field.SPORT) sport = port;
        else if (field === Field.DPORT) dport = port;
        else if (field === Field.REPLY_SPORT) replySport = port;
        else replyDport = port;
        break;
      }
      case Field.TIMEOUT: {
        const t = words.decimal(TIMEOUT_DIGITS_MAX);
        if (t === undefined) return undefined;
        timeout = t;
        break;
      }
      case Field.STATUS: {
        const keyword = STATUS_KEYWORDS.find(([name]) => words.is(name));
        if (keyword === undefined) return undefined;
        status = keyword[1];
        break;
      }
    }
  }
  if (!words.clean) return undefined;
  const origFields = bits(Field.SRC, Field.DST, Field.PROTO, Field.SPORT, Field.DPORT, Field.TIMEOUT);
  const replyFields = bits(Field.REPLY_SRC, Field.REPLY_DST, Field.REPLY_SPORT, Field.REPLY_DPORT);
  // The original direction in full; the reply in full or not at all (then it is derived).
  if ((seen & origFields) !== origFields) return undefined;
  const replyGiven = seen & replyFields;
  if (replyGiven !== 0 && replyGiven !== replyFields) return undefined;

  const orig: Tuple = { src, l3: AF_INET, dst, proto: Proto.UDP, sport, dport };
  const reply: Tuple = replyGiven
    ? { src: replySrc, l3: AF_INET, dst: replyDst, proto: Proto.UDP, sport: replySport, dport: replyDport }
    : { src: dst, l3: AF_INET, dst: src, proto: Proto.UDP, sport: dport, dport: sport };
  const flow: Flow = status === undefined ? { family: AF_INET, orig, reply, timeout } : { family: AF_INET, orig, reply, timeout, status };
  return { command, flow };
}

/**
 * The words of a line, one after the other, as byte ranges. A byte the
 * fast path leaves to the tokenizer (a quote, a NUL, a control or non-ASCII
 * byte, a newline before the end) ends the words and clears `clean`.
 */
class Words {
  start = 0;
  end = 0;
  clean = true;

  constructor(private readonly line: Buffer) {}

  /** Moves to the next word; false at the end of the line or at a byte left to the tokenizer. */
  next(): boolean {
    const line = this.line;
    let i = this.end;
    while (i < line.length && (line[i] === SPACE || line[i] === TAB)) i++;
    if (i === line.length || (line[i] === NEWLINE && i === line.length - 1)) return false;
    this.start = i;
    while (i < line.length) {
      const c = line[i]!;
      if (c === SPACE || c === TAB || c === NEWLINE) break;
      if (c <= SPACE || c >= 0x7f || c === QUOTE) {
        this.clean = false;
        return false;
      }
      i++;
    }
    this.end = i;
    return true;
  }

  is(word: string): boolean {
    if (this.end - this.start !== word.length) return false;
    for (let i = 0; i < word.length; i++) if (this.line[this.start + i] !== word.charCodeAt(i)) return false;
    return true;
  }

  option(): Field | undefined {
    const length = this.end - this.start;
    const option = OPTION_INDEX.get(optionKey(length, this.line[this.start + Math.min(2, length - 1)]!, this.line[this.end - 1]!));
    return option && this.is(option[0]) ? option[1] : undefined;
  }

  /** The word as a decimal number of at most `digits` digits, without a leading zero (but `0`). */
  decimal(digits: number, start = this.start, end = this.end): number | undefined {
    const length = end - start;
    if (length === 0 || length > digits || (length > 1 && this.line[start] === 0x30)) return undefined;
    let n = 0;
    for (let i = start; i < end; i++) {
      const d = this.line[i]! - 0x30;
      if (d < 0 || d > 9) return undefined;
      n = n * 10 + d;
    }
    return n;
  }

  /** The word when it is four decimal octets 0-255 without leading zeros (inet_aton() reads those as octal). */
  dottedQuad(): string | undefined {
    let parts = 0;
    let start = this.start;
    for (let i = start; i <= this.end; i++) {
      if (i < this.end && this.line[i] !== 0x2e) continue;
      const octet = this.decimal(3, start, i);
      if (octet === undefined || octet > 255) return undefined;
      parts++;
      start = i + 1;
    }
    return parts === 4 ? this.line.toString('latin1', this.start, this.end) : undefined;
  }
}

function bits(...fields: Field[]): number {
  return fields.reduce((mask, f) => mask | (1 << f), 0);
}
