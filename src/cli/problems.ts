/**
 * The errors of the `conntrack` command line and the one place that turns
 * them into the bytes 1.4.7 writes on stderr.
 *
 * Parsing never prints: it throws a problem that carries the warnings that
 * 1.4.7 would already have printed before failing (`WARNING: ignoring
 * SRC_NAT ...`, `nfct_labelmap_new: ...`), so the caller writes
 * renderProblem() once and the relative order of warnings and error stays
 * that of the reference.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** The program name in messages; 1.4.7 uses a constant, never argv[0]. */
export const PROGNAME = 'conntrack';

/**
 * Our package version, read from the package.json of this package. Walking
 * up from this file works both from the sources (src/cli) and from the
 * compiled tree (dist/src/cli).
 */
function readOwnVersion(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'conntrack-ts' && pkg.version) return pkg.version;
    }
    if (path.dirname(dir) === dir) throw new Error('package.json of conntrack-ts not found');
  }
}

export const VERSION = readOwnVersion();

/** Our banner, in the shape of 1.4.7's `conntrack v1.4.7 (conntrack-tools)`. */
export const BANNER = `${PROGNAME} v${VERSION} (conntrack-ts)`;

/** The second line of every parameter problem (note 1.4.7's mixed quotes). */
const TRY_LINE = `Try \`${PROGNAME} -h' or '${PROGNAME} --help' for more information.\n`;

/** A failure of the command line: 1.4.7's exit_error(). */
export abstract class CliProblem extends Error {
  abstract readonly exitCode: 1 | 2;
  /**
   * stderr lines (without their newline) that 1.4.7 printed before this
   * error while parsing the same invocation, in order.
   */
  warnings: string[] = [];
}

/** PARAMETER_PROBLEM: exit 2, followed by the "Try" line. */
export class ParameterProblem extends CliProblem {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'ParameterProblem';
  }
}

/** OTHER_PROBLEM: exit 1, no "Try" line. */
export class OtherProblem extends CliProblem {
  readonly exitCode = 1;
  constructor(message: string) {
    super(message);
    this.name = 'OtherProblem';
  }
}

/** The exact stderr bytes of a problem: its warnings, `BANNER: message`, and the "Try" line for exit 2. */
export function renderProblem(problem: CliProblem, banner: string = BANNER): string {
  let text = '';
  for (const warning of problem.warnings) text += `${warning}\n`;
  text += `${banner}: ${problem.message}\n`;
  if (problem.exitCode === 2) text += TRY_LINE;
  return text;
}
