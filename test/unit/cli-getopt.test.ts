/**
 * GNU getopt_long emulation: the scan state and argument
 * permutation that conntrack 1.4.7's messages and optional-argument rule
 * depend on.
 */
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { Getopt, type GetoptEvent, type LongOption } from '../../src/cli/getopt';

const OPTSTRING = ':L::hVs:z[:n::';
const LONGOPTS: readonly LongOption[] = [
  { name: 'dump', arg: 'optional', val: 'L' },
  { name: 'help', arg: 'none', val: 'h' },
  { name: 'src', arg: 'required', val: 's' },
  { name: 'orig-src', arg: 'required', val: 's' },
  { name: 'src-nat', arg: 'optional', val: 'n' },
  { name: 'stats', arg: 'none', val: 'S' },
  { name: 'status', arg: 'required', val: 'u' },
  { name: 'tuple-src', arg: 'required', val: '[' },
];

/** Every event of a scan, with the word getopt would let 1.4.7 quote for errors. */
function scan(words: readonly string[], options: { posixlyCorrect?: boolean; longopts?: readonly LongOption[] } = {}) {
  const g = new Getopt(['prog', ...words], OPTSTRING, options);
  const events: (GetoptEvent & { word?: string })[] = [];
  for (let e = g.next(options.longopts ?? LONGOPTS); e; e = g.next(options.longopts ?? LONGOPTS)) {
    events.push(e.type === 'option' ? e : { ...e, word: g.lastWord });
  }
  return { events, argv: g.argv.slice(1), optind: g.optind };
}

const opt = (val: string, optarg?: string): GetoptEvent => ({ type: 'option', val, optarg });

describe('short options', () => {
  test('clusters and attached arguments', () => {
    assert.deepEqual(scan(['-zh', '-s1.2.3.4', '-s', '5.6.7.8']).events, [
      opt('z'), opt('h'), opt('s', '1.2.3.4'), opt('s', '5.6.7.8'),
    ]);
  });

  test('a required argument may start with a dash', () => {
    assert.deepEqual(scan(['-s', '-z']).events, [opt('s', '-z')]);
  });

  test('an optional argument is only ever attached, and swallows the rest of the cluster', () => {
    assert.deepEqual(scan(['-Lexpect', '-L', 'expect', '-Lz']).events, [opt('L', 'expect'), opt('L'), opt('L', 'z')]);
  });

  test('internal codes such as [ work as short options', () => {
    assert.deepEqual(scan(['-[', '1.1.1.1']).events, [opt('[', '1.1.1.1')]);
  });

  test('a missing argument names the whole cluster', () => {
    assert.deepEqual(scan(['-zs']).events, [opt('z'), { type: 'missing-argument', word: '-zs' }]);
  });

  test('an unknown letter at the end of a cluster names the cluster', () => {
    assert.deepEqual(scan(['-L', '-zx']).events, [opt('L'), opt('z'), { type: 'unknown', word: '-zx' }]);
  });

  test('an unknown letter inside a cluster names the previous word (optind has not moved yet)', () => {
    // The scan goes on with the rest of the cluster; 1.4.7 stops at the first error.
    assert.deepEqual(scan(['-L', '-xz']).events, [opt('L'), { type: 'unknown', word: '-L' }, opt('z')]);
    assert.deepEqual(scan(['-xz']).events, [{ type: 'unknown', word: 'prog' }, opt('z')]);
  });

  test('`:` is never an option', () => {
    assert.deepEqual(scan(['-:']).events, [{ type: 'unknown', word: '-:' }]);
  });
});

