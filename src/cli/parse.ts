/**
 * The `conntrack` command line, parsed the way conntrack 1.4.7 parses it,
 * into everything the commands need before they talk to the
 * kernel: the command, the request template, the filter, the output flags.
 *
 * The scan follows 1.4.7's do_parse() step by step, because the order of its
 * checks is observable: scanner errors and value errors come in command-line
 * order, then the family default, then the legality check, then the
 * protocol's check. The few checks 1.4.7 makes only when the command starts
 * (still without the kernel) are in validateForExecution().
 *
 * Deliberate differences from 1.4.7: `-u` does not
 * overwrite the mark (defect 1); `--id` needs a value and an unknown SCTP state is
 * an error instead of a crash (defect 12); every `-R` line has its own options,
 * template and output flags (defect 13).
 */
import { parseIPv4 } from '../ctnetlink/address';
import type { FlowFilter, NatMatch } from '../ctnetlink/filter';
import { PORT_PROTOCOLS } from '../ctnetlink/tuple';
import type { Flow, NatRange, Tuple } from '../ctnetlink/flow';
import { Proto } from '../ctnetlink/constants';
import { Status } from '../ctnetlink/status';
import { mergeFamily, parseAddressOption, splitNatArgument, type Family } from './address-args';
import { Getopt, type LongOption } from './getopt';
import { labelBitmap, loadLabelMap, type LabelMap } from './labelmap';
import { checkGenericOptions, checkProtocolOptions } from './legality';
import { LoadFile } from './load-file';
import type { FastCreate } from './load-file-fast';
import { STATUS_KEYWORDS } from './status-keywords';
import {
  commandByLetter,
  GENERIC_LONG_OPTIONS,
  optionByCode,
  OPTSTRING,
  type CommandDef,
  type CommandKind,
  type CommandSelection,
  type OptionFlag,
} from './options';
import { CliProblem, OtherProblem, ParameterProblem } from './problems';
import {
  GENERIC_MODULE,
  resolveProtocol,
  tupleOf,
  type ProtocolModule,
  type ProtocolTarget,
  type SelectedProtocol,
  type TargetTuple,
} from './protocols';
import { atol, strtoul, truncate } from '../libc/numbers';
import { readProtocolsFile, type ProtocolEntry } from '../libc/protocols-file';

export type Table = 'conntrack' | 'expect' | 'dying' | 'unconfirmed';

/** `-o` keywords. `userspace` is accepted and does nothing. */
export interface OutputFlags {
  readonly xml: boolean;
  readonly extended: boolean;
  readonly timestamp: boolean;
  readonly id: boolean;
  readonly ktimestamp: boolean;
  readonly labels: boolean;
  readonly userspace: boolean;
  readonly save: boolean;
  /** Our extension: one JSON object per line (expectations: `-L expect`, `-E expect`). */
  readonly json: boolean;
}

/** Label options as bit numbers, ascending. */
export interface LabelOptions {
  /** `-l`: bits an entry must have. */
  readonly filter?: readonly number[];
  /** `--label-add`: bits to set. */
  readonly add?: readonly number[];
  /** `--label-del`: bits to clear, or 'all' when no name was given. */
  readonly del?: readonly number[] | 'all';
}

/** What the expectation commands need (they take the master from `template`). */
export interface ExpectationTemplate {
  /** The expected tuple: `--tuple-src/--tuple-dst` and the protocol's `--tuple-port-*`. */
  readonly tuple: Tuple;
  /** The mask: `--mask-src/--mask-dst` (and the netmask of `/N`) and `--mask-port-*`. */
  readonly mask: Tuple;
  /** `-t`: the expectation timeout. */
  readonly timeout?: number;
}

/** The `-p` protocol with the options of its module that were given. */
export interface ProtocolSelection extends SelectedProtocol {
  /** Bit i set = option i of the module was given, as 1.4.7 keeps it. */
  readonly flags: number;
  /** The flag names of those options (`sport`, `state`, ...). */
  readonly options: ReadonlySet<string>;
}

export interface CommandLine {
  /** argv[0], for the usage text. */
  readonly argv0: string;
  /** The command kind, or USAGE when no command was given. */
  readonly command: CommandSelection;
  readonly table: Table;
  /** The command family after the default rules: 0 (unspecified), 2 or 10. */
  readonly family: Family;
  /** The generic options given, by canonical name (1.4.7's option bits: `-s A/24` also sets mask-src, `-a` sets nothing). */
  readonly options: ReadonlySet<OptionFlag>;
  readonly protocol?: ProtocolSelection;
  /**
   * The request template (1.4.7's template object): tuples as the options
   * set them (a reply tuple only from reply options), status (`-u`),
   * timeout, mark value, zones, protocol info incl. the TCP flags 1.4.7 adds,
   * NAT requests, labels of `--label-add`. For -I/-A pair it with
   * completeTuples().
   */
  readonly template: Flow;
  /**
   * The reply-direction ICMP type computed when `--icmp[v6]-type` was parsed
   * (255 when the family was unknown then).
   */
  readonly icmpReplyType?: number;
  /** Which entries the command acts on (for -U: the entries it then updates). Empty for non-filtering commands. */
  readonly filter: FlowFilter;
  /** `-m VALUE[/MASK]` as given: a filter for -L/-D/-E, the new mark for -I/-A, the change for -U. */
  readonly mark?: { readonly value: number; readonly mask: number };
  /**
   * `-u`: value = the bits to set (-I/-A/-U, OR-ed into the entry by -U);
   * mask = the kernel dump filter mask of -L (negated items, else the value).
   */
  readonly status?: { readonly value: number; readonly mask: number };
  readonly labels: LabelOptions;
  /** Loaded when a label option or `-o labels` asked for it and the file could be read. */
  readonly labelMap?: LabelMap;
  readonly output: OutputFlags;
  /** `-e`: NEW 1, UPDATE 2, DESTROY 4; undefined = all three. */
  readonly eventMask?: number;
  /** `-b`: atol() of the value. */
  readonly bufferSize?: number;
  readonly zero: boolean;
  /** `-c`: accepted, compared with nothing. */
  readonly secmark?: number;
  readonly expect: ExpectationTemplate;
  /** stderr lines 1.4.7 prints while parsing, in order. */
  readonly warnings: readonly string[];
}

