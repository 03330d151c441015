/**
 * Address text ↔ wire bytes for the sync codec: the library's inet_pton /
 * inet_ntop equivalents, so that a replicated flow prints exactly as the
 * kernel's own does.
 */
import { encodeAddress, formatIPv4, formatIPv6 } from '../../ctnetlink/address';
import { SyncEncodeError } from './errors';

/** 4 (family 2) or 16 (family 10) bytes of `text`; a missing or foreign-family address is an encode error. */
export function addressBytes(text: string | undefined, family: number, what: string): Buffer {
  if (text === undefined) throw new SyncEncodeError(`${what} address missing`);
  try {
    return encodeAddress(text, family).bytes;
  } catch {
    throw new SyncEncodeError(`${what} address ${text} is not an address of family ${family}`);
  }
}

/** The text of the 4 or 16 bytes at `at`. */
export function addressText(buf: Buffer, at: number, length: 4 | 16): string {
  return length === 4 ? formatIPv4(buf, at) : formatIPv6(buf, at);
}
