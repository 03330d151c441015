/**
 * conntrackd's command line, read the way 1.4.7 reads it: word by word,
 * dispatching on the word's SECOND character only (`-dfoo` is `-d`, `xs` is
 * `-s`, a word without one is an unknown option), with optional arguments
 * taken from the next word when it does not start with `-` and matched by
 * prefix (`-s net`, `-f e`). The quirks are kept on purpose: scripts written
 * against 1.4.7 must get the same request, the same message and the same
 * exit status.
 *
 * Parsing prints nothing: it returns what 1.4.7 would have printed, in order,
 * and what to do next; main.ts does the printing and the exiting.
 */
import { Request } from '../control/codes';
import type { LogLevel } from '../daemon/contract';
import { MULTICAST_WORD_WARNING, parseStatsRequest, parseStatsWord, statsRequestCode } from '../stats/requests';

export const DEFAULT_CONFIG_FILE = '/etc/conntrackd/conntrackd.conf';

/** Longest config path 1.4.7 keeps (PATH_MAX less its NUL); longer ones are cut with a warning. */
const CONFIG_PATH_MAX = 4095;

/** What the parser has 1.4.7 print, in order: its usage text (stdout) or a log line. */
export type ArgsOutput = { kind: 'usage' } | { kind: 'version' } | { kind: 'log'; level: LogLevel; message: string };

export type ArgsOutcome =
  /** Stop here with this status (after -h, -v, a bad option). */
  | { kind: 'exit'; status: number }
  /** Run the daemon: in the foreground ("console mode") or detached (`-d`). */
  | { kind: 'daemon'; detach: boolean; configFile: string }
  /** Send one request to a running daemon and print its reply. */
  | { kind: 'request'; code: number; configFile: string; json: boolean };

export interface ParsedArgs {
  output: ArgsOutput[];
  outcome: ArgsOutcome;
}

/** Our extension (see ../stats/requests.ts): `-s [KIND] --json` asks for the statistics as JSON. */
export const JSON_OPTION = '--json';

type Mode = 'daemon' | 'request';

/** The next word as an optional argument: present and not an option. */
function optionalArgument(argv: readonly string[], i: number): string | undefined {
  const next = argv[i + 1];
  return next !== undefined && !next.startsWith('-') ? next : undefined;
}

/**
 * `-c`, `-F`, `-R`, `-i`, `-e`: `ct` or `expect` by prefix, the default when
 * no argument follows. A word that is neither is NOT taken (nor is the action
 * set): 1.4.7 then reads that word as the next option.
 */
function tableAction(word: string | undefined, ct: Request, expect: Request, dflt: Request): { action?: Request; taken: boolean } {
  if (word === undefined) return { action: dflt, taken: false };
  if ('ct'.startsWith(word)) return { action: ct, taken: true };
  if ('expect'.startsWith(word)) return { action: expect, taken: true };
  return { taken: false };
}

const XML_TWIN: ReadonlyMap<number, Request> = new Map([
  [Request.CT_DUMP_INTERNAL, Request.CT_DUMP_INT_XML],
  [Request.CT_DUMP_EXTERNAL, Request.CT_DUMP_EXT_XML],
  [Request.EXP_DUMP_INTERNAL, Request.EXP_DUMP_INT_XML],
  [Request.EXP_DUMP_EXTERNAL, Request.EXP_DUMP_EXT_XML],
]);