describe('long options', () => {
  test('=value, next word, optional argument only with =', () => {
    assert.deepEqual(scan(['--src=1', '--src', '2', '--src-nat', 'x', '--src-nat=y']).events, [
      opt('s', '1'), opt('s', '2'), opt('n'), opt('n', 'y'),
    ]);
  });

  test('an empty value after = is a value', () => {
    assert.deepEqual(scan(['--src=']).events, [opt('s', '')]);
  });

  test('exact match beats longer names', () => {
    assert.deepEqual(scan(['--src', 'a']).events, [opt('s', 'a')]);
  });

  test('unique prefixes, and prefixes of aliases of one option, are accepted', () => {
    assert.deepEqual(scan(['--dum', '--tu', 'x', '--sr', 'y']).events.slice(0, 2), [opt('L'), opt('[', 'x')]);
    // --sr matches src, src-nat: different options, so ambiguous.
    assert.equal(scan(['--sr', 'y']).events[0]!.type, 'unknown');
    // --o matches only orig-src.
    assert.deepEqual(scan(['--o', 'z']).events, [opt('s', 'z')]);
  });

  test('ambiguous prefixes are unknown options, named as typed', () => {
    assert.deepEqual(scan(['--stat']).events, [{ type: 'unknown', word: '--stat' }]);
    assert.deepEqual(scan(['--=x']).events, [{ type: 'unknown', word: '--=x' }]);
  });

  test('a value for an option without argument is an unknown option', () => {
    assert.deepEqual(scan(['--help=1']).events, [{ type: 'unknown', word: '--help=1' }]);
  });

  test('a missing required argument names the option as typed', () => {
    assert.deepEqual(scan(['--tuple']).events, [{ type: 'missing-argument', word: '--tuple' }]);
  });

  test('the table is read at every call: options added while scanning count at once', () => {
    const g = new Getopt(['prog', '--sport', '1', '--sport', '2'], OPTSTRING);
    const table: LongOption[] = [...LONGOPTS];
    assert.deepEqual(g.next(table), { type: 'unknown' });
    table.push({ name: 'sport', arg: 'required', val: 'P1:1' });
    assert.deepEqual(g.next(table), opt('P1:1', '2'));
  });
});

describe('permutation and non-options', () => {
  test('non-options move behind the options; optind ends on them', () => {
    const r = scan(['a', '-z', 'b', 'c', '-h', 'd']);
    assert.deepEqual(r.events, [opt('z'), opt('h')]);
    assert.deepEqual(r.argv, ['-z', '-h', 'a', 'b', 'c', 'd']);
    assert.equal(r.optind, 3);
  });

  test('`-` is a non-option, `--` ends the options', () => {
    const r = scan(['-', '-z', '--', '-h']);
    assert.deepEqual(r.events, [opt('z')]);
    assert.deepEqual(r.argv, ['-z', '--', '-', '-h']);
  });

  test('errors quote argv after permutation', () => {
    assert.deepEqual(scan(['foo', '-xz']).events[0], { type: 'unknown', word: 'foo' });
    assert.deepEqual(scan(['x', '-s']).events, [{ type: 'missing-argument', word: '-s' }]);
  });

  test('POSIXLY_CORRECT: the first non-option ends the scan', () => {
    const r = scan(['-z', 'junk', '-h'], { posixlyCorrect: true });
    assert.deepEqual(r.events, [opt('z')]);
    assert.equal(r.optind, 2);
  });
});

describe('optional-argument words', () => {
  function takeAfter(words: readonly string[]): { value: string | undefined; next: GetoptEvent | undefined } {
    const g = new Getopt(['prog', ...words], OPTSTRING);
    const first = g.next(LONGOPTS) as Extract<GetoptEvent, { type: 'option' }>;
    const value = g.takeOptionalWord(first.optarg);
    return { value, next: g.next(LONGOPTS) };
  }

  test('the next word is taken unless it starts with - or !', () => {
    assert.deepEqual(takeAfter(['-L', 'expect', '-z']), { value: 'expect', next: opt('z') });
    assert.deepEqual(takeAfter(['-L', '-z']), { value: undefined, next: opt('z') });
    assert.deepEqual(takeAfter(['-n', '!x']), { value: undefined, next: undefined });
    assert.deepEqual(takeAfter(['-L', '']), { value: '', next: undefined });
  });

  test('an attached argument is discarded and no word is taken', () => {
    assert.deepEqual(takeAfter(['-Lexpect', 'conntrack']), { value: undefined, next: undefined });
    assert.deepEqual(takeAfter(['--dump=expect', 'x']), { value: undefined, next: undefined });
  });

  test('a taken word is permuted like an option argument', () => {
    const g = new Getopt(['prog', 'junk', '-L', 'expect', '-z'], OPTSTRING);
    const first = g.next(LONGOPTS) as Extract<GetoptEvent, { type: 'option' }>;
    assert.equal(g.takeOptionalWord(first.optarg), 'expect');
    assert.deepEqual(g.next(LONGOPTS), opt('z'));
    assert.equal(g.next(LONGOPTS), undefined);
    assert.deepEqual(g.argv, ['prog', '-L', 'expect', '-z', 'junk']);
  });
});
