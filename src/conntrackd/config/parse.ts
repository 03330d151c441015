/**
 * conntrackd.conf → Config, with 1.4.7's grammar, checks, messages and
 * defaults. Used by the daemon and by the client (`-s`, `-c`, …), which read
 * the same file the same way.
 *
 * How 1.4.7 reports what this module returns (the shell prints them):
 *
 * - Every message is a log line `[Mon Dec  7 01:25:15 2026] (pid=N) [LEVEL] text`
 *   on stderr, LEVEL `warning` or `ERROR`; the daemon also writes it to its
 *   LogFile once that is open (stdout only carries `[notice]` lines). A text
 *   that ends in "\n" (the `nack` warning, the `Priority` error) leaves an
 *   empty line after its log line.
 * - `warnings` come out while the file is read, in order, before anything
 *   else (lock file, sockets). The client prints them too.
 * - A ConfigError ends the process (daemon or client) with `exitCode`:
 *   its `warnings` first, then its message as an `[ERROR]` line. A `plain`
 *   one is the bare text with no prefix: `input in flex scanner failed`
 *   (exit 2) when the config path is a directory.
 * - Texts hold the file's bytes one per character (it is read as latin1), so
 *   a symbol quoted from a non-ASCII file must be written back as latin1.
 * - `modeWarnings` (no `Mode`, CommitTimeout with DisableExternalCache) belong
 *   to the daemon only: it prints them when Sync mode starts, after the lock
 *   file is taken and only if it could be; the client never does.
 *
 * Where this differs from 1.4.7 on purpose: addresses are kept as canonical
 * text (inet_aton's `010.0.0.1` becomes `8.0.0.1`); a later `ExpectationSync
 * off` turns expectation sync off entirely; what 1.4.7 leaves to memory
 * corruption (a fifth empty link block, a Multicast option of the wrong
 * family) is reduced to the channels and families the options describe.
 */
import { readFileSync } from 'node:fs';
import { Fatal, Parser, type ParseOptions, type ParseResult } from './grammar';

export type { ParseOptions, ParseResult } from './grammar';

/** A fatal config problem: `message` is 1.4.7's text, without the log prefix. */
export class ConfigError extends Error {
  constructor(
    message: string,
    /** The warnings printed before the error, in order. */
    readonly warnings: readonly string[] = [],
    readonly exitCode: 1 | 2 = 1,
    /** Printed as is, without the `[date] (pid=N) [ERROR]` prefix. */
    readonly plain = false,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * Parses a config file's text. Throws ConfigError for whatever makes 1.4.7
 * refuse the file; returns the warnings it prints for the rest.
 */
export function parseConfig(text: string, options: ParseOptions = {}): ParseResult {
  const parser = new Parser(text, options);
  try {
    parser.parse();
  } catch (err) {
    if (err instanceof Fatal) throw new ConfigError(err.message, parser.warnings);
    throw err;
  }
  return parser.result();
}

/**
 * Reads and parses the config file at `path`, with 1.4.7's messages for a
 * file it cannot read: `can't open config file `PATH'` (exit 1), and for a
 * directory the scanner's bare `input in flex scanner failed` (exit 2).
 */
export function readConfig(path: string, options: ParseOptions = {}): ParseResult {
  let text: string;
  try {
    // latin1: one character per byte, as the C scanner sees the file.
    text = readFileSync(path, 'latin1');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EISDIR') {
      throw new ConfigError('input in flex scanner failed', [], 2, true);
    }
    throw new ConfigError(`can't open config file \`${path}'`);
  }
  return parseConfig(text, options);
}
