/**
 * The declarative table of the `conntrack` command line: every command and
 * generic option with its letter, long names, argument kind, legality per
 * command and help text. The getopt tables (optstring, long options), the
 * legality check and the usage text are all derived from it; protocol
 * options live in protocols.ts in the same shape.
 *
 * Names follow conntrack 1.4.7: `flag` is the canonical name
 * its messages print (`Illegal option `--src'...`), `code` the value its
 * getopt returns, which is also accepted as a short option (so `-[` works
 * like `--tuple-src`, as in 1.4.7).
 */
import type { ArgRequirement, LongOption } from './getopt';

/** The 20 internal command kinds of 1.4.7, in the row order of its option matrix. */
export const COMMAND_KINDS = [
  'CT_LIST', 'CT_CREATE', 'CT_UPDATE', 'CT_DELETE', 'CT_GET', 'CT_FLUSH', 'CT_EVENT', 'CT_VERSION',
  'CT_HELP', 'EXP_LIST', 'EXP_CREATE', 'EXP_DELETE', 'EXP_GET', 'EXP_FLUSH', 'EXP_EVENT', 'CT_COUNT',
  'EXP_COUNT', 'CT_STATS', 'EXP_STATS', 'CT_ADD',
] as const;
export type CommandKind = (typeof COMMAND_KINDS)[number];

/** What runs: a command kind, or the usage text when no command was given. */
export type CommandSelection = CommandKind | 'USAGE';

/**
 * One cell of a legality matrix: `M` mandatory, `o` optional,
 * `.` illegal, `T` allowed but part of a pair rule (a complete pair is needed).
 */
export type Legality = 'M' | 'o' | '.' | 'T';
export type LegalityRow = Readonly<Record<CommandSelection, Legality>>;

/**
 * A legality row written as marks (see Legality): one mark per column of
 * `columns`, separated by spaces; commands not in `columns` are illegal.
 */
export function legalityRow(columns: readonly CommandSelection[], marks: string): LegalityRow {
  const cells = marks.trim().split(/\s+/);
  if (cells.length !== columns.length || cells.some((c) => !'Mo.T'.includes(c) || c.length !== 1)) {
    throw new Error(`bad legality row "${marks}" for ${columns.length} columns`);
  }
  const row = {} as Record<CommandSelection, Legality>;
  for (const kind of [...COMMAND_KINDS, 'USAGE'] as const) row[kind] = '.';
  columns.forEach((kind, i) => (row[kind] = cells[i] as Legality));
  return row;
}

/**
 * Columns of the generic matrix: 1.4.7's command kinds in order, plus
 * USAGE (no command). 1.4.7 reads a row past the end of its matrix when no
 * command was given; what it finds there makes every option illegal except
 * `--reply-zone` (so `conntrack --reply-zone 1` prints the usage): quirk defect 15,
 * kept, observed on the reference.
 */
const GENERIC_COLUMNS: readonly CommandSelection[] = [...COMMAND_KINDS, 'USAGE'];

/** Help of one option or command in the usage text: `  SYNOPSIS<tabs>TEXT`. */
export interface HelpEntry {
  /** What follows the option names in the synopsis, e.g. ` ip` (the z line has a lone space). */
  readonly argName: string;
  readonly tabs: string;
  readonly text: string;
}

export interface CommandDef {
  readonly letter: string;
  readonly longs: readonly string[];
  readonly arg: ArgRequirement;
  /** The kind on the conntrack table and on the expect table (undefined: `Can't do --X on expectations`). */
  readonly kinds: readonly [CommandKind, CommandKind | undefined];
  readonly help?: HelpEntry;
  /** What the README says of a command 1.4.7's usage text leaves out. */
  readonly doc?: string;
}

/**
 * Commands. All of them take their table name by the optional-argument
 * words rule, whatever getopt thinks of their argument.
 */