/** `argv` without the program name. */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const output: ArgsOutput[] = [];
  const log = (level: LogLevel, message: string): void => void output.push({ kind: 'log', level, message });
  const fail = (message: string, status: number): ParsedArgs => {
    log('ERROR', message);
    return { output, outcome: { kind: 'exit', status } };
  };
  const invalid = (): ParsedArgs => {
    output.push({ kind: 'usage' });
    return fail('Invalid parameters', 1);
  };

  let mode: Mode | undefined;
  let detach = false;
  // 1.4.7 starts with "no action" (-1): a request without one sends -1.
  let action: number = -1;
  let json = false;
  let configFile = '';

  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    const letter = word.length >= 2 ? word[1] : undefined;
    const arg = optionalArgument(argv, i);
    // Every client command and -d claim the mode; claiming the other one is an error.
    const claim = (want: Mode): boolean => {
      if (mode !== undefined && mode !== want) return false;
      mode = want;
      return true;
    };
    const table = (ct: Request, expect: Request, dflt: Request): void => {
      const r = tableAction(arg, ct, expect, dflt);
      if (r.action !== undefined) action = r.action;
      if (r.taken) i++;
    };
    if (word === JSON_OPTION && mode === 'request' && parseStatsRequest(action) !== undefined) {
      json = true;
      continue;
    }
    switch (letter) {
      case 'd':
        if (!claim('daemon')) return invalid();
        detach = true;
        break;
      case 'c':
        if (!claim('request')) return invalid();
        table(Request.CT_COMMIT, Request.EXP_COMMIT, Request.ALL_COMMIT);
        break;
      case 'i':
        if (!claim('request')) return invalid();
        table(Request.CT_DUMP_INTERNAL, Request.EXP_DUMP_INTERNAL, Request.CT_DUMP_INTERNAL);
        break;
      case 'e':
        if (!claim('request')) return invalid();
        table(Request.CT_DUMP_EXTERNAL, Request.EXP_DUMP_EXTERNAL, Request.CT_DUMP_EXTERNAL);
        break;
      case 'F':
        if (!claim('request')) return invalid();
        table(Request.CT_FLUSH_MASTER, Request.EXP_FLUSH_MASTER, Request.ALL_FLUSH_MASTER);
        break;
      case 'R':
        if (!claim('request')) return invalid();
        table(Request.CT_RESYNC_MASTER, Request.EXP_RESYNC_MASTER, Request.ALL_RESYNC_MASTER);
        break;
      case 'C':
        if (i + 1 < argv.length) {
          configFile = argv[++i]!;
          if (configFile.length > CONFIG_PATH_MAX) {
            configFile = configFile.slice(0, CONFIG_PATH_MAX);
            log('WARNING', `Path to config file to long. Cutting it down to ${CONFIG_PATH_MAX + 1} characters`);
          }
        } else {
          // Not fatal in 1.4.7: it goes on with the default file.
          output.push({ kind: 'usage' });
          log('ERROR', 'Missing config filename');
        }
        break;
      case 'f':
        if (!claim('request')) return invalid();
        if (arg === undefined) action = Request.ALL_FLUSH_CACHE;
        else if ('internal'.startsWith(arg)) {
          action = Request.CT_FLUSH_INT_CACHE;
          i++;
        } else if ('external'.startsWith(arg)) {
          action = Request.CT_FLUSH_EXT_CACHE;
          i++;
        } else return fail(`unknown parameter \`${arg}' for option \`-f'`, 1);
        break;
      case 's': {
        if (!claim('request')) return invalid();
        if (arg === undefined) {
          action = Request.STATS;
          break;
        }
        const stats = parseStatsWord(arg);
        if (stats === undefined) return fail(`unknown parameter \`${arg}' for option \`-s'`, 1);
        if (stats.deprecated) log('WARNING', MULTICAST_WORD_WARNING);
        action = statsRequestCode(stats.kind, false);
        i++;
        break;
      }
      case 'B':
        if (!claim('request')) return invalid();
        action = Request.SEND_BULK;
        break;
      case 't':
        if (!claim('request')) return invalid();
        action = Request.RESET_TIMERS;
        break;
      case 'k':
        if (!claim('request')) return invalid();
        action = Request.KILL;
        break;
      case 'n':
        if (!claim('request')) return invalid();
        action = Request.REQUEST_DUMP;
        break;
      case 'x': {
        const twin = XML_TWIN.get(action);
        if (twin === undefined) return invalid();
        action = twin;
        break;
      }
      case 'v':
        output.push({ kind: 'version' });
        return { output, outcome: { kind: 'exit', status: 0 } };
      case 'h':
        output.push({ kind: 'usage' });
        return { output, outcome: { kind: 'exit', status: 0 } };
      default:
        // 1.4.7 exits 0 here (fixed upstream later); scripts may depend on it.
        output.push({ kind: 'usage' });
        log('ERROR', `Unknown option: ${word}`);
        return { output, outcome: { kind: 'exit', status: 0 } };
    }
  }

  configFile ||= DEFAULT_CONFIG_FILE;
  const outcome: ArgsOutcome =
    mode === 'request'
      ? { kind: 'request', code: json ? statsRequestCode(parseStatsRequest(action)!.kind, true) : action, configFile, json }
      : { kind: 'daemon', detach, configFile };
  return { output, outcome };
}
