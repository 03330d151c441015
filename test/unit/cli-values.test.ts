/**
 * Value parsers of the command line: C number conversions, inet_aton, NAT
 * arguments, the connlabel map, the -R tokenizer, problem rendering.
 */
import { strict as assert } from 'node:assert';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseAddressOption, splitNatArgument } from '../../src/cli/address-args';
import { inetAton } from '../../src/libc/inet-aton';
import { LabelMap, labelBitmap } from '../../src/cli/labelmap';
import { fgetsPieces, LoadFile, tokenizeLine } from '../../src/cli/load-file';
import { BANNER, OtherProblem, ParameterProblem, renderProblem, VERSION } from '../../src/cli/problems';
import { resolveProtocol } from '../../src/cli/protocols';
import { atoi, atol, strtol, strtoul } from '../../src/libc/numbers';

describe('C number conversions', () => {
  test('strtoul: bases, partial conversion, sign, saturation', () => {
    assert.deepEqual(strtoul('0x1fz'), { value: 31n, end: 4 });
    assert.deepEqual(strtoul('017'), { value: 15n, end: 3 });
    assert.deepEqual(strtoul('08'), { value: 0n, end: 1 });
    assert.deepEqual(strtoul('0x'), { value: 0n, end: 1 });
    assert.deepEqual(strtoul('  +5'), { value: 5n, end: 4 });
    assert.deepEqual(strtoul('-1'), { value: (1n << 64n) - 1n, end: 2 });
    assert.deepEqual(strtoul('99999999999999999999999'), { value: (1n << 64n) - 1n, end: 23 });
    assert.deepEqual(strtoul('foo'), { value: 0n, end: 0 });
    assert.deepEqual(strtoul(' '), { value: 0n, end: 0 });
  });

  test('strtol, atoi (int truncation), atol', () => {
    assert.deepEqual(strtol('-9223372036854775809'), { value: -(1n << 63n), end: 20 });
    assert.equal(atoi('4294967297'), 1);
    assert.equal(atoi('99999999999999999999'), -1);
    assert.equal(atoi('12abc'), 12);
    assert.equal(atoi('abc'), 0);
    assert.equal(atoi('0x10'), 0);
    assert.equal(atol('-5'), -5n);
  });
});

describe('inet_aton', () => {
  const cases: readonly [string, string | undefined][] = [
    ['10.1', '10.0.0.1'],
    ['1.2.3', '1.2.0.3'],
    ['0x0a000001', '10.0.0.1'],
    ['010.0.0.1', '8.0.0.1'],
    ['1.2.65535', '1.2.255.255'],
    ['1.2.3.4 anything', '1.2.3.4'],
    ['4294967295', '255.255.255.255'],
    ['08.0.0.1', undefined],
    ['4294967296', undefined],
    ['1.2.3.256', undefined],
    ['1.2.65536', undefined],
    ['0x', undefined],
    ['1..2', undefined],
    ['1.2.3.4.', undefined],
    ['.1', undefined],
    ['+1', undefined],
    ['1.2.3.4x', undefined],
  ];
  for (const [text, expected] of cases) {
    test(`${JSON.stringify(text)} -> ${expected}`, () => {
      const bytes = inetAton(text);
      assert.equal(bytes && [...bytes].join('.'), expected);
    });
  }
});