export const COMMANDS: readonly CommandDef[] = [
  { letter: 'L', longs: ['dump'], arg: 'optional', kinds: ['CT_LIST', 'EXP_LIST'],
    help: { argName: ' [table] [options]', tabs: '\t\t', text: 'List conntrack or expectation table' } },
  { letter: 'I', longs: ['create'], arg: 'optional', kinds: ['CT_CREATE', 'EXP_CREATE'],
    help: { argName: ' [table] parameters', tabs: '\t\t', text: 'Create a conntrack or expectation' } },
  { letter: 'U', longs: ['update'], arg: 'optional', kinds: ['CT_UPDATE', undefined],
    help: { argName: ' [table] parameters', tabs: '\t\t', text: 'Update a conntrack' } },
  { letter: 'D', longs: ['delete'], arg: 'optional', kinds: ['CT_DELETE', 'EXP_DELETE'],
    help: { argName: ' [table] parameters', tabs: '\t\t', text: 'Delete conntrack or expectation' } },
  { letter: 'G', longs: ['get'], arg: 'optional', kinds: ['CT_GET', 'EXP_GET'],
    help: { argName: ' [table] parameters', tabs: '\t\t', text: 'Get conntrack or expectation' } },
  { letter: 'E', longs: ['event'], arg: 'optional', kinds: ['CT_EVENT', 'EXP_EVENT'],
    help: { argName: ' [table] [options]', tabs: '\t\t', text: 'Show events' } },
  { letter: 'F', longs: ['flush'], arg: 'optional', kinds: ['CT_FLUSH', 'EXP_FLUSH'],
    help: { argName: ' [table]', tabs: '\t\t\t', text: 'Flush table' } },
  { letter: 'A', longs: ['add'], arg: 'optional', kinds: ['CT_ADD', undefined],
    doc: 'Create a conntrack, or leave an existing one as it is' },
  { letter: 'C', longs: ['counter'], arg: 'optional', kinds: ['CT_COUNT', 'EXP_COUNT'],
    help: { argName: ' [table]', tabs: '\t\t\t', text: 'Show counter' } },
  { letter: 'h', longs: ['help'], arg: 'none', kinds: ['CT_HELP', 'CT_HELP'], doc: 'Show the usage text (with `-p`, the protocol options too)' },
  { letter: 'V', longs: ['version'], arg: 'none', kinds: ['CT_VERSION', 'CT_VERSION'], doc: 'Show the version' },
  { letter: 'S', longs: ['stats'], arg: 'none', kinds: ['CT_STATS', 'EXP_STATS'],
    help: { argName: '', tabs: '\t\t\t\t', text: 'Show statistics' } },
];

/** Canonical names of the generic options, in 1.4.7's bit order (= legality check order). */
export type OptionFlag =
  | 'src' | 'dst' | 'reply-src' | 'reply-dst' | 'protonum' | 'timeout' | 'status' | 'zero'
  | 'event-mask' | 'tuple-src' | 'tuple-dst' | 'mask-src' | 'mask-dst' | 'nat-range' | 'mark' | 'id'
  | 'family' | 'src-nat' | 'dst-nat' | 'output' | 'secmark' | 'buffer-size' | 'any-nat' | 'zone'
  | 'label' | 'label-add' | 'label-del' | 'orig-zone' | 'reply-zone';

export interface OptionDef {
  readonly flag: OptionFlag;
  /** getopt's value for it; also accepted as a short option. */
  readonly code: string;
  /** The documented letter (`-s`); undefined for 1.4.7's internal codes such as `[`. */
  readonly letter?: string;
  /** Long names, in the order --help lists them. */
  readonly longs: readonly string[];
  readonly arg: ArgRequirement;
  /** The value is taken by the optional-argument words rule. */
  readonly optionalWord?: true;
  readonly legal: LegalityRow;
  readonly help?: HelpEntry;
  /** What the README says of an option 1.4.7's usage text leaves out. */
  readonly doc?: string;
}

const row = (marks: string): LegalityRow => legalityRow(GENERIC_COLUMNS, marks);