/** Where parsing reads its files; defaults are the system's. */
export interface ParseEnvironment {
  readonly labelMapFile?: string;
  readonly protocolsFile?: string;
  /** getopt stops at the first non-option (glibc with POSIXLY_CORRECT set). Default: from process.env. */
  readonly posixlyCorrect?: boolean;
}

/** State shared by the command lines of one process (one `-R` file), such as the label map. */
class ParseSession {
  readonly warnings: string[] = [];
  private loadedLabelMap?: LabelMap;
  private protocolEntries?: ProtocolEntry[];

  /** Read once: process.env is a slow lookup, and a `-R` file makes a parser per line. */
  readonly posixlyCorrect: boolean;

  constructor(readonly env: ParseEnvironment) {
    this.posixlyCorrect = env.posixlyCorrect ?? process.env.POSIXLY_CORRECT !== undefined;
  }

  get protocols(): readonly ProtocolEntry[] {
    return (this.protocolEntries ??= readProtocolsFile(this.env.protocolsFile));
  }

  /**
   * 1.4.7's labelmap_init(): a loaded map is kept; after a failure every
   * later call tries (and prints the failure) again.
   */
  labelMap(warn: (line: string) => void): LabelMap | undefined {
    if (!this.loadedLabelMap) {
      const load = loadLabelMap(this.env.labelMapFile);
      if ('warning' in load) warn(load.warning);
      else this.loadedLabelMap = load.map;
    }
    return this.loadedLabelMap;
  }
}

/** Options whose presence turns on 1.4.7's generic comparison (CT_COMPARISON). */
export const COMPARISON_OPTIONS: ReadonlySet<OptionFlag> = new Set<OptionFlag>([
  'protonum', 'src', 'dst', 'reply-src', 'reply-dst', 'mark', 'secmark', 'status', 'id', 'zone', 'label',
  'orig-zone', 'reply-zone',
]);

/** Commands that do not get the IPv4 default family. */
const UNSPECIFIED_FAMILY_COMMANDS: ReadonlySet<CommandSelection> = new Set<CommandSelection>([
  'CT_LIST', 'CT_UPDATE', 'CT_DELETE', 'CT_GET', 'CT_FLUSH', 'CT_EVENT',
]);

const EVENT_KEYWORDS: readonly (readonly [string, number])[] = [
  ['ALL', 7], ['NEW', 1], ['UPDATES', 2], ['DESTROY', 4],
];
/** `json` comes last, so every abbreviation 1.4.7 accepts keeps its meaning. */
const OUTPUT_KEYWORDS = ['xml', 'extended', 'timestamp', 'id', 'ktimestamp', 'labels', 'userspace', 'save', 'json'] as const;
type OutputKeyword = (typeof OUTPUT_KEYWORDS)[number];
/** Output keyword bits. 1.4.7 gives `userspace` none; ours is excluded from the save conflict instead. */
const OUTPUT_BITS: Readonly<Record<OutputKeyword, number>> = {
  xml: 1, extended: 2, timestamp: 4, id: 8, ktimestamp: 16, labels: 32, userspace: 128, save: 64, json: 256,
};

/** strncasecmp(item, keyword, item.length) == 0: the item is an ASCII-case-insensitive prefix of the keyword. */
function abbreviates(item: string, keyword: string): boolean {
  const fold = (c: number): number => (c >= 0x61 && c <= 0x7a ? c - 0x20 : c);
  if (item.length > keyword.length) return false;
  for (let i = 0; i < item.length; i++) if (fold(item.charCodeAt(i)) !== fold(keyword.charCodeAt(i))) return false;
  return true;
}

/** Parses one command line (argv[0] = program name). Throws a CliProblem carrying the warnings printed before it. */
export function parseCommandLine(argv: readonly string[], env: ParseEnvironment = {}): CommandLine {
  const session = new ParseSession(env);
  return withWarnings(session, () => new CommandLineParser(argv, session).parse());
}

/** A whole invocation: one command line, or the command lines of a `-R` file. */
export type Invocation =
  | { readonly kind: 'single'; readonly command: CommandLine }
  | { readonly kind: 'load-file'; readonly script: LoadFileScript };

