import type { Tuple } from './flow';

/**
 * The one filter model for dumps, deletes, updates and events.
 *
 * Every field that is present narrows the selection; absent fields match
 * everything. The same filter is compiled to kernel-side dump attributes where
 * the running kernel can evaluate them and is always re-checked in userspace,
 * so the result never depends on which path ran (see filter-match.ts and
 * filter-kernel.ts).
 *
 * A filter means what it says: every field given is compared. The CLI maps
 * its options onto this model and leaves out what 1.4.7 ignores (GRE keys,
 * IPv6 NAT addresses, `-t` without another comparison option; defect 18 of
 * docs/1.4.7-defects.md), see src/cli/parse.ts.
 */
export interface FlowFilter {
  /** Only entries of this layer-3 family (2 or 10); sent as nfgen_family. `conntrack -f`. */
  family?: number;
  /**
   * Original-direction fields compared strictly (an entry lacking one fails):
   * addresses (`-s`/`-d`), protocol (`-p`), ports / ICMP type, code and id.
   * `zone` here (`--orig-zone`) compares non-strictly: a missing zone is 0.
   */
  orig?: Tuple;
  /** Reply-direction fields (`-r`/`-q`, `--reply-port-*`, `--reply-zone`), same rules. */
  reply?: Tuple;
  /**
   * With a mask, orig.src / orig.dst compare as networks:
   * `(entry & mask) == (filter & mask)`, and the entry's family must equal `family`.
   * `conntrack --mask-src/--mask-dst` or `-s ADDR/N`.
   */
  srcMask?: string;
  dstMask?: string;
  /** `(entry.mark & mask) == value`; entries without CTA_MARK never match. `conntrack -m V[/M]`. */
  mark?: { value: number; mask: number };
  /** `(entry.status & mask) == value`. `conntrack -u`. */
  status?: { value: number; mask: number };
  /** CTA_ZONE, non-strict (missing = 0). `conntrack -w`. */
  zone?: number;
  /** Exact conntrack id. `conntrack -i`. */
  id?: number;
  /** Every set bit must be set in the entry's labels; entries without labels fail. `conntrack -l`. */
  labels?: Buffer;
  /** TCP, SCTP or DCCP state, compared strictly with the entry's protocol state. `--state`. */
  state?: number;
  /** Exact remaining timeout (`conntrack -D -t N` with another filter). */
  timeout?: number;
  /** NAT filters (`-n`, `-g`, `-j`). */
  nat?: NatFilter;
}

/** One NAT test: the entry must be NAT-ed, and match the address/port if given. */
export interface NatMatch {
  /** The NAT address (reply.dst for SNAT, reply.src for DNAT), IPv4 or IPv6. */
  addr?: string;
  port?: number;
}

export interface NatFilter {
  /** `-n [ADDR[:PORT]]`: SNAT-ed or SNAT port-mapped. */
  src?: NatMatch;
  /** `-g [ADDR[:PORT]]`: DNAT-ed or DNAT port-mapped. */
  dst?: NatMatch;
  /** `-j [ADDR[:PORT]]`: passes if the src test or the dst test passes. */
  any?: NatMatch;
}