describe('address options', () => {
  const rules = { longName: 'src', cidr: true };
  test('prefix lengths: /N, empty, signed, whitespace, wrap to int', () => {
    assert.deepEqual(parseAddressOption('1.2.3.4/', 0, rules).value, { family: 2, address: '1.2.3.4', netmask: '0.0.0.0' });
    assert.deepEqual(parseAddressOption('1.2.3.4/+8', 0, rules).value.netmask, '255.0.0.0');
    assert.deepEqual(parseAddressOption('1.2.3.4/ 8', 0, rules).value.netmask, '255.0.0.0');
    assert.deepEqual(parseAddressOption('1.2.3.4/4294967297', 0, rules).value.netmask, '128.0.0.0');
    assert.deepEqual(parseAddressOption('1.2.3.4/32', 0, rules).value, { family: 2, address: '1.2.3.4' });
    assert.deepEqual(parseAddressOption('2001:DB8::1/128', 0, rules).value, { family: 10, address: '2001:db8::1' });
  });

  test('dotted quads: canonical ones as given, leading zeros are octal', () => {
    const address = (text: string): string => parseAddressOption(text, 0, rules).value.address;
    for (const text of ['0.0.0.0', '255.255.255.255', '10.200.1.99', '1.2.3.4']) assert.equal(address(text), text);
    assert.equal(address('010.0.0.01'), '8.0.0.1');
    assert.equal(address('1.2.3.0377'), '1.2.3.255');
    assert.throws(() => address('1.2.3.256'), /Invalid IP address `1.2.3.256'/);
    assert.throws(() => parseAddressOption('1.2.3.4', 10, rules), /mismatched address family/);
  });

  test('only 45 bytes are read', () => {
    assert.equal(parseAddressOption(`1.2.3.4${' '.repeat(38)}x/99`, 0, rules).value.netmask, undefined);
  });

  test('NAT arguments', () => {
    assert.deepEqual(splitNatArgument('1.2.3.4:80'), { address: '1.2.3.4', port: 80 });
    assert.deepEqual(splitNatArgument('::1:80'), { address: '::1:80' });
    assert.deepEqual(splitNatArgument('x[::1]y:80'), { address: '::1', port: 80 });
    assert.deepEqual(splitNatArgument('[::1]'), { address: '[::1]' });
    assert.deepEqual(splitNatArgument('1.2.3.4:0065535'), { address: '1.2.3.4', port: 65535 });
    assert.throws(() => splitNatArgument('1.2.3.4:65536'), /Invalid port `65536'/);
  });
});

describe('-p resolution', () => {
  const protocols = [{ name: 'ip', number: 0, aliases: ['IP'] }, { name: 'ipv6-icmp', number: 58, aliases: ['IPv6-ICMP'] }];
  test('built-in names in any case, /etc/protocols names, numbers', () => {
    assert.equal(resolveProtocol('UdpLite', protocols)?.module.name, 'udplite');
    assert.deepEqual(resolveProtocol('IPv6-ICMP', protocols) && [resolveProtocol('IPv6-ICMP', protocols)!.module.name, 58], ['unknown', 58]);
    assert.equal(resolveProtocol(' 6', protocols)?.module.name, 'tcp');
    assert.equal(resolveProtocol('0x84', protocols)?.module.name, 'sctp');
    assert.equal(resolveProtocol('255', protocols)?.number, 255);
    assert.equal(resolveProtocol('256', protocols), undefined);
    assert.equal(resolveProtocol('unknown', protocols), undefined);
  });
});

describe('connlabel.conf', () => {
  test('bits, names, skipped lines', () => {
    const map = LabelMap.parse('# c\n0 zero\n1  one two \r\n0x2 hex\n1 dup-bit\n3 zero\n1024 big\n-1 neg\n4 bad;name\n5\n6six\n')!;
    assert.deepEqual(['zero', 'one two', 'hex', 'dup-bit', 'big', 'six'].map((n) => map.bitOf(n)), [0, 1, 2, undefined, undefined, 6]);
    assert.deepEqual([map.nameOf(6), map.nameOf(3), map.nameOf(7)], ['six', '', undefined]);
  });

  test('no valid line: no map', () => {
    assert.equal(LabelMap.parse('# nothing\n'), undefined);
  });

  test('the bitmap has as many 32-bit words as the highest bit needs', () => {
    assert.equal(labelBitmap([0]).length, 4);
    assert.equal(labelBitmap([32]).length, 8);
    const bitmap = labelBitmap([1, 33]);
    assert.equal(bitmap.readUInt32LE(0) | bitmap.readUInt32BE(0), 2 | 0x02000000);
  });
});

describe('-R tokenizer', () => {
  const tok = (line: string): string[] | undefined => tokenizeLine(Buffer.from(line), 'ct');

  test('words, blanks, comments', () => {
    assert.deepEqual(tok('  -D\t-s  1.1.1.1\n'), ['ct', '-D', '-s', '1.1.1.1']);
    assert.equal(tok('\n'), undefined);
    assert.equal(tok('  # comment\n'), undefined);
    assert.deepEqual(tok('   '), ['ct']);
  });

  test('quotes: grouping, escapes, empty words, a closing quote ends the word', () => {
    assert.deepEqual(tok('-l "a b" ""\n'), ['ct', '-l', 'a b', '']);
    assert.deepEqual(tok('"x\\"y\\\\z"'), ['ct', 'x"y\\z']);
    assert.deepEqual(tok('a"b"c'), ['ct', 'ab', 'c']);
    assert.deepEqual(tok('a\\b'), ['ct', 'a\\b']);
    assert.deepEqual(tok('"open ended\n'), ['ct', 'open ended\n']);
  });

  test('limits: 253 words of 1023 bytes', () => {
    assert.equal(tok(`${'x '.repeat(253)}\n`)!.length, 254);
    assert.throws(() => tok(`${'x '.repeat(254)}\n`), /too many arguments/);
    assert.equal(tok('x'.repeat(1023))![1]!.length, 1023);
    assert.throws(() => tok('x'.repeat(1024)), /Parameter too long!/);
  });

  /** fgetsPieces over `content`, handed out by read(2) calls of at most `chunk` bytes. */
  const pieces = (content: Buffer, chunk = 1 << 20): string[] => {
    let at = 0;
    const read = (buf: Buffer, offset: number, length: number): number => {
      const n = content.copy(buf, offset, at, Math.min(content.length, at + Math.min(length, chunk)));
      at += n;
      return n;
    };
    const out: string[] = [];
    for (const piece of fgetsPieces(read)) out.push(piece.toString('latin1'));
    return out;
  };
  /** What fgets() with a 10240-byte buffer returns, one call after the other. */
  const fgetsModel = (content: string): string[] => {
    const out: string[] = [];
    for (let at = 0; at < content.length; ) {
      const nl = content.indexOf('\n', at);
      const end = Math.min(nl < 0 ? content.length : nl + 1, at + 10239);
      out.push(content.slice(at, end));
      at = end;
    }
    return out;
  };

  test('lines are fgets() pieces of at most 10239 bytes, cut at NUL', () => {
    const piece = `-F ${`${'y'.repeat(99)} `.repeat(102)}${' '.repeat(36)}`;
    assert.equal(piece.length, 10239);
    const long = `${piece}z -L\n`;
    const commands = (text: string): string[][] =>
      pieces(Buffer.from(text)).flatMap((p) => {
        const words = tok(p);
        return words ? [words] : [];
      });
    assert.deepEqual(commands(long).map((a) => a.slice(1, 2)), [['-F'], ['z']]);
    assert.deepEqual(commands('-L\0-F\n-D'), [['ct', '-L'], ['ct', '-D']]);
  });

  test('pieces do not depend on how read(2) splits the file', () => {
    const content = `a\n\n${'x'.repeat(10239)}${'y'.repeat(10240)}\nb\n${'z'.repeat(20000)}\nlast`;
    const expected = fgetsModel(content);
    assert.deepEqual(pieces(Buffer.from(content)), expected);
    for (const chunk of [1, 2, 3, 7, 10238, 10239, 10240, 65535, 65536]) {
      assert.deepEqual(pieces(Buffer.from(content), chunk), expected, `read(2) of ${chunk} bytes`);
    }
    assert.deepEqual(pieces(Buffer.alloc(0)), []);
  });
});

describe('-R files are read once, never held whole', () => {
  let dir = '';
  before(() => (dir = mkdtempSync(path.join(tmpdir(), 'ctts-load-file-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const read = (file: LoadFile): unknown[] => {
    try {
      return [...file.commands('ct')];
    } finally {
      file.close();
    }
  };
  const content = '-F\n# note\n-D -s 1.1.1.1\n'.repeat(5000);
  const lines = [...Array<unknown>(5000)].flatMap(() => [['ct', '-F'], ['ct', '-D', '-s', '1.1.1.1']]);

  test('a regular file, and standard input redirected from one, are read from their start', () => {
    const name = path.join(dir, 'regular');
    writeFileSync(name, content);
    assert.deepEqual(read(LoadFile.open(name)), lines);
    const child = `const { LoadFile } = require(${JSON.stringify(require.resolve('../../src/cli/load-file'))});
      require('node:fs').readSync(0, Buffer.alloc(10));
      process.stdout.write(JSON.stringify([...LoadFile.open('-').commands('ct')]));`;
    const fd = openSync(name, 'r');
    try {
      assert.deepEqual(JSON.parse(execFileSync(process.execPath, ['-e', child], { stdio: [fd, 'pipe', 'inherit'] }).toString()), lines);
    } finally {
      closeSync(fd);
    }
  });

  test('a pipe is read to its end', async () => {
    const fifo = path.join(dir, 'fifo');
    const source = path.join(dir, 'source');
    writeFileSync(source, content);
    execFileSync('mkfifo', [fifo]);
    // The writer must not need our event loop: reading the pipe blocks it.
    const writer = spawn('sh', ['-c', 'cat "$0" > "$1"', source, fifo], { stdio: 'ignore' });
    assert.deepEqual(read(LoadFile.open(fifo)), lines);
    await once(writer, 'exit');
  });

  test('a directory opens and has no lines; a missing file fails like fopen()', () => {
    assert.deepEqual(read(LoadFile.open(dir)), []);
    assert.throws(() => LoadFile.open(path.join(dir, 'absent')), (e: unknown) => {
      return e instanceof ParameterProblem && e.message === `Failed to open file ${path.join(dir, 'absent')} for reading`;
    });
  });
});

describe('problems', () => {
  test('the banner is ours, with our package version', () => {
    const pkg = JSON.parse(readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version: string };
    assert.equal(VERSION, pkg.version);
    assert.equal(BANNER, `conntrack v${pkg.version} (conntrack-ts)`);
  });

  test('parameter problems end with the Try line; other problems do not; warnings come first', () => {
    const p = new ParameterProblem("unknown option `-x'");
    p.warnings = ['WARNING: ignoring -a, deprecated option.'];
    assert.equal(
      renderProblem(p, 'B'),
      "WARNING: ignoring -a, deprecated option.\nB: unknown option `-x'\nTry `conntrack -h' or 'conntrack --help' for more information.\n",
    );
    assert.equal(p.exitCode, 2);
    const o = new OtherProblem('cannot use --label-add and --label-del at the same time');
    assert.equal(renderProblem(o), `${BANNER}: cannot use --label-add and --label-del at the same time\n`);
    assert.equal(o.exitCode, 1);
  });
});
