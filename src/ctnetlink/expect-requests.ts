import { MessageWriter } from '../netlink/attributes';
import { MessageFlags } from '../netlink/constants';
import { beginNfMessage, Subsystem } from '../nfnetlink/header';
import { ExpectAttr, ExpMsg } from './constants';
import type { Expectation } from './expect';
import { encodeExpectation } from './expect-codec';
import type { Tuple } from './flow';

/**
 * Builders for every expectation request (NFNL_SUBSYS_CTNETLINK_EXP), one
 * complete netlink message each (pure: bytes in, bytes out).
 */

const REQUEST_ACK = MessageFlags.REQUEST | MessageFlags.ACK;
const REQUEST_DUMP = MessageFlags.REQUEST | MessageFlags.DUMP;

/** Which expectation a lookup or delete names: its expected tuple, in a zone, optionally exactly this id. */
export interface ExpectationKey {
  tuple: Tuple;
  zone?: number;
  /** The kernel answers ENOENT when the expectation found by the tuple has another id. */
  id?: number;
}

function message(seq: number, msg: ExpMsg, flags: number, family: number, attrs?: (w: MessageWriter) => void): Buffer {
  const w = new MessageWriter();
  const start = beginNfMessage(w, Subsystem.CTNETLINK_EXP, msg, flags, seq, family);
  attrs?.(w);
  w.endMessage(start);
  return w.toBuffer();
}

/** Every expectation of one family (nfgen_family filters; 0 = all); `conntrack -L expect`. */
export function dumpExpectationsRequest(seq: number, family: number): Buffer {
  return message(seq, ExpMsg.GET, REQUEST_DUMP, family);
}

/**
 * Looks one expectation up by its expected tuple; `conntrack -G expect`
 * (1.4.7 sends the tuple as CTA_EXPECT_MASTER, which the kernel reads the
 * same way when CTA_EXPECT_TUPLE is absent).
 */
export function getExpectationRequest(seq: number, family: number, key: ExpectationKey): Buffer {
  return message(seq, ExpMsg.GET, REQUEST_ACK, family, (w) => encodeExpectation(w, { family, ...key }));
}

/**
 * Creates an expectation on its master; `conntrack -I expect`. Without
 * `exclusive` (NLM_F_EXCL) an existing one with the same tuple gets the new
 * timeout instead of failing with EEXIST.
 */
export function createExpectationRequest(seq: number, exp: Expectation, exclusive: boolean): Buffer {
  const flags = REQUEST_ACK | MessageFlags.CREATE | (exclusive ? MessageFlags.EXCL : 0);
  return message(seq, ExpMsg.NEW, flags, exp.family, (w) => encodeExpectation(w, exp));
}

/** Deletes the expectation with this expected tuple; `conntrack -D expect`. */
export function deleteExpectationRequest(seq: number, family: number, key: ExpectationKey): Buffer {
  return message(seq, ExpMsg.DELETE, REQUEST_ACK, family, (w) => encodeExpectation(w, { family, ...key }));
}

/**
 * Deletes every expectation of every family (`conntrack -F expect`, whose
 * nfgen_family the kernel ignores), or with `helper` those whose master
 * has that helper.
 */
export function flushExpectationsRequest(seq: number, helper?: string): Buffer {
  return message(seq, ExpMsg.DELETE, REQUEST_ACK, 0, (w) => {
    if (helper !== undefined) w.string(ExpectAttr.HELP_NAME, helper);
  });
}

/** One message per CPU with its expectation counters; `conntrack -S expect`. */
export function expectationStatsRequest(seq: number): Buffer {
  return message(seq, ExpMsg.GET_STATS_CPU, REQUEST_DUMP, 0);
}
