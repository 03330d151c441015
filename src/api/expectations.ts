/**
 * The expectation table over ctnetlink (NFNL_SUBSYS_CTNETLINK_EXP). The
 * functions take the channel to talk on; the public surface is the
 * `Conntrack` methods that call them (dumpExpectations, getExpectation, …).
 */
import { parseAddress } from '../ctnetlink/address';
import { Group } from '../nfnetlink/header';
import type { Expectation, ExpectationEvent } from '../ctnetlink/expect';
import { decodeExpectationMessage } from '../ctnetlink/expect-codec';
import {
  createExpectationRequest,
  deleteExpectationRequest,
  dumpExpectationsRequest,
  flushExpectationsRequest,
  getExpectationRequest,
} from '../ctnetlink/expect-requests';
import type { Tuple } from '../ctnetlink/flow';
import type { NetlinkChannel } from '../netlink/channel';
import { isNotFound } from '../netlink/errors';
import type { MessageCursor } from '../netlink/messages';
import { EventStream, type EventStreamOptions } from './event-stream';

/** Narrows a lookup or delete by expected tuple. */
export interface ExpectationLookup {
  /** The zone of the master (CTA_EXPECT_ZONE); default zone 0. */
  zone?: number;
  /** Only the expectation with this id (the kernel says "not found" for another one). */
  id?: number;
}

/** What createExpectation needs: the family may be left to the master's addresses. */
export type NewExpectation = Omit<Expectation, 'family' | 'id'> & { family?: number };

const bit = (group: Group): number => 1 << (group - 1);
/** The three expectation event groups, as bind() bits (0x38). */
const EXPECTATION_GROUPS = bit(Group.CONNTRACK_EXP_NEW) | bit(Group.CONNTRACK_EXP_UPDATE) | bit(Group.CONNTRACK_EXP_DESTROY);

function decodeEntry(m: MessageCursor): Expectation | undefined {
  return decodeExpectationMessage(m)?.expectation;
}

/** The family of a tuple: its l3, else its addresses' syntax, else IPv4. */
function tupleFamily(t: Tuple): number {
  if (t.l3 !== undefined) return t.l3;
  const text = t.src ?? t.dst;
  return (text === undefined ? undefined : parseAddress(text)?.family) ?? 2;
}

export async function* dumpExpectations(channel: NetlinkChannel, family: number): AsyncGenerator<Expectation> {
  const seq = channel.nextSeq();
  for await (const batch of channel.dump(dumpExpectationsRequest(seq, family), seq, decodeEntry)) yield* batch;
}

export async function getExpectation(channel: NetlinkChannel, tuple: Tuple, lookup: ExpectationLookup): Promise<Expectation | undefined> {
  const seq = channel.nextSeq();
  let found: Expectation | undefined;
  try {
    await channel.request(getExpectationRequest(seq, tupleFamily(tuple), { tuple, ...lookup }), seq, (m) => {
      found = decodeEntry(m) ?? found;
    });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  return found;
}

export async function createExpectation(channel: NetlinkChannel, exp: NewExpectation, exclusive: boolean): Promise<void> {
  const seq = channel.nextSeq();
  const full: Expectation = { ...exp, family: exp.family ?? tupleFamily(exp.master) };
  await channel.request(createExpectationRequest(seq, full, exclusive), seq);
}

export async function deleteExpectation(channel: NetlinkChannel, tuple: Tuple, lookup: ExpectationLookup): Promise<boolean> {
  const seq = channel.nextSeq();
  try {
    await channel.request(deleteExpectationRequest(seq, tupleFamily(tuple), { tuple, ...lookup }), seq);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

export async function flushExpectations(channel: NetlinkChannel, helper: string | undefined): Promise<void> {
  const seq = channel.nextSeq();
  await channel.request(flushExpectationsRequest(seq, helper), seq);
}

/** NEW and DESTROY events of every expectation of the namespace (Linux sends no UPDATE ones). */
export function expectationEvents(options: EventStreamOptions): EventStream<ExpectationEvent> {
  return EventStream.open(EXPECTATION_GROUPS, decodeExpectationMessage, options);
}