/** What 1.4.7 calls a command in `Cannot use command `X' with --load-file`. */
const LOAD_FILE_NAMES: Partial<Record<CommandSelection, string>> = {
  CT_LIST: '-L', CT_GET: '-G', CT_EVENT: '-E', CT_VERSION: '-V', CT_HELP: '-h', EXP_LIST: '-L expect',
  // sic: 1.4.7's table names -I expect like -C expect.
  EXP_CREATE: '-C expect', EXP_DELETE: '-D expect', EXP_GET: '-G expect', EXP_FLUSH: '-F expect',
  EXP_EVENT: '-E expect', CT_COUNT: '-C', EXP_COUNT: '-C expect', CT_STATS: '-S', EXP_STATS: '-S expect',
};
const LOAD_FILE_COMMANDS: ReadonlySet<CommandSelection> = new Set<CommandSelection>([
  'CT_CREATE', 'CT_ADD', 'CT_UPDATE', 'CT_DELETE', 'CT_FLUSH',
]);

/**
 * Parses the process's argv: `-R FILE` / `--load-file FILE` only as argv[1]
 * with a following word. A file is opened here and parsed by the
 * LoadFileScript's two readings.
 */
export function parseInvocation(argv: readonly string[], env: ParseEnvironment = {}): Invocation {
  if (argv.length <= 2 || (argv[1] !== '-R' && argv[1] !== '--load-file')) {
    return { kind: 'single', command: parseCommandLine(argv, env) };
  }
  return { kind: 'load-file', script: new LoadFileScript(LoadFile.open(argv[2]!), argv[0]!, new ParseSession(env)) };
}

/** A line of a `-R` file as check() passes it on: decided by the fast path, or parsed with its words. */
export type CheckedLine = FastCreate | { readonly cmd: CommandLine; readonly argv: readonly string[] };

/**
 * The command lines of a `-R` file: check() parses every line as
 * 1.4.7 does before it runs any, and only then checks each command against
 * what a file may contain. The lines are not kept here: check() hands each
 * one to its caller, which keeps what running it needs (load-file-spool.ts).
 */
export class LoadFileScript {
  constructor(
    private readonly file: LoadFile,
    private readonly progname: string,
    private readonly session: ParseSession,
  ) {}

  /**
   * Throws the problem 1.4.7 stops with before running anything. `warn`
   * gets the warnings of the lines as 1.4.7 prints them, line by line; the
   * failing line's own warnings travel with its problem. `keep` gets each
   * line, parsed, and its words, as long as no command refused in a file
   * was seen.
   */
  check(warn: (line: string) => void, keep: (line: CheckedLine) => void): void {
    let refused: CommandSelection | undefined;
    for (const argv of this.file.commands(this.progname)) {
      // The common -I/-A line came decided: it cannot fail, warn or be refused.
      if (!Array.isArray(argv)) {
        if (refused === undefined) keep(argv);
        continue;
      }
      const cmd = withWarnings(this.session, () => new CommandLineParser(argv, this.session).parse());
      // Most lines print nothing: no array is taken off then.
      if (this.session.warnings.length > 0) for (const line of this.session.warnings.splice(0)) warn(line);
      if (refused === undefined && !LOAD_FILE_COMMANDS.has(cmd.command)) refused = cmd.command;
      if (refused === undefined) keep({ cmd, argv });
    }
    if (refused !== undefined) {
      throw new ParameterProblem(`Cannot use command \`${LOAD_FILE_NAMES[refused] ?? 'unknown'}' with --load-file`);
    }
  }

  /** Parses again the words of a line that check() passed; its warnings were printed then. */
  parse(argv: readonly string[]): CommandLine {
    const cmd = new CommandLineParser(argv, this.session).parse();
    this.session.warnings.length = 0;
    return cmd;
  }

  close(): void {
    this.file.close();
  }
}

function withWarnings<T>(session: ParseSession, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof CliProblem) e.warnings = [...session.warnings];
    throw e;
  }
}

/**
 * The checks 1.4.7 makes when the command starts, before any request.
 * Call it right before running the command; for -E
 * after the event socket is open and the buffer-size NOTICE printed, as
 * 1.4.7 does. `-L dying` and `-L unconfirmed` skip them.
 */
export function validateForExecution(cmd: CommandLine): void {
  const list = cmd.command === 'CT_LIST' && cmd.table === 'conntrack';
  if (!list && !['CT_UPDATE', 'CT_DELETE', 'CT_EVENT'].includes(cmd.command)) return;
  if (list && cmd.zero && [...cmd.options].some((o) => COMPARISON_OPTIONS.has(o))) {
    throw new ParameterProblem("Can't use -z with filtering parameters");
  }
  if (cmd.options.has('mask-src') && !cmd.options.has('src')) {
    throw new ParameterProblem("Can't use --mask-src without --src");
  }
  if (cmd.options.has('mask-dst') && !cmd.options.has('dst')) {
    throw new ParameterProblem("Can't use --mask-dst without --dst");
  }
}

/** Protocols whose ports swap when a tuple is derived from the other direction. */

