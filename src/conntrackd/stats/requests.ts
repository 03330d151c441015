/**
 * Which statistic a control request asks for, as text (1.4.7's requests) or
 * as JSON (our extension).
 *
 * ## The JSON extension, for the client
 *
 * Spelling: `conntrackd -s [KIND] --json` (`KIND` as for `-s`, see
 * parseStatsWord; `--json` after it). It was chosen against how 1.4.7's command
 * line reads its arguments, which looks only at the second character of each
 * word:
 * - an extra word such as `-s network json` would be read by 1.4.7 as a
 *   second `-s` (the `s` of `json`) and print the general statistics: a
 *   silent collision, so no extra word;
 * - `-s json` is refused by 1.4.7 ("unknown parameter"), but a kind word
 *   leaves no room to say which statistic;
 * - `--json` is refused by 1.4.7 as "Unknown option: --json" plus usage, so
 *   it never means anything else there.
 *
 * Wire: the JSON twin of a statistics request is its 1.4.7 code plus
 * `JSON_REQUEST_OFFSET` (21 → 277, 28 → 284, …). 1.4.7 answers codes above
 * 48 with an empty reply and logs nothing, while our daemon always answers a
 * JSON request with one non-empty JSON document (even for a kind the mode
 * does not have). So a client that gets an empty reply to a JSON request is
 * talking to a daemon without the extension (1.4.7) and should say so in one
 * line rather than print nothing.
 */
import { Request } from '../control/codes';

/** The `-s` variants; `ct` is also what `-s` alone asks for. */
export type StatsKind = 'ct' | 'network' | 'cache' | 'runtime' | 'link' | 'rsqueue' | 'process' | 'queue' | 'expect';

/** Every kind, in the order of 1.4.7's usage text (which leaves out `process`). */
export const STATS_KINDS: readonly StatsKind[] = ['network', 'cache', 'runtime', 'link', 'rsqueue', 'process', 'queue', 'ct', 'expect'];

/** The 1.4.7 text request of each kind. */
export const STATS_REQUESTS: Readonly<Record<StatsKind, Request>> = {
  ct: Request.STATS,
  network: Request.STATS_NETWORK,
  cache: Request.STATS_CACHE,
  runtime: Request.STATS_RUNTIME,
  link: Request.STATS_LINK,
  rsqueue: Request.STATS_RSQUEUE,
  process: Request.STATS_PROCESS,
  queue: Request.STATS_QUEUE,
  expect: Request.EXP_STATS,
};

/**
 * The words `-s` takes, in the order 1.4.7 tries them: an abbreviation means
 * the first word it begins (`-s c` is cache, `-s r` runtime, `-s p` process).
 */
const STATS_WORDS: readonly (StatsKind | 'multicast')[] = [
  'network', 'cache', 'runtime', 'multicast', 'link', 'rsqueue', 'process', 'queue', 'ct', 'expect',
];

/** The warning 1.4.7 logs for `-s multicast` (then it asks for `link`). */
export const MULTICAST_WORD_WARNING = "use `link' instead of `multicast' as parameter.";

/**
 * The kind the word after `-s` names, as 1.4.7 reads it; `deprecated` for
 * `multicast` (and its abbreviations), link's old name, which deserves
 * MULTICAST_WORD_WARNING. Undefined for a word 1.4.7 refuses ("unknown
 * parameter `WORD' for option `-s'", exit 1).
 */
export function parseStatsWord(word: string): { kind: StatsKind; deprecated: boolean } | undefined {
  const found = STATS_WORDS.find((w) => w.startsWith(word));
  if (found === undefined) return undefined;
  return found === 'multicast' ? { kind: 'link', deprecated: true } : { kind: found, deprecated: false };
}

/** Added to a text statistics request code to ask for the same statistic as JSON. */
export const JSON_REQUEST_OFFSET = 256;

/** What a request code asks for, when it asks for a statistic. */
export interface StatsRequest {
  kind: StatsKind;
  json: boolean;
}

/** The request code a client sends for `kind` as text or JSON. */
export function statsRequestCode(kind: StatsKind, json: boolean): number {
  return STATS_REQUESTS[kind] + (json ? JSON_REQUEST_OFFSET : 0);
}

/** Decodes a request code; undefined when it is not a statistics request. */
export function parseStatsRequest(code: number): StatsRequest | undefined {
  const json = code >= JSON_REQUEST_OFFSET;
  const text = json ? code - JSON_REQUEST_OFFSET : code;
  const kind = STATS_KINDS.find((k) => STATS_REQUESTS[k] === text);
  return kind === undefined ? undefined : { kind, json };
}