/*
 * Columns of the rows below (1.4.7's command kinds, plus USAGE):
 *           -L -I -U -D -G -F -E -V -h Lx Ix Dx Gx Fx Ex -C Cx -S Sx -A | none
 */
export const OPTIONS: readonly OptionDef[] = [
  { flag: 'src', code: 's', letter: 's', longs: ['src', 'orig-src'], arg: 'required',
    legal: row('o  T  o  o  T  .  o  .  .  .  M  M  M  .  .  .  .  .  .  T   .'),
    help: { argName: ' ip', tabs: '\t\t', text: 'Source address from original direction' } },
  { flag: 'dst', code: 'd', letter: 'd', longs: ['dst', 'orig-dst'], arg: 'required',
    legal: row('o  T  o  o  T  .  o  .  .  .  M  M  M  .  .  .  .  .  .  T   .'),
    help: { argName: ' ip', tabs: '\t\t', text: 'Destination address from original direction' } },
  { flag: 'reply-src', code: 'r', letter: 'r', longs: ['reply-src'], arg: 'required',
    legal: row('o  T  o  o  T  .  o  .  .  .  o  o  o  .  .  .  .  .  .  T   .'),
    // "addres": 1.4.7's typo, part of its usage text (defect 16).
    help: { argName: ' ip', tabs: '\t\t', text: 'Source addres from reply direction' } },
  { flag: 'reply-dst', code: 'q', letter: 'q', longs: ['reply-dst'], arg: 'required',
    legal: row('o  T  o  o  T  .  o  .  .  .  o  o  o  .  .  .  .  .  .  T   .'),
    help: { argName: ' ip', tabs: '\t\t', text: 'Destination address from reply direction' } },
  { flag: 'protonum', code: 'p', letter: 'p', longs: ['protonum'], arg: 'required',
    legal: row('o  M  o  o  M  .  o  .  o  .  M  M  M  .  .  .  .  .  .  M   .'),
    help: { argName: ' proto', tabs: '\t\t', text: "Layer 4 Protocol, eg. 'tcp'" } },
  { flag: 'timeout', code: 't', letter: 't', longs: ['timeout'], arg: 'required',
    legal: row('.  M  o  o  .  .  .  .  .  .  M  .  .  .  .  .  .  .  .  M   .'),
    help: { argName: ' timeout', tabs: '\t\t', text: 'Set timeout' } },
  { flag: 'status', code: 'u', letter: 'u', longs: ['status'], arg: 'required',
    legal: row('o  o  o  o  .  .  .  .  .  .  o  .  .  .  .  .  .  .  .  o   .'),
    help: { argName: ' status', tabs: '\t\t', text: 'Set status, eg. ASSURED' } },
  { flag: 'zero', code: 'z', letter: 'z', longs: ['zero'], arg: 'none',
    legal: row('o  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .   .'),
    help: { argName: ' ', tabs: '\t\t\t\t', text: 'Zero counters while listing' } },
  { flag: 'event-mask', code: 'e', letter: 'e', longs: ['event-mask'], arg: 'required',
    legal: row('.  .  .  .  .  .  o  .  .  .  .  .  .  .  .  .  .  .  .  .   .'),
    help: { argName: ' eventmask', tabs: '\t\t', text: 'Event mask, eg. NEW,DESTROY' } },
  { flag: 'tuple-src', code: '[', longs: ['tuple-src'], arg: 'required',
    legal: row('.  .  .  .  .  .  .  .  .  .  M  .  .  .  .  .  .  .  .  .   .'),
    help: { argName: ' ip', tabs: '\t', text: 'Source address in expect tuple' } },
  { flag: 'tuple-dst', code: ']', longs: ['tuple-dst'], arg: 'required',
    legal: row('.  .  .  .  .  .  .  .  .  .  M  .  .  .  .  .  .  .  .  .   .'),
    help: { argName: ' ip', tabs: '\t', text: 'Destination address in expect tuple' } },
  { flag: 'mask-src', code: '{', longs: ['mask-src'], arg: 'required',
    legal: row('o  .  o  o  .  .  o  .  .  .  M  .  .  .  .  .  .  .  .  .   .'),
    help: { argName: ' ip', tabs: '\t\t\t', text: 'Source mask address' } },
  { flag: 'mask-dst', code: '}', longs: ['mask-dst'], arg: 'required',
    legal: row('o  .  o  o  .  .  o  .  .  .  M  .  .  .  .  .  .  .  .  .   .'),
    help: { argName: ' ip', tabs: '\t\t\t', text: 'Destination mask address' } },
  // Deprecated: only prints a warning and never marks itself as seen.
  { flag: 'nat-range', code: 'a', letter: 'a', longs: ['nat-range'], arg: 'required',
    legal: row('.  o  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  o   .'),
    doc: 'Deprecated: prints a warning and does nothing' },
  { flag: 'mark', code: 'm', letter: 'm', longs: ['mark'], arg: 'required',
    legal: row('o  o  o  o  .  .  o  .  .  .  .  .  .  .  .  .  .  .  .  o   .'),
    help: { argName: ' mark', tabs: '\t\t\t', text: 'Set mark' } },
  // 1.4.7 declares --id with an optional argument and crashes when none is
  // attached (defect 12); like 1.4.9 we require one, so `--id` alone is a
  // missing-argument error and `--id 5` works.
  { flag: 'id', code: 'i', letter: 'i', longs: ['id'], arg: 'required',
    legal: row('.  .  o  o  o  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .   .'),
    doc: 'Conntrack id' },
  { flag: 'family', code: 'f', letter: 'f', longs: ['family'], arg: 'required',
    legal: row('o  .  o  o  .  o  o  .  .  o  .  .  .  .  .  .  .  .  .  .   .'),
    help: { argName: ' proto', tabs: '\t\t', text: "Layer 3 Protocol, eg. 'ipv6'" } },
  { flag: 'src-nat', code: 'n', letter: 'n', longs: ['src-nat'], arg: 'optional', optionalWord: true,
    legal: row('o  o  o  o  .  .  o  .  .  .  .  .  .  .  .  .  .  .  .  o   .'),
    help: { argName: ' ip', tabs: '\t\t\t', text: 'source NAT ip' } },
  { flag: 'dst-nat', code: 'g', letter: 'g', longs: ['dst-nat'], arg: 'optional', optionalWord: true,
    legal: row('o  o  o  o  .  .  o  .  .  .  .  .  .  .  .  .  .  .  .  o   .'),
    help: { argName: ' ip', tabs: '\t\t\t', text: 'destination NAT ip' } },
  { flag: 'output', code: 'o', letter: 'o', longs: ['output'], arg: 'required',
    legal: row('o  .  o  o  o  .  o  .  .  o  .  .  .  .  o  .  .  .  .  .   .'),
    help: { argName: ' type[,...]', tabs: '\t\t', text: 'Output format, eg. xml' } },
  { flag: 'secmark', code: 'c', letter: 'c', longs: ['secmark'], arg: 'required',
    legal: row('o  .  .  .  .  .  o  .  .  .  .  .  .  .  .  .  .  .  .  .   .'),
    help: { argName: ' secmark', tabs: '\t\t\t', text: 'Set selinux secmark' } },
  { flag: 'buffer-size', code: 'b', letter: 'b', longs: ['buffer-size'], arg: 'required',
    legal: row('.  .  .  .  .  .  o  .  .  .  .  .  .  .  .  .  .  .  .  .   .'),
    help: { argName: '', tabs: '\t\t', text: 'Netlink socket buffer size' } },
  { flag: 'any-nat', code: 'j', letter: 'j', longs: ['any-nat'], arg: 'optional', optionalWord: true,
    legal: row('o  .  .  .  .  .  o  .  .  .  .  .  .  .  .  .  .  .  .  .   .'),
    help: { argName: ' ip', tabs: '\t\t\t', text: 'source or destination NAT ip' } },
  { flag: 'zone', code: 'w', letter: 'w', longs: ['zone'], arg: 'required',
    legal: row('o  o  .  o  .  .  o  .  .  .  .  .  .  .  .  .  .  .  .  o   .'),
    help: { argName: ' value', tabs: '\t\t', text: 'Set conntrack zone' } },
  { flag: 'label', code: 'l', letter: 'l', longs: ['label'], arg: 'required',
    legal: row('o  .  o  o  o  .  o  .  .  .  .  .  .  .  .  .  .  .  .  .   .'),
    help: { argName: ' label[,...]', tabs: '\t\t', text: 'conntrack labels' } },
  { flag: 'label-add', code: '<', longs: ['label-add'], arg: 'required',
    legal: row('.  o  o  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  o   .'),
    help: { argName: ' label', tabs: '\t', text: 'Add label' } },
  { flag: 'label-del', code: '>', longs: ['label-del'], arg: 'optional', optionalWord: true,
    legal: row('.  .  o  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .   .'),
    help: { argName: ' label', tabs: '\t', text: 'Delete label' } },
  { flag: 'orig-zone', code: '(', longs: ['orig-zone'], arg: 'required',
    legal: row('o  o  .  o  .  .  o  .  .  .  .  .  .  .  .  .  .  .  .  o   .'),
    help: { argName: ' value', tabs: '\t\t', text: 'Set zone for original direction' } },
  { flag: 'reply-zone', code: ')', longs: ['reply-zone'], arg: 'required',
    legal: row('o  o  .  o  .  .  o  .  .  .  .  .  .  .  .  .  .  .  .  o   o'),
    help: { argName: ' value', tabs: '\t\t', text: 'Set zone for reply direction' } },
];

