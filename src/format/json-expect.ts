/**
 * `conntrack -L expect -o json` / `-E expect -o json` (our extension, not in
 * 1.4.7): one JSON object per expectation per line, with readable names,
 * for scripts. Only attributes the kernel sent appear.
 *
 * ```
 * {"event":"new","family":"ipv4","timeout":300,
 *  "tuple":{"src":"127.0.0.1","dst":"127.0.0.1","protocol":"tcp","protonum":6,"sport":0,"dport":10000},
 *  "mask":{…},"master":{…},"id":1234,"flags":[],"class":0,"helper":"ftp"}
 * ```
 */
import type { Expectation } from '../ctnetlink/expect';
import { tupleJson } from './json';
import { l3Name } from './names';
import { expectFlagNames } from './text-expect';
import type { EventType } from './text';

export interface ExpectationJsonOptions {
  event?: EventType;
  /** `-o timestamp`: when it was printed, as an ISO 8601 `time` member. */
  time?: Date;
}

/** One expectation as a single-line JSON object. */
export function formatExpectationJson(exp: Expectation, opts: ExpectationJsonOptions = {}): string {
  const o: Record<string, unknown> = {};
  if (opts.event !== undefined) o.event = opts.event;
  if (opts.time !== undefined) o.time = opts.time.toISOString();
  o.family = l3Name(exp.family);
  if (exp.timeout !== undefined) o.timeout = exp.timeout;
  o.tuple = tupleJson(exp.tuple);
  o.mask = tupleJson(exp.mask);
  o.master = tupleJson(exp.master);
  if (exp.id !== undefined) o.id = exp.id;
  if (exp.zone !== undefined) o.zone = exp.zone;
  if (exp.flags !== undefined) o.flags = expectFlagNames(exp.flags);
  if (exp.class !== undefined) o.class = exp.class;
  if (exp.helper !== undefined) o.helper = exp.helper;
  if (exp.fn !== undefined) o.function = exp.fn;
  if (exp.nat !== undefined) {
    const nat: Record<string, unknown> = {};
    if (exp.nat.dir !== undefined) nat.direction = exp.nat.dir === 0 ? 'original' : 'reply';
    if (exp.nat.tuple !== undefined) nat.tuple = tupleJson(exp.nat.tuple);
    o.nat = nat;
  }
  return JSON.stringify(o);
}
