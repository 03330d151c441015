/**
 * glibc's inet_aton, which 1.4.7's tools use before inet_pton for IPv4 text:
 * far more lenient than inet_pton (`10.1`, `0x0a000001`, octal parts,
 * anything after a space).
 */
import { strtoul } from './numbers';

const isDigit = (ch: string | undefined): boolean => ch !== undefined && ch >= '0' && ch <= '9';
const isSpace = (ch: string): boolean => ' \t\n\v\f\r'.includes(ch);

/** Four decimal bytes without leading zeros: the common spelling, which needs none of the C conversions. */
export const DOTTED_QUAD = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/**
 * glibc inet_aton: one to four parts, each a C integer (decimal, 0x hex or
 * 0 octal) starting with a digit; the last part fills the remaining bytes;
 * the text may continue after a whitespace character.
 */
export function inetAton(text: string): Buffer | undefined {
  if (DOTTED_QUAD.test(text)) return Buffer.from(text.split('.').map(Number));
  const parts: number[] = [];
  let i = 0;
  for (;;) {
    if (!isDigit(text[i])) return undefined;
    const { value, end } = strtoul(text.slice(i));
    if (value > 0xffffffffn) return undefined;
    i += end;
    const part = Number(value);
    if (text[i] !== '.') {
      parts.push(part);
      break;
    }
    if (parts.length > 2 || part > 0xff) return undefined;
    parts.push(part);
    i++;
  }
  if (i < text.length && !isSpace(text[i]!)) return undefined;
  const last = parts[parts.length - 1]!;
  const lastBytes = 5 - parts.length;
  if (last >= 2 ** (8 * lastBytes)) return undefined;
  const out = Buffer.alloc(4);
  parts.slice(0, -1).forEach((p, k) => (out[k] = p));
  out.writeUIntBE(last, 4 - lastBytes, lastBytes);
  return out;
}
