import type { FlowFilter } from '../ctnetlink/filter';
import { parseCommandLine } from '../cli/parse';
import { CliProblem } from '../cli/problems';
import { GROUP_KEYS, isGroupKey, type GroupKey } from './group-key';
import type { SortColumn } from './group-table';

export interface TopOptions {
  once: boolean;
  groupBy: GroupKey | undefined;
  top: number;
  json: boolean;
  sort: SortColumn;
  /** Seconds between refreshes of the live view. */
  interval: number;
  netns: string | undefined;
  filter: FlowFilter;
  /** The filter words as typed, shown in the live view's header and edited with `/`. */
  filterWords: string[];
}

/** A bad command line: main prints the message on one line and exits 2. */
export class UsageError extends Error {}

export const USAGE = `usage: conntrack-top [--once] [--group-by KEY] [--top N] [--sort entries|packets|bytes] [-o json]
                     [--interval SECONDS] [--netns NAME] [conntrack -L filter options]
keys for --group-by: ${GROUP_KEYS.join(' ')}`;

function valueOf(argv: readonly string[], i: number, name: string): string {
  const value = argv[i + 1];
  if (value === undefined) throw new UsageError(`${name} needs a value`);
  return value;
}

function positive(text: string, name: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${name} wants a positive number, not '${text}'`);
  return n;
}

/**
 * conntrack-top's own options; every other word is a `conntrack -L` filter
 * option and goes through the conntrack CLI's parser, so the two programs
 * accept the same filters with the same spelling.
 */
export function parseTopOptions(argv: readonly string[]): TopOptions {
  const opts: TopOptions = { once: false, groupBy: undefined, top: 20, json: false, sort: 'entries', interval: 1, netns: undefined, filter: {}, filterWords: [] };
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    const [name, inline] = word.startsWith('--') && word.includes('=') ? [word.slice(0, word.indexOf('=')), word.slice(word.indexOf('=') + 1)] : [word, undefined];
    const value = (): string => inline ?? valueOf(argv, i++, name);
    switch (name) {
      case '--once':
        opts.once = true;
        break;
      case '--group-by': {
        const key = value();
        if (!isGroupKey(key)) throw new UsageError(`unknown --group-by key '${key}' (one of: ${GROUP_KEYS.join(' ')})`);
        opts.groupBy = key;
        break;
      }
      case '--top':
        opts.top = Math.floor(positive(value(), '--top'));
        break;
      case '--interval':
        opts.interval = positive(value(), '--interval');
        break;
      case '--sort': {
        const column = value();
        if (column !== 'entries' && column !== 'packets' && column !== 'bytes') throw new UsageError(`--sort wants entries, packets or bytes, not '${column}'`);
        opts.sort = column;
        break;
      }
      case '-o':
      case '--output': {
        const format = value();
        if (format !== 'json') throw new UsageError(`-o wants json, not '${format}'`);
        opts.json = true;
        break;
      }
      case '--netns':
        opts.netns = value();
        break;
      case '-h':
      case '--help':
        throw new UsageError(USAGE);
      default:
        opts.filterWords.push(word);
    }
  }
  opts.filter = parseFilter(opts.filterWords);
  return opts;
}

/** A `conntrack -L` filter from its words; a refusal becomes one UsageError line. */
export function parseFilter(words: readonly string[]): FlowFilter {
  try {
    const cmd = parseCommandLine(['conntrack', '-L', ...words]);
    return cmd.filter;
  } catch (err) {
    if (err instanceof CliProblem) throw new UsageError(err.message);
    throw err;
  }
}
