/**
 * GNU getopt_long, as glibc 2.36 implements it, for an option string that
 * starts with `:` (no messages; a missing argument is reported apart from an
 * unknown option).
 *
 * conntrack 1.4.7's observable behaviour depends on getopt's internals, not
 * only on its documented contract: error messages quote `argv[optind - 1]`,
 * which after argument permutation or inside a cluster is not always the word
 * that failed (`conntrack -L -xz` reports `-L`); the optional-argument words
 * rule reads `argv[optind]` after permutation; abbreviations are
 * resolved against a table that grows when `-p` is seen. So this is a
 * transcription of the algorithm, not a reimplementation of the interface:
 * the same scan state (optind, the rest of a short-option cluster, the
 * window of skipped non-options) and the same in-place permutation.
 */

/** `has_arg` of struct option; for short options `x`, `x:` and `x::`. */
export type ArgRequirement = 'none' | 'required' | 'optional';

/** One entry of the long option table (struct option without `flag`). */
export interface LongOption {
  readonly name: string;
  readonly arg: ArgRequirement;
  /**
   * What getopt returns for it. Two entries with the same `val` and `arg` are
   * the same option to the ambiguity rule (aliases).
   */
  readonly val: string;
}

export type GetoptEvent =
  /** An option; `optarg` is undefined when an optional argument was not attached. */
  | { readonly type: 'option'; readonly val: string; readonly optarg: string | undefined }
  /** getopt's `?`: an unknown or ambiguous option, or a value given to a long option without argument. */
  | { readonly type: 'unknown' }
  /** getopt's `:`: a required argument is missing at the end of argv. */
  | { readonly type: 'missing-argument' };

export interface GetoptOptions {
  /**
   * glibc's REQUIRE_ORDER (environment variable POSIXLY_CORRECT set): stop at
   * the first non-option instead of permuting.
   */
  readonly posixlyCorrect?: boolean;
}

export class Getopt {
  /** The argument vector, permuted in place as getopt does; argv[0] is the program name. */
  readonly argv: string[];
  /** Index of the next element to scan; callers may advance it (1.4.7's get_optional_arg does). */
  optind = 1;

  /** The unread rest of the short-option cluster being scanned (glibc's nextchar); '' = none. */
  private rest = '';
  /** The window [firstNonopt, lastNonopt) of non-options skipped so far. */
  private firstNonopt = 1;
  private lastNonopt = 1;
  private readonly shortOptions: ReadonlyMap<string, ArgRequirement>;
  private readonly permute: boolean;

  constructor(argv: readonly string[], optstring: string, options: GetoptOptions = {}) {
    this.argv = [...argv];
    this.permute = !options.posixlyCorrect;
    this.shortOptions = shortOptionTable(optstring);
  }

  /** `argv[optind - 1]`: the word 1.4.7 quotes in its scanner errors. */
  get lastWord(): string {
    return this.argv[this.optind - 1]!;
  }

  /**
   * The next option, or undefined at the end (getopt's -1). `longopts` is
   * read at every call, so options added while scanning take effect at once.
   */
  next(longopts: readonly LongOption[]): GetoptEvent | undefined {
    const argv = this.argv;
    const argc = argv.length;
    if (this.rest === '') {
      // Advance to the next element. The caller may have moved optind back.
      if (this.lastNonopt > this.optind) this.lastNonopt = this.optind;
      if (this.firstNonopt > this.optind) this.firstNonopt = this.optind;

      if (this.permute) {
        // Options found after skipped non-options move in front of them.
        if (this.firstNonopt !== this.lastNonopt && this.lastNonopt !== this.optind) this.exchange();
        else if (this.lastNonopt !== this.optind) this.firstNonopt = this.optind;
        while (this.optind < argc && isNonOption(argv[this.optind]!)) this.optind++;
        this.lastNonopt = this.optind;
      }

      // `--` ends the options; everything after it is a non-option.
      if (this.optind !== argc && argv[this.optind] === '--') {
        this.optind++;
        if (this.firstNonopt !== this.lastNonopt && this.lastNonopt !== this.optind) this.exchange();
        else if (this.firstNonopt === this.lastNonopt) this.firstNonopt = this.optind;
        this.lastNonopt = argc;
        this.optind = argc;
      }

      if (this.optind === argc) {
        // Leave optind at the permuted non-options, for a caller that wants them.
        if (this.firstNonopt !== this.lastNonopt) this.optind = this.firstNonopt;
        return undefined;
      }

      // Only reachable without permutation: a non-option ends the scan.
      if (isNonOption(argv[this.optind]!)) return undefined;

      const word = argv[this.optind]!;
      if (word[1] === '-') return this.longOption(word.slice(2), longopts);
      this.rest = word.slice(1);
    }
    return this.shortOption();
  }

