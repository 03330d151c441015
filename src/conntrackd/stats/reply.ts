/**
 * The engine's one call for statistics requests: given the code a client
 * sent and the current counters, the bytes to write back.
 */
import type { StatsSnapshot } from './counters';
import { formatStatsJson } from './json';
import { parseStatsRequest } from './requests';
import { formatStats } from './text';

/**
 * The reply to control request `code` when it asks for a statistic: 1.4.7's
 * text for its codes, our JSON for their twins (requests.ts); undefined when
 * `code` is not a statistics request. The text may be empty (1.4.7 prints
 * nothing for a kind the mode lacks); the JSON never is.
 */
export function statsReply(code: number, snapshot: StatsSnapshot): string | undefined {
  const request = parseStatsRequest(code);
  if (!request) return undefined;
  return request.json ? formatStatsJson(request.kind, snapshot) : formatStats(request.kind, snapshot);
}
