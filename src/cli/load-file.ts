/**
 * The file of `conntrack -R FILE` (spec §7.14): read like 1.4.7 reads it
 * (fgets() pieces of at most 10239 bytes) and cut into argument vectors by
 * its tokenizer (iptables' add_param_to_argv): words split at spaces, tabs
 * and newlines; `"..."` groups (quotes removed, `\x` inside quotes is x, a
 * closing quote ends the word); at most 253 words of at most 1023 bytes.
 *
 * Lines are produced one at a time, because 1.4.7 tokenizes and parses line
 * after line: a tokenizer error on a later line comes after a parse error on
 * an earlier one.
 */
import { readFileSync } from 'node:fs';
import { ParameterProblem } from './problems';

/** fgets() buffer of 10240 bytes. */
const LINE_MAX = 10239;
/** MAX_ARGC of 1.4.7, counting argv[0] and the terminating slot. */
const ARGC_MAX = 255;
/** Size of the word buffer; a word must leave room for its terminator. */
const WORD_MAX = 1024;

const SPACE = 0x20;
const TAB = 0x09;
const NEWLINE = 0x0a;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const HASH = 0x23;

/** The bytes of the file (`-` is standard input); fails like fopen() in 1.4.7. */
export function readLoadFile(name: string): Buffer {
  const file = name === '-' ? '/dev/stdin' : name;
  try {
    return readFileSync(file);
  } catch (e) {
    // fopen() of a directory succeeds in C and the first read fails: no lines.
    if ((e as NodeJS.ErrnoException).code === 'EISDIR') return Buffer.alloc(0);
    throw new ParameterProblem(`Failed to open file ${file} for reading`);
  }
}

/**
 * The argument vectors of the file's command lines, `progname` as argv[0]:
 * blank lines and `#` lines (after leading blanks) yield nothing.
 */
export function* loadFileCommands(content: Buffer, progname: string): Generator<string[]> {
  let at = 0;
  while (at < content.length) {
    const nl = content.indexOf(NEWLINE, at);
    const end = Math.min(nl < 0 ? content.length : nl + 1, at + LINE_MAX);
    const words = tokenizeLine(content.subarray(at, end), progname);
    at = end;
    if (words) yield words;
  }
}

/**
 * One line's argv, or undefined for a line 1.4.7 skips. The line is a C
 * string: it ends at a NUL byte.
 */
export function tokenizeLine(piece: Buffer, progname: string): string[] | undefined {
  const nul = piece.indexOf(0);
  const line = nul < 0 ? piece : piece.subarray(0, nul);
  let i = 0;
  while (i < line.length && (line[i] === SPACE || line[i] === TAB)) i++;
  if (line[i] === NEWLINE || line[i] === HASH) return undefined;

  const argv = [progname];
  const add = (word: Buffer): void => {
    if (argv.length + 1 >= ARGC_MAX) throw new ParameterProblem('too many arguments');
    argv.push(word.toString('utf8'));
  };
  const word = Buffer.alloc(WORD_MAX);
  let length = 0;
  const append = (byte: number): void => {
    word[length++] = byte;
    if (length >= WORD_MAX) throw new ParameterProblem('Parameter too long!');
  };

  let quoted = false;
  let escaped = false;
  for (; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (escaped) {
        append(c);
        escaped = false;
        continue;
      }
      if (c === BACKSLASH) {
        escaped = true;
        continue;
      }
      if (c !== QUOTE) {
        append(c);
        continue;
      }
      // The closing quote ends the word, even an empty one.
      quoted = false;
    } else if (c === QUOTE) {
      quoted = true;
      continue;
    } else if (c === SPACE || c === TAB || c === NEWLINE) {
      if (length === 0) continue;
    } else {
      append(c);
      continue;
    }
    add(word.subarray(0, length));
    length = 0;
  }
  if (length > 0) add(word.subarray(0, length));
  return argv;
}
