/**
 * glibc's number parsing (strtoul, strtol, atoi, atol) and C's narrowing
 * assignment, with their saturation and truncation quirks: 1.4.7's tools read
 * every number of a command line or config file this way, and what they
 * accept (` 12abc`, `0x10`, `4294967297` as 1) is part of their behaviour.
 */
const ULONG_MAX = (1n << 64n) - 1n;
const LONG_MAX = (1n << 63n) - 1n;

/** The value of a digit of any radix up to 36 (0-9, a-z, A-Z), 36 for any other character. */
function digitValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  const lower = code | 0x20;
  return lower >= 0x61 && lower <= 0x7a ? lower - 0x61 + 10 : 36;
}

/** The digits strtol/strtoul accept, as (magnitude, sign, end index); end is 0 when nothing was converted. */
function scanInteger(text: string, base: 0 | 10): { magnitude: bigint; negative: boolean; end: number } {
  let i = 0;
  while (i < text.length && ' \t\n\v\f\r'.includes(text[i]!)) i++;
  let negative = false;
  if (text[i] === '+' || text[i] === '-') negative = text[i++] === '-';
  let radix: number = base === 0 ? 10 : base;
  const prefixAt = i;
  if (base === 0 && text[i] === '0') {
    if (text[i + 1] === 'x' || text[i + 1] === 'X') {
      radix = 16;
      i += 2;
    } else {
      radix = 8;
    }
  }
  const start = i;
  // 13 digits of any radix fit a double exactly (16^13 = 2^52); more go on in a bigint.
  let small = 0;
  for (; i < text.length && i - start < 13; i++) {
    const digit = digitValue(text.charCodeAt(i));
    if (digit >= radix) break;
    small = small * radix + digit;
  }
  let magnitude = BigInt(small);
  for (; i < text.length; i++) {
    const digit = digitValue(text.charCodeAt(i));
    if (digit >= radix) break;
    magnitude = magnitude * BigInt(radix) + BigInt(digit);
  }
  if (i === start) {
    // "0x" without a hex digit converts the 0 and stops at the x.
    if (radix === 16) return { magnitude: 0n, negative, end: prefixAt + 1 };
    return { magnitude: 0n, negative: false, end: 0 };
  }
  return { magnitude, negative, end: i };
}

/** strtoul(text, &end, base) on LP64: out of range saturates, a minus sign negates modulo 2^64. */
export function strtoul(text: string, base: 0 | 10 = 0): { value: bigint; end: number } {
  const { magnitude, negative, end } = scanInteger(text, base);
  if (magnitude > ULONG_MAX) return { value: ULONG_MAX, end };
  return { value: negative ? BigInt.asUintN(64, -magnitude) : magnitude, end };
}

/** strtol(text, &end, base) on LP64: saturates at LONG_MIN / LONG_MAX. */
export function strtol(text: string, base: 0 | 10 = 10): { value: bigint; end: number } {
  const { magnitude, negative, end } = scanInteger(text, base);
  if (negative) return { value: magnitude > LONG_MAX + 1n ? -(LONG_MAX + 1n) : -magnitude, end };
  return { value: magnitude > LONG_MAX ? LONG_MAX : magnitude, end };
}

/** atoi(): strtol truncated to a C int (so `4294967297` is 1). */
export function atoi(text: string): number {
  return Number(BigInt.asIntN(32, strtol(text).value));
}

/** atol(): strtol (a C long). */
export function atol(text: string): bigint {
  return strtol(text).value;
}

const BIT_LIMITS = { 8: 1n << 8n, 16: 1n << 16n, 32: 1n << 32n } as const;

/** The low `bits` bits of an integer, as the C assignment to a narrower unsigned type keeps them. */
export function truncate(value: number | bigint, bits: 8 | 16 | 32): number {
  // Most values fit already: no BigInt arithmetic then.
  if (typeof value === 'bigint' && value >= 0n && value < BIT_LIMITS[bits]) return Number(value);
  return Number(BigInt.asUintN(bits, BigInt(value)));
}
