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
const OPTIONS: ReadonlyMap<string, Field> = new Map([
  ['-s', Field.SRC], ['-d', Field.DST], ['-r', Field.REPLY_SRC], ['-q', Field.REPLY_DST],
  ['-p', Field.PROTO], ['--sport', Field.SPORT], ['--dport', Field.DPORT],
  ['--reply-port-src', Field.REPLY_SPORT], ['--reply-port-dst', Field.REPLY_DPORT],
  ['-t', Field.TIMEOUT], ['-u', Field.STATUS],
]);

const STATUS_BITS: ReadonlyMap<string, number> = new Map(STATUS_KEYWORDS);

/** The flow of argv (argv[0] the program name), or undefined when the full parser must decide. */
export function fastCreate(argv: readonly string[]): FastCreate | undefined {
  const command = argv[1] === '-I' ? 'CT_CREATE' : argv[1] === '-A' ? 'CT_ADD' : undefined;
  if (command === undefined || argv.length % 2 !== 0) return undefined;
  let seen = 0;
  let src = '', dst = '', replySrc = '', replyDst = '';
  let sport = 0, dport = 0, replySport = 0, replyDport = 0, timeout = 0;
  let status: number | undefined;
  for (let i = 2; i < argv.length; i += 2) {
    const field = OPTIONS.get(argv[i]!);
    const value = argv[i + 1]!;
    if (field === undefined || seen & (1 << field)) return undefined;
    seen |= 1 << field;
    switch (field) {
      case Field.SRC: case Field.DST: case Field.REPLY_SRC: case Field.REPLY_DST:
        if (!isDottedQuad(value)) return undefined;
        if (field === Field.SRC) src = value;
        else if (field === Field.DST) dst = value;
        else if (field === Field.REPLY_SRC) replySrc = value;
        else replyDst = value;
        break;
      case Field.PROTO:
        if (value !== 'udp') return undefined;
        break;
      case Field.SPORT: case Field.DPORT: case Field.REPLY_SPORT: case Field.REPLY_DPORT: {
        const port = decimal(value, 0, value.length, 5);
        if (!(seen & (1 << Field.PROTO)) || port === undefined || port > PORT_MAX) return undefined;
        if (field === Field.SPORT) sport = port;
        else if (field === Field.DPORT) dport = port;
        else if (field === Field.REPLY_SPORT) replySport = port;
        else replyDport = port;
        break;
      }
      case Field.TIMEOUT: {
        const t = decimal(value, 0, value.length, TIMEOUT_DIGITS_MAX);
        if (t === undefined) return undefined;
        timeout = t;
        break;
      }
      case Field.STATUS: {
        const bits = STATUS_BITS.get(value);
        if (bits === undefined) return undefined;
        status = bits;
        break;
      }
    }
  }
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

function bits(...fields: Field[]): number {
  return fields.reduce((mask, f) => mask | (1 << f), 0);
}

/** s[start, end) as a decimal number of at most `digits` digits, without a leading zero (but `0`). */
function decimal(s: string, start: number, end: number, digits: number): number | undefined {
  const length = end - start;
  if (length === 0 || length > digits || (length > 1 && s.charCodeAt(start) === 0x30)) return undefined;
  let n = 0;
  for (let i = start; i < end; i++) {
    const d = s.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return undefined;
    n = n * 10 + d;
  }
  return n;
}

/** Four decimal octets 0-255 without leading zeros (which inet_aton() would read as octal). */
function isDottedQuad(s: string): boolean {
  let parts = 0;
  let start = 0;
  for (let i = 0; i <= s.length; i++) {
    if (i < s.length && s.charCodeAt(i) !== 0x2e) continue;
    const octet = decimal(s, start, i, 3);
    if (octet === undefined || octet > 255) return false;
    parts++;
    start = i + 1;
  }
  return parts === 4;
}
