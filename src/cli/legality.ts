/**
 * The legality check of conntrack 1.4.7: which options a
 * command needs, allows or refuses, checked after the whole command line was
 * scanned, first violation wins.
 */
import type { CommandSelection, LegalityRow, OptionFlag } from './options';
import { ADDRESS_PAIRS, OPTIONS } from './options';
import { ParameterProblem } from './problems';
import type { ProtocolModule } from './protocols';

/** One matrix: its options in check order, whether each was given, and the pair rule. */
interface Matrix {
  readonly options: readonly { readonly flag: string; readonly legal: LegalityRow }[];
  readonly given: (index: number) => boolean;
  readonly pairs: readonly { readonly options: readonly [number, number]; readonly message: string }[];
}

/**
 * generic_opt_check(): in option order, a missing mandatory option or a
 * present illegal one is the error. Then, if the command's row has a pair
 * cell, one pair must be complete; otherwise the message of the first pair
 * given in part (or of the first pair when none is) is the error.
 */
function checkMatrix(kind: CommandSelection, matrix: Matrix): void {
  const { cells, pairRule } = cellsOf(matrix.options, kind);
  for (const { index, cell } of cells) {
    const given = matrix.given(index);
    if (!given && cell === 'M') {
      throw new ParameterProblem(`You need to supply the \`--${matrix.options[index]!.flag}' option for this command`);
    }
    if (given && cell === '.') {
      throw new ParameterProblem(`Illegal option \`--${matrix.options[index]!.flag}' with this command`);
    }
  }
  if (!pairRule || matrix.pairs.length === 0) return;
  const complete = matrix.pairs.some((p) => p.options.every(matrix.given));
  if (complete) return;
  const partial = matrix.pairs.find((p) => p.options.some(matrix.given)) ?? matrix.pairs[0]!;
  throw new ParameterProblem(partial.message);
}

/** The cells of a command's row that can fail (M and .), in option order, and whether it has a pair cell. */
interface RowCells {
  readonly cells: readonly { readonly index: number; readonly cell: 'M' | '.' }[];
  readonly pairRule: boolean;
}

/** Rows by matrix and command, made once: every line of a `-R` file is checked. */
const ROW_CELLS = new WeakMap<Matrix['options'], Map<CommandSelection, RowCells>>();

function cellsOf(options: Matrix['options'], kind: CommandSelection): RowCells {
  let rows = ROW_CELLS.get(options);
  if (!rows) ROW_CELLS.set(options, (rows = new Map()));
  let row = rows.get(kind);
  if (!row) {
    const cells: { index: number; cell: 'M' | '.' }[] = [];
    options.forEach((option, index) => {
      const cell = option.legal[kind];
      if (cell === 'M' || cell === '.') cells.push({ index, cell });
    });
    row = { cells, pairRule: options.some((option) => option.legal[kind] === 'T') };
    rows.set(kind, row);
  }
  return row;
}

/** The generic check (1.4.7's generic_opt_check). */
export function checkGenericOptions(kind: CommandSelection, given: ReadonlySet<OptionFlag>): void {
  if (given.has('any-nat') && (given.has('src-nat') || given.has('dst-nat'))) {
    throw new ParameterProblem("cannot specify `--src-nat' or `--dst-nat' with `--any-nat'");
  }
  // An array lookup per cell, not a set lookup: every line of a `-R` file is checked.
  GIVEN.fill(0);
  for (const flag of given) GIVEN[OPTION_INDEX.get(flag)!] = 1;
  checkMatrix(kind, { options: OPTIONS, given: (i) => GIVEN[i] === 1, pairs: ADDRESS_PAIR_INDICES });
}

const OPTION_INDEX = new Map(OPTIONS.map((o, i) => [o.flag, i]));
/** Which generic options the command being checked has, by index. */
const GIVEN = new Uint8Array(OPTIONS.length);

const optionIndex = (flag: OptionFlag): number => OPTIONS.findIndex((o) => o.flag === flag);
const ADDRESS_PAIR_INDICES = ADDRESS_PAIRS.map((p) => ({
  options: [optionIndex(p.flags[0]), optionIndex(p.flags[1])] as const,
  message: p.message,
}));

/**
 * The protocol module's check. `flags` is the bit set of the
 * module's options that were given (bit i = options[i]), as 1.4.7 keeps it.
 */
export function checkProtocolOptions(kind: CommandSelection, module: ProtocolModule, flags: number): void {
  checkMatrix(kind, {
    options: module.options,
    given: (i) => (flags & (1 << i)) !== 0,
    pairs: module.pairRule?.pairs ?? [],
  });
}
