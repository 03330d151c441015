/**
 * The default one-line expectation format of `conntrack -L/-G/-E expect`,
 * byte for byte as libnetfilter_conntrack 1.0.9 prints it
 * (expect/snprintf_default.c):
 *
 * ```
 * [EVENT ]TIMEOUT proto=P src=… dst=… PORTS mask-src=… mask-dst=… PORTS master-src=… master-dst=… PORTS [zone=Z ][FLAGS ][class=C ][helper=NAME]
 * ```
 *
 * Each tuple's layer-4 fields follow its own protocol number (the mask's is
 * the expected tuple's, the kernel copies it), so an expectation of an
 * untracked protocol shows only the master's ports.
 */
import { ExpectFlag } from '../ctnetlink/constants';
import type { Expectation } from '../ctnetlink/expect';
import { addressText, EVENT_PIECES, l4Text, type EventType } from './text';

export interface ExpectationTextOptions {
  /** Event type for the `%9s` prefix of `-E expect` lines; absent for dumps. */
  event?: EventType;
}

/** The CTA_EXPECT_FLAGS bits with a name, in the order C prints them. */
const EXPECT_FLAG_NAMES: readonly (readonly [ExpectFlag, string])[] = [
  [ExpectFlag.PERMANENT, 'PERMANENT'],
  [ExpectFlag.INACTIVE, 'INACTIVE'],
  [ExpectFlag.USERSPACE, 'USERSPACE'],
];

/** The names of the known flag bits set in `flags`, in print order. */
export function expectFlagNames(flags: number): string[] {
  return EXPECT_FLAG_NAMES.filter(([bit]) => flags & bit).map(([, name]) => name);
}

/** One expectation in the default format, without the trailing newline. */
export function formatExpectationText(exp: Expectation, opts: ExpectationTextOptions = {}): string {
  const { family, tuple, mask, master } = exp;
  let s = opts.event === undefined ? '' : EVENT_PIECES[opts.event];
  if (exp.timeout !== undefined) s += exp.timeout + ' ';
  s += 'proto=' + (tuple.proto ?? 0) + ' ';
  s += addressText(tuple, family, 'src=', ' dst=') + l4Text(tuple);
  s += addressText(mask, family, 'mask-src=', ' mask-dst=') + l4Text(mask);
  s += addressText(master, family, 'master-src=', ' master-dst=') + l4Text(master);
  if (exp.zone !== undefined) s += 'zone=' + exp.zone + ' ';
  const flags = exp.flags ?? 0;
  // C ends the flag names with a space whenever any bit is set, even one without a name.
  if (flags !== 0) {
    s += expectFlagNames(flags).join(',') + ' ';
  }
  if (exp.class !== undefined) s += 'class=' + exp.class + ' ';
  // The helper name is printed raw and last; C drops one trailing space.
  if (exp.helper !== undefined) s += 'helper=' + exp.helper;
  return s.endsWith(' ') ? s.slice(0, -1) : s;
}