/**
 * The tuples `-I`/`-A` send. When only one direction was
 * given, the other one is derived from it as libnetfilter_conntrack does:
 * addresses and ports swapped, the same l3/l4 protocol, only the zone of
 * the derived direction kept; for the reply, ICMP keeps its id and code and
 * takes the reply type computed at parse time. A protocol the options left
 * unset goes out as 0, like every tuple 1.4.7 sends.
 */
export function completeTuples(cmd: CommandLine): { readonly orig: Tuple; readonly reply: Tuple } {
  const { orig, reply } = cmd.template;
  const origGiven = cmd.options.has('src') || cmd.options.has('dst');
  const replyGiven = cmd.options.has('reply-src') || cmd.options.has('reply-dst');
  if (!replyGiven) {
    return origGiven ? { orig, reply: { ...swapped(orig, reply.zone), ...icmpReplyFields(orig, cmd.icmpReplyType) } } : { orig, reply };
  }
  // A protocol without options of its own has none that could set the reply
  // direction's protocol, so 1.4.7 sends the `-p` number in both directions.
  const proto = cmd.protocol?.module === GENERIC_MODULE ? cmd.protocol.number : (reply.proto ?? 0);
  const sentReply = { ...reply, proto };
  return { orig: origGiven ? orig : swapped(sentReply, orig.zone), reply: sentReply };
}

/** The tuple of the other direction of `from`, in `zone`. */
function swapped(from: Tuple, zone: number | undefined): Tuple {
  const to: Tuple = { l3: from.l3, src: from.dst, dst: from.src, proto: from.proto, zone };
  if (from.proto !== undefined && PORT_PROTOCOLS.has(from.proto)) {
    to.sport = from.dport ?? 0;
    to.dport = from.sport ?? 0;
  }
  return withoutUndefined(to);
}

/** The ICMP fields libnetfilter_conntrack keeps for the reply direction. */
function icmpReplyFields(orig: Tuple, icmpReplyType: number | undefined): Partial<Tuple> {
  return withoutUndefined({
    icmpType: orig.icmpType === undefined ? undefined : icmpReplyType,
    icmpCode: orig.icmpCode,
    icmpId: orig.icmpId,
  });
}

function withoutUndefined<T extends object>(value: T): T {
  // A loop, not Object.entries(): every -I/-A line of a -R file comes here.
  const out: Partial<T> = {};
  for (const key in value) if (value[key] !== undefined) out[key] = value[key];
  return out as T;
}

/** Long option values of protocol options: `P<generation>:<code>` (1.4.7 adds 256 per `-p`). */
const protocolVal = (generation: number, code: number): string => `P${generation}:${code}`;

/** The code of a protocol option's long option value, read once per value. */
const PROTOCOL_CODES = new Map<string, number>();

function protocolCode(val: string): number {
  let code = PROTOCOL_CODES.get(val);
  if (code === undefined) PROTOCOL_CODES.set(val, (code = Number(val.slice(val.indexOf(':') + 1))));
  return code;
}

/** The options the generation-th `-p` of a module adds, made once: every line of a `-R` file asks again. */
const PROTOCOL_LONG_OPTIONS = new Map<ProtocolModule, LongOption[][]>();

function protocolLongOptions(module: ProtocolModule, generation: number): readonly LongOption[] {
  let generations = PROTOCOL_LONG_OPTIONS.get(module);
  if (!generations) PROTOCOL_LONG_OPTIONS.set(module, (generations = []));
  return (generations[generation] ??= module.options.flatMap((o, i) =>
    o.longs.map((name) => ({ name, arg: 'required' as const, val: protocolVal(generation, module.codeBase + i) })),
  ));
}

/** The long options after a line's first `-p` of each module, made once: almost every `-p` is a line's first. */
const FIRST_PROTOCOL_LONG_OPTIONS = new Map<ProtocolModule, readonly LongOption[]>();

/** `longopts` (which holds the generations before) and the options of the generation-th `-p` of a module. */
function withProtocolOptions(longopts: readonly LongOption[], module: ProtocolModule, generation: number): readonly LongOption[] {
  // Later generations are not kept: the sequences of `-p` of a file's lines could be many.
  if (generation > 1) return [...longopts, ...protocolLongOptions(module, generation)];
  let extended = FIRST_PROTOCOL_LONG_OPTIONS.get(module);
  if (!extended) FIRST_PROTOCOL_LONG_OPTIONS.set(module, (extended = [...longopts, ...protocolLongOptions(module, generation)]));
  return extended;
}

/** What each address option does: target tuple, field, and the mask option a `/N` sets. */
const ADDRESS_OPTIONS: Partial<Record<OptionFlag, { target: TargetTuple; field: 'src' | 'dst'; maskFlag?: OptionFlag }>> = {
  src: { target: 'orig', field: 'src', maskFlag: 'mask-src' },
  dst: { target: 'orig', field: 'dst', maskFlag: 'mask-dst' },
  'reply-src': { target: 'reply', field: 'src' },
  'reply-dst': { target: 'reply', field: 'dst' },
  'tuple-src': { target: 'expected', field: 'src', maskFlag: 'mask-src' },
  'tuple-dst': { target: 'expected', field: 'dst', maskFlag: 'mask-dst' },
  'mask-src': { target: 'mask', field: 'src' },
  'mask-dst': { target: 'mask', field: 'dst' },
};