  /**
   * 1.4.7's get_optional_arg: when the option had no attached
   * argument, the next word is taken as its argument unless it starts with
   * `-` or `!`. Call it right after next() returned the option.
   */
  takeOptionalWord(attached: string | undefined): string | undefined {
    if (attached !== undefined) return undefined;
    const word = this.argv[this.optind];
    if (word === undefined || word.startsWith('-') || word.startsWith('!')) return undefined;
    this.optind++;
    return word;
  }

  private shortOption(): GetoptEvent {
    const c = this.rest[0]!;
    this.rest = this.rest.slice(1);
    // optind moves on when the last letter of the cluster is taken.
    if (this.rest === '') this.optind++;

    const arg = this.shortOptions.get(c);
    if (arg === undefined || c === ':' || c === ';') return { type: 'unknown' };
    if (arg === 'none') return { type: 'option', val: c, optarg: undefined };

    let optarg: string | undefined;
    if (this.rest !== '') {
      // The rest of the cluster is the argument.
      optarg = this.rest;
      this.optind++;
    } else if (arg === 'required') {
      if (this.optind === this.argv.length) return { type: 'missing-argument' };
      optarg = this.argv[this.optind++]!;
    }
    this.rest = '';
    return { type: 'option', val: c, optarg };
  }

  private longOption(text: string, longopts: readonly LongOption[]): GetoptEvent {
    const eq = text.indexOf('=');
    const name = eq < 0 ? text : text.slice(0, eq);

    // An exact match wins; otherwise a prefix must not name two different options.
    let found = exactNames(longopts).get(name);
    if (!found) {
      let ambiguous = false;
      for (const o of longopts) {
        if (!o.name.startsWith(name)) continue;
        if (!found) found = o;
        else if (found.arg !== o.arg || found.val !== o.val) ambiguous = true;
      }
      if (ambiguous) {
        this.optind++;
        return { type: 'unknown' };
      }
    }
    this.optind++;
    if (!found) return { type: 'unknown' };

    if (eq >= 0) {
      if (found.arg === 'none') return { type: 'unknown' };
      return { type: 'option', val: found.val, optarg: text.slice(eq + 1) };
    }
    if (found.arg === 'required') {
      if (this.optind >= this.argv.length) return { type: 'missing-argument' };
      return { type: 'option', val: found.val, optarg: this.argv[this.optind++]! };
    }
    return { type: 'option', val: found.val, optarg: undefined };
  }

  /**
   * Swaps the skipped non-options [firstNonopt, lastNonopt) with the options
   * scanned since [lastNonopt, optind), keeping the order inside each block.
   */
  private exchange(): void {
    const { argv, firstNonopt: bottom, lastNonopt: middle, optind: top } = this;
    const moved = [...argv.slice(middle, top), ...argv.slice(bottom, middle)];
    argv.splice(bottom, top - bottom, ...moved);
    this.firstNonopt += top - middle;
    this.lastNonopt = top;
  }
}

/** A word that is not an option: anything not starting with `-`, and `-` itself. */
function isNonOption(word: string): boolean {
  return word[0] !== '-' || word.length === 1;
}

/** Short option tables by optstring: a `-R` file makes a Getopt per line, all with the same one. */
const SHORT_OPTION_TABLES = new Map<string, ReadonlyMap<string, ArgRequirement>>();

function shortOptionTable(optstring: string): ReadonlyMap<string, ArgRequirement> {
  let table = SHORT_OPTION_TABLES.get(optstring);
  if (table) return table;
  const letters = new Map<string, ArgRequirement>();
  // A leading ':' only silences messages, which we never print anyway.
  const spec = optstring.startsWith(':') ? optstring.slice(1) : optstring;
  for (let i = 0; i < spec.length; i++) {
    const letter = spec[i]!;
    let arg: ArgRequirement = 'none';
    if (spec[i + 1] === ':') {
      arg = spec[i + 2] === ':' ? 'optional' : 'required';
      i += arg === 'optional' ? 2 : 1;
    }
    if (!letters.has(letter)) letters.set(letter, arg);
  }
  table = letters;
  SHORT_OPTION_TABLES.set(optstring, table);
  return table;
}

/** Each table's options by exact name (the first of a name, as a scan finds it), made once per table. */
const EXACT_NAMES = new WeakMap<readonly LongOption[], Map<string, LongOption>>();

function exactNames(longopts: readonly LongOption[]): Map<string, LongOption> {
  let names = EXACT_NAMES.get(longopts);
  if (!names) {
    names = new Map();
    for (const o of longopts) if (!names.has(o.name)) names.set(o.name, o);
    EXACT_NAMES.set(longopts, names);
  }
  return names;
}
