/**
 * The `-R` fast path against the full parser, on generated lines that
 * stay close to the shapes it takes (`-I` lines of scripts, `-A` lines of
 * `-o save`) and stray from them a little at a time: whenever the fast path
 * takes a line, the full parser accepts it without a warning and the create
 * request is the same bytes; whenever the full parser refuses or warns, the
 * fast path leaves the line to it.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import fc from 'fast-check';
import { flowToCreate } from '../../src/cli/commands/create';
import { tokenizeLine } from '../../src/cli/load-file';
import { fastCreate } from '../../src/cli/load-file-fast';
import { parseCommandLine } from '../../src/cli/parse';
import { CliProblem } from '../../src/cli/problems';
import { CreateEncoder } from '../../src/ctnetlink/requests';

const encoder = new CreateEncoder();
const request = (...args: Parameters<CreateEncoder['encode']>): Buffer => Buffer.from(encoder.encode(...args));

const octet = fc.oneof(
  { weight: 30, arbitrary: fc.integer({ min: 0, max: 255 }).map(String) },
  { weight: 1, arbitrary: fc.constantFrom('256', '01', '00', '', 'x', '-1') },
);
const address = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(octet, octet, octet, octet).map((o) => o.join('.')) },
  { weight: 1, arbitrary: fc.constantFrom('10.1', '1.2.3.4.5', '::1', 'localhost', '1.2.3.4/24', '0x7f.0.0.1') },
);
const number = fc.oneof(
  { weight: 16, arbitrary: fc.integer({ min: 0, max: 70000 }).map(String) },
  { weight: 1, arbitrary: fc.constantFrom('0', '00', '012', '65535', '65536', '4294967295', '4294967296', '99999999999', '-1', '+5', '1e3', '', '0x10') },
);
const word = fc.constantFrom('UNSET', 'UNSET', 'ASSURED', 'SEEN_REPLY', 'ASSURED,SEEN_REPLY', 'ASS', 'UNREPLIED', '!ASSURED', 'SRC_NAT', '');

/** An option and its value, as `-I`/`-A` lines write them, now and then misspelt or odd. */
const option = fc.oneof(
  fc.tuple(fc.constantFrom('-s', '-d', '-r', '-q', '--src', '--orig-src', '-s'), address),
  fc.tuple(fc.constantFrom('-p', '-p', '--proto'), fc.constantFrom('udp', 'udp', 'tcp', 'UDP', '17', 'icmp')),
  fc.tuple(fc.constantFrom('--sport', '--dport', '--reply-port-src', '--reply-port-dst', '--orig-port-src'), number),
  fc.tuple(fc.constantFrom('-t', '-t', '--timeout'), number),
  fc.tuple(fc.constantFrom('-u', '--status'), word),
  fc.tuple(fc.constantFrom('-m', '--zone', '-w', '-f', '-x'), fc.constantFrom('1', 'ipv4', '')),
);

/** The whole shapes, in file order, so that the fast path is taken often. */
const insertShape = fc
  .record({ s: address, d: address, sport: number, dport: number, t: number })
  .map((v) => ['-I', '-s', v.s, '-d', v.d, '-p', 'udp', '--sport', v.sport, '--dport', v.dport, '-t', v.t]);
const saveShape = fc
  .record({ u: word, s: address, d: address, r: address, q: address, sport: number, dport: number, rs: number, rd: number, t: number })
  .map((v) => [
    '-A', '-t', v.t, '-u', v.u, '-s', v.s, '-d', v.d, '-r', v.r, '-q', v.q, '-p', 'udp',
    '--sport', v.sport, '--dport', v.dport, '--reply-port-src', v.rs, '--reply-port-dst', v.rd,
  ]);
/** A shape with options dropped, swapped, duplicated or replaced. */
const mutated = fc
  .tuple(fc.oneof(insertShape, saveShape), fc.array(fc.tuple(fc.nat(), fc.nat(), option), { maxLength: 3 }), fc.nat(5))
  .map(([words, edits, drop]) => {
    const out = [...words];
    for (const [at, how, [name, value]] of edits) {
      const i = 1 + 2 * (at % Math.max(1, (out.length - 1) / 2));
      if (how % 3 === 0) out.splice(i, 0, name, value);
      else if (how % 3 === 1) out.splice(i, 2);
      else [out[i], out[i + 1]] = [name, value];
    }
    if (drop === 0) out.pop();
    return out;
  });
const words = fc.oneof(insertShape, saveShape, mutated, fc.tuple(fc.constantFrom('-I', '-A', '-D', '-U'), fc.array(option, { maxLength: 8 })).map(([c, o]) => [c, ...o.flat()]));
const odd = fc.oneof({ weight: 8, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.constantFrom(' ', '#', '"', '\0', '\r', 'é', '\n', '\\') });
/** The words as a line of a file: blanks between them, a newline or not, now and then a byte the tokenizer must see. */
const line = fc
  .tuple(words, fc.constantFrom(' ', ' ', ' ', '  ', '\t', ' \t '), fc.constantFrom('\n', '\n', '', ' \n', '\t\n'), odd, fc.nat())
  .map(([w, blank, end, odd, at]) => {
    const text = w.join(blank) + end;
    const i = at % (text.length + 1);
    return Buffer.from(text.slice(0, i) + odd + text.slice(i));
  });

test('the fast path gives the full parser\'s request, or leaves the line to it', () => {
  let taken = 0;
  let runs = 0;
  fc.assert(
    fc.property(line, (bytes) => {
      runs++;
      const fast = fastCreate(bytes);
      let full: ReturnType<typeof parseCommandLine> | undefined;
      try {
        const argv = tokenizeLine(bytes, 'conntrack');
        full = argv && parseCommandLine(argv);
      } catch (e) {
        if (!(e instanceof CliProblem)) throw e;
      }
      if (fast === undefined) return;
      taken++;
      const text = JSON.stringify(bytes.toString('latin1'));
      assert.ok(full, `the tokenizer or the full parser refuses ${text}`);
      assert.deepEqual(full.warnings, [], `the full parser warns on ${text}`);
      assert.equal(fast.command, full.command);
      assert.deepEqual(request(fast.flow, true), request(flowToCreate(full), true), text);
    }),
    { numRuns: 3000 },
  );
  // The generator must reach the fast path often, or this test proves nothing. It does
  // about 12% of the time (336-391 of 3000 over 15 runs); a bound of 10% failed a run.
  assert.ok(taken > runs / 20, `fast path taken ${taken} times of ${runs}`);
});

test('a line one word or byte off the shapes goes to the tokenizer and the full parser', () => {
  const base = '-I -s 10.0.0.1 -d 10.0.0.2 -p udp --sport 1 --dport 2 -t 600\n';
  assert.ok(fastCreate(Buffer.from(base)));
  // Out of range, octal, another protocol or spelling, a missing or repeated option, quotes, NUL, a comment.
  for (const [from, to] of [
    ['10.0.0.1', '10.0.0.256'], ['10.0.0.1', '010.0.0.1'], ['--sport 1', '--sport 65536'], ['600', '-1'],
    ['udp', 'tcp'], ['-s', '--src'], [' -t 600', ''], ['\n', ' -s 10.0.0.3\n'], ['udp', '"udp"'], ['600', '6\x000'],
    ['-I', '#-I'], ['\n', '\r\n'],
  ]) {
    const line = base.replace(from!, to!);
    assert.equal(fastCreate(Buffer.from(line, 'latin1')), undefined, JSON.stringify(line));
  }
});