class CommandLineParser {
  private readonly getopt: Getopt;
  private readonly warnings: string[] = [];
  private longopts: readonly LongOption[] = GENERIC_LONG_OPTIONS;

  private command: CommandSelection = 'USAGE';
  private table: Table = 'conntrack';
  private family: Family = 0;
  private readonly options = new Set<OptionFlag>();
  private readonly target: ProtocolTarget = { template: { family: 0, orig: {}, reply: {} }, expected: {}, mask: {} };
  private protocol?: SelectedProtocol;
  private protocolGeneration = 0;
  private protocolFlags = 0;
  private statusValue = 0;
  private statusMask = 0;
  private mark?: { value: number; mask: number };
  private eventMask = 0;
  private outputBits = 0;
  private bufferSize?: number;
  private secmark?: number;
  private readonly nat: { src?: NatMatch; dst?: NatMatch; any?: NatMatch } = {};
  private labelFilter?: Set<number>;
  private labelModify?: Set<number>;
  private labelMap?: LabelMap;

  constructor(argv: readonly string[], private readonly session: ParseSession) {
    this.getopt = new Getopt(argv, OPTSTRING, { posixlyCorrect: session.posixlyCorrect });
  }

  private get template(): Flow {
    return this.target.template;
  }

  private warn(line: string): void {
    this.warnings.push(line);
    this.session.warnings.push(line);
  }

  parse(): CommandLine {
    for (let event = this.getopt.next(this.longopts); event; event = this.getopt.next(this.longopts)) {
      if (event.type === 'missing-argument') {
        throw new ParameterProblem(`option \`${this.getopt.lastWord}' requires an argument`);
      }
      if (event.type === 'unknown') throw new ParameterProblem(`unknown option \`${this.getopt.lastWord}'`);
      this.dispatch(event.val, event.optarg);
    }

    if (this.family === 0 && !UNSPECIFIED_FAMILY_COMMANDS.has(this.command)) this.family = 2;
    checkGenericOptions(this.command, this.options);
    if (this.protocol && this.command !== 'CT_HELP') {
      checkProtocolOptions(this.command, this.protocol.module, this.protocolFlags);
      this.protocol.module.finish?.(this.template);
    }
    return this.result();
  }

  private dispatch(val: string, optarg: string | undefined): void {
    if (val.startsWith('P')) return this.protocolOption(val, optarg!);
    const command = commandByLetter(val);
    if (command) return this.addCommand(command, optarg);
    const option = optionByCode(val)!;
    // The deprecated -a never counts as given.
    if (option.flag !== 'nat-range') this.options.add(option.flag);
    this.genericOption(option.flag, optarg);
  }

  /** The table word of a command, then the command itself. */
  private addCommand(def: CommandDef, optarg: string | undefined): void {
    const word = this.getopt.takeOptionalWord(optarg);
    const table = word === undefined ? 'conntrack' : (['expect', 'conntrack', 'dying', 'unconfirmed'] as const).find((t) => t.startsWith(word));
    if (!table) throw new ParameterProblem(`unknown type \`${word}'`);
    let kind: CommandKind | undefined;
    if (table === 'dying' || table === 'unconfirmed') {
      if (def.letter !== 'L') throw new ParameterProblem("Can't do that command with tables `dying' and `unconfirmed'");
      kind = 'CT_LIST';
    } else {
      kind = def.kinds[table === 'expect' ? 1 : 0];
      if (!kind) throw new ParameterProblem(`Can't do --${def.longs[0]} on expectations`);
    }
    if (this.command !== 'USAGE') throw new ParameterProblem('Invalid commands combination');
    this.command = kind;
    this.table = table;
  }

  private genericOption(flag: OptionFlag, optarg: string | undefined): void {
    const value = optarg!;
    const address = ADDRESS_OPTIONS[flag];
    if (address) return this.addressOption(flag, value, address);
    switch (flag) {
      case 'protonum':
        return this.selectProtocol(value);
      case 'timeout':
        this.template.timeout = truncate(atol(value), 32);
        return;
      case 'status':
        this.parseStatus(value);
        this.template.status = this.statusValue;
        if (this.statusMask === 0) this.statusMask = this.statusValue;
        return;
      case 'event-mask':
        this.eventMask |= this.parseKeywords(value, EVENT_KEYWORDS);
        return;
      case 'output':
        return this.parseOutput(value);
      case 'src-nat':
      case 'dst-nat':
      case 'any-nat':
        return this.natOption(flag, optarg);
      case 'zone':
        this.template.zone = truncate(strtoul(value).value, 16);
        return;
      case 'orig-zone':
        this.template.orig.zone = truncate(strtoul(value).value, 16);
        return;
      case 'reply-zone':
        this.template.reply.zone = truncate(strtoul(value).value, 16);
        return;
      case 'id':
        this.template.id = truncate(strtoul(value).value, 32);
        return;
      case 'secmark':
        this.secmark = truncate(strtoul(value).value, 32);
        return;
      case 'mark': {
        const { value: markValue, end } = strtoul(value);
        const mask = value[end] === '/' ? truncate(strtoul(value.slice(end + 1)).value, 32) : 0xffffffff;
        this.mark = { value: truncate(markValue, 32), mask };
        return;
      }
      case 'label':
      case 'label-add':
      case 'label-del':
        return this.labelOption(flag, optarg);
      case 'nat-range':
        this.warn('WARNING: ignoring -a, deprecated option.');
        return;
      case 'family':
        if (value.startsWith('ipv4')) this.family = mergeFamily(this.family, 2);
        else if (value.startsWith('ipv6')) this.family = mergeFamily(this.family, 10);
        else throw new ParameterProblem(`\`${value}' unsupported protocol`);
        return;
      case 'buffer-size':
        this.bufferSize = Number(atol(value));
        return;
      case 'zero':
        return;
    }
  }