/** The option definition of a flag. */
export function optionByFlag(flag: OptionFlag): OptionDef {
  return OPTIONS.find((o) => o.flag === flag)!;
}

/**
 * The pairs of the `T` rule, each with the message for when it
 * is the first one partially given (or, for the first pair, when none is).
 */
export const ADDRESS_PAIRS: readonly { readonly flags: readonly [OptionFlag, OptionFlag]; readonly message: string }[] = [
  { flags: ['src', 'dst'], message: "you have to specify `--src' and `--dst'" },
  { flags: ['reply-src', 'reply-dst'], message: "you have to specify `--reply-src' and `--reply-dst'" },
];

/** getopt's short option string, 1.4.7's `:L::I::...` (leading `:` = report missing arguments). */
export const OPTSTRING =
  ':' +
  [...COMMANDS.map((c) => ({ code: c.letter, arg: c.arg })), ...OPTIONS]
    .map(({ code, arg }) => code + (arg === 'required' ? ':' : arg === 'optional' ? '::' : ''))
    .join('');

/** The long options of commands and generic options, before any `-p` adds protocol options. */
export const GENERIC_LONG_OPTIONS: readonly LongOption[] = [
  ...COMMANDS.flatMap((c) => c.longs.map((name) => ({ name, arg: c.arg, val: c.letter }))),
  ...OPTIONS.flatMap((o) => o.longs.map((name) => ({ name, arg: o.arg, val: o.code }))),
];

/** The command of a letter; its first long name is what `Can't do --X on expectations` prints. */
export function commandByLetter(letter: string): CommandDef | undefined {
  return COMMAND_BY_LETTER.get(letter);
}

/** Lookups by key, not scans: every line of a `-R` file asks for each of its options. */
const COMMAND_BY_LETTER = firstByKey(COMMANDS, (c) => c.letter);
const OPTION_BY_CODE = firstByKey(OPTIONS, (o) => o.code);

/** The first item of each key, as find() would return it. */
function firstByKey<T>(items: readonly T[], key: (item: T) => string): ReadonlyMap<string, T> {
  const map = new Map<string, T>();
  for (const item of items) if (!map.has(key(item))) map.set(key(item), item);
  return map;
}

/** The generic option whose getopt value is `code`. */
export function optionByCode(code: string): OptionDef | undefined {
  return OPTION_BY_CODE.get(code);
}
