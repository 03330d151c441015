/**
 * Stats mode's connection log: one line per destroyed flow,
 * `<ctime date>\t<the flow in conntrack's plain format>`, in `Stats { LogFile }`.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { Flow } from '../../ctnetlink/flow';
import { formatText } from '../../format/text';
import { ctimeText } from '../../format/timestamp';

/**
 * Where destroyed flows are logged. The engine writes LogFile itself
 * (openStatsLogFile); whoever owns syslog passes a StatsLog that also sends
 * each line there.
 */
export interface StatsLog {
  /** One line, without its newline. */
  write(line: string): void;
  close(): void;
}

/** The log line of a destroyed flow at `seconds` (wall clock): never a timeout, as 1.4.7 prints it. */
export function destroyedFlowLine(flow: Flow, seconds: number): string {
  return ctimeText(seconds) + '\t' + formatText({ ...flow, timeout: undefined });
}

/**
 * Opens (creating with mode 0600) and appends to `path`, one write per line,
 * so a line is in the file as soon as the flow is gone. Throws the open error.
 */
export function openStatsLogFile(path: string): StatsLog {
  const fd = openSync(path, 'a', 0o600);
  return {
    write: (line) => {
      writeSync(fd, line + '\n');
    },
    close: () => closeSync(fd),
  };
}