  /** An address option: the address, its family, and for `/N` the mask option it implies. */
  private addressOption(flag: OptionFlag, value: string, how: NonNullable<(typeof ADDRESS_OPTIONS)[OptionFlag]>): void {
    const parsed = parseAddressOption(value, this.family, { longName: flag, cidr: how.maskFlag !== undefined });
    this.family = parsed.family;
    const tuple = tupleOf(this.target, how.target);
    tuple[how.field] = parsed.value.address;
    tuple.l3 = parsed.value.family;
    if (parsed.value.netmask !== undefined && how.maskFlag) {
      this.options.add(how.maskFlag);
      this.target.mask[how.field] = parsed.value.netmask;
      this.target.mask.l3 = parsed.value.family;
    }
  }

  /** `-p`: the module and its options from now on; a second `-p` adds another copy. */
  private selectProtocol(value: string): void {
    const selected = resolveProtocol(value, this.session.protocols);
    if (!selected) throw new ParameterProblem(`\`${value}' unsupported protocol`);
    this.protocol = selected;
    const generation = ++this.protocolGeneration;
    const { module } = selected;
    this.longopts = withProtocolOptions(this.longopts, module, generation);
    this.template.orig.proto = selected.number;
  }

  /**
   * A protocol option reaches the module of the last `-p` by its 1.4.7 code
   * (see ProtocolModule.codeBase); a code the module does not have is ignored.
   */
  private protocolOption(val: string, value: string): void {
    const code = protocolCode(val);
    const module = this.protocol!.module;
    const index = code - module.codeBase;
    const option = module.options[index];
    if (!option) return;
    option.parse(value, this.target);
    this.protocolFlags |= 1 << index;
  }

  /**
   * `-u LIST`: `!NAME` goes to the
   * mask, an item starting with UNREPLIED means "SEEN_REPLY clear".
   */
  private parseStatus(list: string): void {
    let rest = list;
    for (;;) {
      const comma = rest.indexOf(',');
      if (comma === 0) throw badParameter(rest);
      const negated = rest.startsWith('!');
      if (negated) rest = rest.slice(1);
      const end = comma < 0 ? rest.length : comma - (negated ? 1 : 0);
      if (comma >= 0 && end === 0) throw badParameter(rest);
      if (!negated && rest.startsWith('UNREPLIED')) {
        this.statusMask |= Status.SEEN_REPLY;
      } else {
        if (end === 0) throw badParameter(rest);
        const bits = this.keyword(rest.slice(0, end), STATUS_KEYWORDS);
        if (bits === undefined) throw badParameter(rest);
        if (negated) this.statusMask |= bits;
        else this.statusValue |= bits;
      }
      if (comma < 0) return;
      rest = rest.slice(end + 1);
    }
  }

  /** A comma list of keywords: the OR of their values. */
  private parseKeywords(list: string, keywords: readonly (readonly [string, number])[]): number {
    let bits = 0;
    let rest = list;
    for (;;) {
      const comma = rest.indexOf(',');
      const item = comma < 0 ? rest : rest.slice(0, comma);
      const value = item === '' ? undefined : this.keyword(item, keywords);
      if (value === undefined) throw badParameter(rest);
      bits |= value;
      if (comma < 0) return bits;
      rest = rest.slice(comma + 1);
    }
  }

  /**
   * One list item (1.4.7's do_parse_parameter): abbreviations of SRC_NAT and
   * DST_NAT are accepted with a warning and mean nothing; otherwise the first
   * keyword it abbreviates. Undefined when none.
   */
  private keyword(item: string, keywords: readonly (readonly [string, number])[]): number | undefined {
    for (const nat of ['SRC_NAT', 'DST_NAT']) {
      if (abbreviates(item, nat)) {
        this.warn(`WARNING: ignoring ${nat}, use --${nat === 'SRC_NAT' ? 'src' : 'dst'}-nat instead`);
        return 0;
      }
    }
    return keywords.find(([name]) => abbreviates(item, name))?.[1];
  }

  private parseOutput(list: string): void {
    this.outputBits |= this.parseKeywords(list, OUTPUT_KEYWORDS.map((k) => [k, OUTPUT_BITS[k]] as const));
    if (this.outputBits & OUTPUT_BITS.labels) this.labelMap = this.session.labelMap((l) => this.warn(l));
    if (this.outputBits & OUTPUT_BITS.save && this.outputBits & ~(OUTPUT_BITS.save | OUTPUT_BITS.userspace)) {
      throw new OtherProblem('cannot combine save output with any other output type, use -o save only');
    }
  }

