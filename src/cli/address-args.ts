/**
 * Address arguments of the `conntrack` command line: `ADDR[/N]` for the tuple, mask and expectation options, and
 * `ADDR[:PORT]` / `[V6]:PORT` for the NAT options, with 1.4.7's checks in
 * its order and its exact messages.
 *
 * IPv4 text goes through glibc's inet_aton, which is far more lenient than
 * inet_pton (`10.1`, `0x0a000001`, octal parts, anything after a space), and
 * only then through inet_pton(AF_INET6); both see at most 45 bytes.
 */
import { formatIPv4, formatIPv6, parseIPv6 } from '../ctnetlink/address';
import { ParameterProblem } from './problems';
import { DOTTED_QUAD, inetAton } from '../libc/inet-aton';
import { strtol } from '../libc/numbers';

/** INET6_ADDRSTRLEN - 1: parse_addr copies the argument into a buffer of that size. */
const ADDRESS_TEXT_MAX = 45;



export type Family = 0 | 2 | 10;

/**
 * set_family(): the first address (or -f) fixes the command family; any
 * later one must agree.
 */
export function mergeFamily(current: Family, next: 2 | 10): 2 | 10 {
  if (current !== 0 && current !== next) throw new ParameterProblem('mismatched address family');
  return next;
}

/** An address given on the command line, as canonical text (what a Tuple carries). */
export interface AddressArg {
  readonly family: 2 | 10;
  readonly address: string;
  /** The netmask of a `/N` other than /32 or /128, as address text. */
  readonly netmask?: string;
}

/** How an option takes an address. */
export interface AddressOptionRules {
  /** The option's long name, for `CIDR notation unavailable for `--NAME'`. */
  readonly longName: string;
  /** Whether `/N` is allowed (-s, -d, --tuple-src, --tuple-dst). */
  readonly cidr: boolean;
}

/**
 * Parses an address option's argument (1.4.7's nfct_parse_addr_from_opt):
 * invalid address, then family conflict, then CIDR not allowed, then bad
 * prefix length, in that order. Returns the new command family with it.
 */
export function parseAddressOption(
  arg: string,
  family: Family,
  rules: AddressOptionRules,
): { readonly family: 2 | 10; readonly value: AddressArg } {
  // Already canonical: what the conversions below would give back unchanged.
  if (DOTTED_QUAD.test(arg)) return { family: mergeFamily(family, 2), value: { family: 2, address: arg } };
  // Bytes, as the C buffer holds them; latin1 keeps one char per byte.
  const text = Buffer.from(arg, 'utf8').subarray(0, ADDRESS_TEXT_MAX).toString('latin1');
  const slash = text.indexOf('/');
  const addressText = slash < 0 ? text : text.slice(0, slash);
  let prefix: number | undefined; // undefined: none; -1: invalid
  if (slash >= 0) {
    const { value, end } = strtol(text.slice(slash + 1), 10);
    // Stored in a C int, so large values wrap.
    const n = Number(BigInt.asIntN(32, value));
    prefix = n < 0 || end !== text.length - slash - 1 ? -1 : n;
  }

  let bytes = inetAton(addressText);
  let parsedFamily: 2 | 10 = 2;
  if (!bytes) {
    bytes = parseIPv6(addressText);
    parsedFamily = 10;
  }
  if (!bytes) throw new ParameterProblem(`Invalid IP address \`${arg}'`);
  const newFamily = mergeFamily(family, parsedFamily);
  const bits = parsedFamily === 2 ? 32 : 128;
  if (prefix !== undefined && !rules.cidr) {
    throw new ParameterProblem(`CIDR notation unavailable for \`--${rules.longName}'`);
  }
  if (prefix !== undefined && (prefix < 0 || prefix > bits)) throw new ParameterProblem('Invalid netmask');

  const format = (b: Buffer): string => (parsedFamily === 2 ? formatIPv4(b, 0) : formatIPv6(b, 0));
  const value: AddressArg =
    prefix === undefined || prefix === bits
      ? { family: parsedFamily, address: format(bytes) }
      : { family: parsedFamily, address: format(bytes), netmask: format(prefixMask(prefix, bits / 8)) };
  return { family: newFamily, value };
}

/** The netmask of a prefix length, `length` bytes long. */
function prefixMask(prefix: number, length: number): Buffer {
  const mask = Buffer.alloc(length);
  for (let i = 0; i < length; i++) mask[i] = 0xff & (0xff << (8 - Math.min(8, Math.max(0, prefix - 8 * i))));
  return mask;
}

/** A NAT argument split into its address text and port (1.4.7's split_address_and_port). */
export interface NatArgument {
  readonly address: string;
  readonly port?: number;
}

/**
 * Splits `ADDR`, `ADDR:PORT` (IPv4: exactly one colon), `[V6]:PORT` or a bare
 * IPv6 address. Brackets without a port leave the brackets in the address,
 * which then fails as an invalid address, as in 1.4.7.
 */
export function splitNatArgument(arg: string): NatArgument {
  let address = arg;
  let portText: string | undefined;
  const open = arg.indexOf('[');
  if (open >= 0) {
    const close = arg.indexOf(']', open + 1);
    if (close === open + 1) throw new ParameterProblem('No IPv6 address specified');
    if (close < 0) throw new ParameterProblem("No closing ']' around IPv6 address");
    const colon = arg.indexOf(':', close);
    if (colon >= 0) {
      address = arg.slice(open + 1, close);
      portText = arg.slice(colon + 1);
    }
  } else {
    const colon = arg.indexOf(':');
    if (colon >= 0 && !arg.includes(':', colon + 1)) {
      address = arg.slice(0, colon);
      portText = arg.slice(colon + 1);
    }
  }
  if (portText === undefined) return { address };
  if (portText === '') throw new ParameterProblem("No port specified after `:'");
  if (!/^[0-9]+$/.test(portText) || strtol(portText, 10).value > 0xffffn) {
    throw new ParameterProblem(`Invalid port \`${portText}'`);
  }
  return { address, port: Number(portText) };
}
