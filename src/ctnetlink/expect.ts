/**
 * The domain model of an expectation: a connection the kernel expects
 * because a helper saw it announced on a master connection (an FTP PORT
 * command, a SIP INVITE…), or because a program created it
 * (`conntrack -I expect`). When a packet of the expected connection arrives,
 * the kernel tracks it as RELATED to the master.
 *
 * Requires the master to have a helper (`ct helper set` in nftables, or
 * `-j CT --helper` in iptables); without one the kernel refuses to create an
 * expectation (EOPNOTSUPP).
 */
import type { Tuple } from './flow';

/** Where a NATed expectation's connection is redirected to (CTA_EXPECT_NAT). */
export interface ExpectationNat {
  /** Direction of the master whose address is rewritten: 0 original, 1 reply (CTA_EXPECT_NAT_DIR). */
  dir?: number;
  /** The saved address and port, in the tuple's source fields (CTA_EXPECT_NAT_TUPLE). */
  tuple?: Tuple;
}

/** An expectation as `conntrack -L expect` lists it, or as `createExpectation` asks for it. */
export interface Expectation {
  /** nfgen_family of the message: 2 (IPv4) or 10 (IPv6). */
  family: number;
  /** The connection whose helper expects this one (CTA_EXPECT_MASTER): its original tuple. */
  master: Tuple;
  /** The expected connection's original tuple (CTA_EXPECT_TUPLE). */
  tuple: Tuple;
  /**
   * Which bits of `tuple` must match (CTA_EXPECT_MASK). The kernel keeps only
   * the source address and port of a mask; it reports the rest as all ones.
   */
  mask: Tuple;
  /** Seconds until the expectation expires (CTA_EXPECT_TIMEOUT). */
  timeout?: number;
  id?: number; // CTA_EXPECT_ID
  /** Name of the helper that made it, e.g. `ftp` (CTA_EXPECT_HELP_NAME). */
  helper?: string;
  /**
   * The master's zone (CTA_EXPECT_ZONE). Lookups and deletes need it for a
   * master outside zone 0, though Linux 6.18 does not report it in dumps.
   */
  zone?: number;
  /** ExpectFlag bits: PERMANENT, INACTIVE, USERSPACE (CTA_EXPECT_FLAGS). */
  flags?: number;
  /** The helper's expectation class (CTA_EXPECT_CLASS); the ftp helper has only class 0. */
  class?: number;
  nat?: ExpectationNat; // CTA_EXPECT_NAT
  /** Name of the function the kernel runs for the expected connection, e.g. `nat-follow-master` (CTA_EXPECT_FN). */
  fn?: string;
}

/** How an expectation event came about (the message type of an expectation multicast). */
export type ExpectationEventType = 'new' | 'update' | 'destroy';

/** One message of the expectation event groups (`conntrack -E expect`). */
export interface ExpectationEvent {
  type: ExpectationEventType;
  expectation: Expectation;
  /**
   * Port id of the netlink socket whose request caused it; 0 = the kernel
   * (a helper, a timeout). A listener that also creates or deletes
   * expectations tells its own changes from everybody else's with
   * `Conntrack.portIds()`.
   */
  portid: number;
}