  /** `-n/-g/-j [ADDR[:PORT]]`: the value by the optional-argument words rule. */
  private natOption(flag: 'src-nat' | 'dst-nat' | 'any-nat', optarg: string | undefined): void {
    const word = this.getopt.takeOptionalWord(optarg);
    const match: NatMatch = {};
    if (word !== undefined) {
      const { address, port } = splitNatArgument(word);
      const parsed = parseAddressOption(address, this.family, { longName: flag, cidr: false });
      this.family = parsed.family;
      match.addr = parsed.value.address;
      if (port !== undefined) match.port = port;
      // 1.4.7 marks the original l3 protocol for -n/-g (not for -j, whose
      // table entry is missing there: it scribbles on the original source
      // address instead, which we do not reproduce).
      if (flag !== 'any-nat') this.template.orig.l3 = parsed.value.family;
    }
    const key = flag === 'src-nat' ? 'src' : flag === 'dst-nat' ? 'dst' : 'any';
    this.nat[key] = match;
  }

  /** `-l`, `--label-add`, `--label-del`. */
  private labelOption(flag: 'label' | 'label-add' | 'label-del', optarg: string | undefined): void {
    const map = this.session.labelMap((l) => this.warn(l));
    this.labelMap = map;
    if (this.options.has('label-add') && this.options.has('label-del')) {
      throw new OtherProblem('cannot use --label-add and --label-del at the same time');
    }
    const names = flag === 'label-del' ? this.getopt.takeOptionalWord(optarg) : optarg!;
    // `--label-del` without names clears all labels.
    if (names === undefined) return;
    const bits = names.split(',').map((name) => {
      const bit = map?.bitOf(name);
      if (bit === undefined) throw new ParameterProblem(`unknown label '${name}'`);
      return bit;
    });
    const set = flag === 'label' ? (this.labelFilter ??= new Set()) : (this.labelModify ??= new Set());
    for (const bit of bits) set.add(bit);
  }

  private result(): CommandLine {
    const template = this.template;
    template.family = this.family;
    const o = this.options;
    const icmpReplyType = this.target.icmpReplyType;
    // The reply tuple carries the ICMP fields when a reply address was given.
    if ((o.has('reply-src') || o.has('reply-dst')) && isIcmp(template.orig.proto)) {
      Object.assign(template.reply, icmpReplyFields(template.orig, icmpReplyType));
    }
    // Mark and labels go into the request of -I/-A only; -U computes them per entry.
    const creating = this.command === 'CT_CREATE' || this.command === 'CT_ADD';
    if (this.mark && creating) template.mark = this.mark.value;
    // Properties are set one by one, not spread: a -R file builds one of these per line.
    const sorted = (set: Set<number> | undefined): number[] | undefined => set && [...set].sort((a, b) => a - b);
    const labels: { -readonly [K in keyof LabelOptions]: LabelOptions[K] } = {};
    if (this.labelFilter) labels.filter = sorted(this.labelFilter);
    if (o.has('label-add')) labels.add = sorted(this.labelModify) ?? [];
    if (o.has('label-del')) labels.del = sorted(this.labelModify) ?? 'all';
    if (labels.add && creating) template.labels = labelBitmap(labels.add);
    if (this.nat.src?.addr !== undefined) template.natSrc = natRange(this.nat.src);
    if (this.nat.dst?.addr !== undefined) template.natDst = natRange(this.nat.dst);

    const expect: { -readonly [K in keyof ExpectationTemplate]: ExpectationTemplate[K] } = {
      tuple: this.target.expected,
      mask: this.target.mask,
    };
    if (template.timeout !== undefined) expect.timeout = template.timeout;
    const cmd: { -readonly [K in keyof CommandLine]: CommandLine[K] } = {
      argv0: this.getopt.argv[0]!,
      command: this.command,
      table: this.table,
      family: this.family,
      options: o,
      template,
      filter: {},
      labels,
      output: outputFlags(this.outputBits),
      zero: o.has('zero'),
      expect,
      warnings: this.warnings,
    };
    if (this.protocol) {
      const { module, number } = this.protocol;
      cmd.protocol = { module, number, flags: this.protocolFlags, options: givenProtocolOptions(module, this.protocolFlags) };
    }
    if (icmpReplyType !== undefined) cmd.icmpReplyType = icmpReplyType;
    if (this.mark) cmd.mark = this.mark;
    if (o.has('status')) cmd.status = { value: this.statusValue, mask: this.statusMask };
    if (this.labelMap) cmd.labelMap = this.labelMap;
    if (o.has('event-mask')) cmd.eventMask = this.eventMask;
    if (this.bufferSize !== undefined) cmd.bufferSize = this.bufferSize;
    if (this.secmark !== undefined) cmd.secmark = this.secmark;
    cmd.filter = buildFilter(cmd, this.nat);
    return cmd;
  }
}

/** Output flags by keyword bits, made once per combination: a `-R` file makes a command line per line. */
const OUTPUT_FLAGS = new Map<number, OutputFlags>();

function outputFlags(bits: number): OutputFlags {
  let flags = OUTPUT_FLAGS.get(bits);
  if (!flags) {
    const output = {} as Record<OutputKeyword, boolean>;
    for (const k of OUTPUT_KEYWORDS) output[k] = (bits & OUTPUT_BITS[k]) !== 0;
    OUTPUT_FLAGS.set(bits, (flags = output));
  }
  return flags;
}

/** The flag names of a module's options given (bit i = option i), made once per module and combination. */
const PROTOCOL_OPTION_NAMES = new Map<ProtocolModule, Map<number, ReadonlySet<string>>>();

function givenProtocolOptions(module: ProtocolModule, flags: number): ReadonlySet<string> {
  let byFlags = PROTOCOL_OPTION_NAMES.get(module);
  if (!byFlags) PROTOCOL_OPTION_NAMES.set(module, (byFlags = new Map()));
  let names = byFlags.get(flags);
  if (!names) byFlags.set(flags, (names = new Set(module.options.filter((_, i) => flags & (1 << i)).map((p) => p.flag))));
  return names;
}

const badParameter = (rest: string): ParameterProblem => new ParameterProblem(`Bad parameter \`${rest}'`);

const isIcmp = (proto: number | undefined): boolean => proto === Proto.ICMP || proto === Proto.ICMPV6;

function natRange(match: NatMatch): NatRange {
  return { ...(match.addr !== undefined && { minIp: match.addr }), ...(match.port !== undefined && { minPort: match.port }) };
}

/**
 * Fields of a template tuple that 1.4.7's generic comparison looks at: the
 * reply has no ICMP fields there, and GRE keys are never compared (defect 18).
 */
function comparable(tuple: Tuple, direction: 'orig' | 'reply', proto: number | undefined): Tuple | undefined {
  const copy: Tuple = { ...tuple };
  if (direction === 'reply') {
    delete copy.icmpType;
    delete copy.icmpCode;
    delete copy.icmpId;
  }
  if (proto === Proto.GRE) {
    delete copy.sport;
    delete copy.dport;
  }
  return Object.keys(copy).length > 0 ? copy : undefined;
}

/** A NAT option as 1.4.7 tests it: an IPv6 address is not compared (defect 18), only the NAT itself. */
function natAsCompared(match: NatMatch | undefined): NatMatch | undefined {
  if (match?.addr === undefined || parseIPv4(match.addr)) return match;
  return match.port === undefined ? {} : { port: match.port };
}

/** The filter of a command (for -U: which entries it updates). */
function buildFilter(cmd: CommandLine, nat: { src?: NatMatch; dst?: NatMatch; any?: NatMatch }): FlowFilter {
  const filtering: readonly CommandSelection[] = ['CT_LIST', 'CT_DELETE', 'CT_UPDATE', 'CT_GET', 'CT_EVENT'];
  if (!filtering.includes(cmd.command)) return {};
  const o = cmd.options;
  const t = cmd.template;
  const filter: FlowFilter = {};
  if (cmd.family !== 0) filter.family = cmd.family;
  if (nat.src || nat.dst || nat.any) {
    filter.nat = {};
    for (const side of ['src', 'dst', 'any'] as const) if (nat[side]) filter.nat[side] = natAsCompared(nat[side]);
  }
  if (cmd.labels.filter) filter.labels = labelBitmap(cmd.labels.filter);
  // A network needs its address: without -s/-d validateForExecution() refuses
  // the command, except for -L dying/unconfirmed, where 1.4.7 rejects every
  // entry instead (lists that are empty in practice); we leave it out there.
  if (o.has('mask-src') && t.orig.src !== undefined) filter.srcMask = cmd.expect.mask.src!;
  if (o.has('mask-dst') && t.orig.dst !== undefined) filter.dstMask = cmd.expect.mask.dst!;

  const proto = t.orig.proto ?? t.reply.proto;
  const orig = comparable(t.orig, 'orig', proto);
  const reply = comparable(t.reply, 'reply', proto);
  if (cmd.command === 'CT_UPDATE') {
    // Mark, status, zones and protocol state are the changes of -U, not filters.
    if (t.id !== undefined) filter.id = t.id;
    if (orig && (o.has('src') || o.has('dst') || o.has('protonum'))) filter.orig = orig;
    if (reply && (o.has('reply-src') || o.has('reply-dst') || o.has('protonum'))) filter.reply = reply;
    return filter;
  }

  if (cmd.mark) filter.mark = cmd.mark;
  if (![...o].some((flag) => COMPARISON_OPTIONS.has(flag))) return filter;
  if (orig) filter.orig = orig;
  if (reply) filter.reply = reply;
  if (cmd.status) {
    // -L sends the status as kernel dump filter, whose mask is what counts;
    // everywhere else the template's bits must be set in the entry.
    const kernel = cmd.command === 'CT_LIST' && cmd.table === 'conntrack';
    filter.status = { value: cmd.status.value, mask: kernel ? cmd.status.mask : cmd.status.value };
  }
  if (t.zone !== undefined) filter.zone = t.zone;
  if (t.id !== undefined) filter.id = t.id;
  const state = t.tcp?.state ?? t.sctp?.state ?? t.dccp?.state;
  if (state !== undefined) filter.state = state;
  if (t.timeout !== undefined) filter.timeout = t.timeout;
  return filter;
}
