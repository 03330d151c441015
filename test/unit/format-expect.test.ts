/**
 * The expectation formats. Expected lines are transcripts of the reference
 * conntrack 1.4.7 (runs on the test machine), or,
 * for what no kernel here produces (flags without a helper, zones, other
 * families), what libnetfilter_conntrack 1.0.9's printers make of it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ExpectFlag } from '../../src/ctnetlink/constants';
import type { Expectation } from '../../src/ctnetlink/expect';
import type { Tuple } from '../../src/ctnetlink/flow';
import { formatExpectationJson } from '../../src/format/json-expect';
import { formatExpectationText } from '../../src/format/text-expect';
import { expectTimestampPrefix } from '../../src/format/timestamp';
import { EXPECT_XML_FOOTER, EXPECT_XML_HEADER, formatExpectationXml } from '../../src/format/xml-expect';

// <when> is local time.
process.env.TZ = 'UTC';

const V4_FULL = '255.255.255.255';
const V6_FULL = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff';
const tcp = (src: string, dst: string, sport: number, dport: number): Tuple => ({ src, dst, proto: 6, sport, dport });

/** An ftp helper expectation from a control connection master:40000 -> master:21, as the kernel reports it. */
function ftp(host: string, full: string, dport: number, extra: Partial<Expectation> = {}): Expectation {
  return {
    family: host.includes(':') ? 10 : 2,
    master: tcp(host, host, 40000, 21),
    tuple: tcp(host, host, 0, dport),
    mask: tcp(full, full, 0, 65535),
    timeout: 300,
    flags: 0,
    class: 0,
    helper: 'ftp',
    ...extra,
  };
}

const FTP_V4 = ftp('127.0.0.1', V4_FULL, 10000);

/** What `-I expect -p tcp … --tuple-port-dst 2000` makes (D9): an expectation of protocol 7, bare. */
const D9: Expectation = {
  family: 2,
  master: tcp('127.0.0.1', '127.0.0.1', 40001, 21),
  tuple: { src: '127.0.0.1', dst: '127.0.0.1', proto: 7 },
  mask: { src: V4_FULL, dst: V4_FULL, proto: 7 },
};

describe('formatExpectationText', () => {
  test('IPv4 and IPv6 ftp expectations', () => {
    assert.equal(
      formatExpectationText({ ...FTP_V4, timeout: 297 }),
      '297 proto=6 src=127.0.0.1 dst=127.0.0.1 sport=0 dport=10000 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=127.0.0.1 master-dst=127.0.0.1 sport=40000 dport=21 class=0 helper=ftp',
    );
    assert.equal(
      formatExpectationText(ftp('::1', V6_FULL, 10000, { timeout: 299, mask: tcp('::ffff', V6_FULL, 0, 65535) })),
      '299 proto=6 src=::1 dst=::1 sport=0 dport=10000 mask-src=::ffff mask-dst=ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff sport=0 dport=65535 master-src=::1 master-dst=::1 sport=40000 dport=21 class=0 helper=ftp',
    );
  });

  test('the D9 expectation of protocol 7: only the master shows ports', () => {
    assert.equal(
      formatExpectationText({ ...D9, timeout: 297, class: 0, helper: 'ftp' }),
      '297 proto=7 src=127.0.0.1 dst=127.0.0.1 mask-src=255.255.255.255 mask-dst=255.255.255.255 master-src=127.0.0.1 master-dst=127.0.0.1 sport=40001 dport=21 class=0 helper=ftp',
    );
  });

  test('event prefixes (%9s)', () => {
    const line = formatExpectationText(FTP_V4).slice('300 '.length);
    assert.equal(formatExpectationText(FTP_V4, { event: 'new' }), `    [NEW] 300 ${line}`);
    assert.equal(formatExpectationText(FTP_V4, { event: 'update' }), ` [UPDATE] 300 ${line}`);
    assert.equal(formatExpectationText(FTP_V4, { event: 'destroy' }), `[DESTROY] 300 ${line}`);
  });

  test('flags, zone and an udp helper (an mdns transcript of the same library)', () => {
    const exp: Expectation = {
      family: 2,
      master: { src: '169.254.33.186', dst: '224.0.0.251', proto: 17, sport: 38407, dport: 5353 },
      tuple: { src: '0.0.0.0', dst: '169.254.33.186', proto: 17, sport: 5353, dport: 38407 },
      mask: { src: '0.0.0.0', dst: '0.0.0.0', proto: 17, sport: 65535, dport: 65535 },
      timeout: 30,
      flags: ExpectFlag.PERMANENT,
      class: 0,
      helper: 'mdns',
    };
    assert.equal(
      formatExpectationText(exp, { event: 'new' }),
      '    [NEW] 30 proto=17 src=0.0.0.0 dst=169.254.33.186 sport=5353 dport=38407 mask-src=0.0.0.0 mask-dst=0.0.0.0 sport=65535 dport=65535 master-src=169.254.33.186 master-dst=224.0.0.251 sport=38407 dport=5353 PERMANENT class=0 helper=mdns',
    );
    const tail = (e: Partial<Expectation>): string => formatExpectationText({ ...FTP_V4, ...e }).replace(/^.* dport=21 ?/, '');
    assert.equal(tail({ zone: 4, flags: ExpectFlag.INACTIVE | ExpectFlag.USERSPACE }), 'zone=4 INACTIVE,USERSPACE class=0 helper=ftp');
    assert.equal(tail({ flags: ExpectFlag.PERMANENT | ExpectFlag.INACTIVE | ExpectFlag.USERSPACE }), 'PERMANENT,INACTIVE,USERSPACE class=0 helper=ftp');
    assert.equal(tail({ flags: 0x8 }), ' class=0 helper=ftp', 'an unnamed bit still ends the (empty) flag list with a space');
    assert.equal(tail({ class: undefined, helper: undefined }), '', 'no trailing space');
  });

  test('absent attributes: no timeout, zero addresses, no addresses for other families', () => {
    const bare: Expectation = { family: 2, master: {}, tuple: { proto: 6 }, mask: {} };
    assert.equal(
      formatExpectationText(bare),
      'proto=6 src=0.0.0.0 dst=0.0.0.0 sport=0 dport=0 mask-src=0.0.0.0 mask-dst=0.0.0.0 master-src=0.0.0.0 master-dst=0.0.0.0',
    );
    assert.equal(formatExpectationText({ ...FTP_V4, family: 7 }), '300 proto=6 sport=0 dport=10000 sport=0 dport=65535 sport=40000 dport=21 class=0 helper=ftp');
    assert.equal(
      formatExpectationText({ ...FTP_V4, tuple: { src: '1.1.1.1', dst: '2.2.2.2', proto: 47, sport: 0x10, dport: 0xabcd } }).split(' mask')[0],
      '300 proto=47 src=1.1.1.1 dst=2.2.2.2 srckey=0x10 dstkey=0xabcd',
    );
  });
});

describe('formatExpectationXml', () => {
  test('-L expect -o xml document', () => {
    assert.equal(
      EXPECT_XML_HEADER + formatExpectationXml({ ...FTP_V4, timeout: 297 }) + '\n' + EXPECT_XML_FOOTER,
      '<?xml version="1.0" encoding="utf-8"?>\n<expect>\n' +
        '<flow><layer3 protonum="2" protoname="ipv4"><expected><src>127.0.0.1</src><dst>127.0.0.1</dst></expected><mask><src>255.255.255.255</src><dst>255.255.255.255</dst></mask><master><src>127.0.0.1</src><dst>127.0.0.1</dst></master></layer3><layer4 protonum="6" protoname="tcp"><expected><sport>0</sport><dport>10000</dport></expected><mask><sport>0</sport><dport>65535</dport></mask><master><sport>40000</sport><dport>21</dport></master></layer4><meta><helper-name>ftp</helper-name><timeout>297</timeout><class>0</class></meta></flow>\n' +
        '</expect>\n',
    );
  });

  test('-E expect -o xml,timestamp event: <when> after class and zone, flags last', () => {
    const when = new Date(Date.UTC(2026, 10, 23, 9, 32, 4));
    assert.equal(
      formatExpectationXml(ftp('::1', V6_FULL, 10001), { event: 'destroy', when }),
      '<flow type="destroy"><layer3 protonum="10" protoname="ipv6"><expected><src>::1</src><dst>::1</dst></expected><mask><src>ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff</src><dst>ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff</dst></mask><master><src>::1</src><dst>::1</dst></master></layer3><layer4 protonum="6" protoname="tcp"><expected><sport>0</sport><dport>10001</dport></expected><mask><sport>0</sport><dport>65535</dport></mask><master><sport>40000</sport><dport>21</dport></master></layer4><meta><helper-name>ftp</helper-name><timeout>300</timeout><class>0</class><when><hour>9</hour><min>32</min><sec>04</sec><wday>2</wday><day>23</day><month>11</month><year>2026</year></when></meta></flow>',
    );
    const meta = (e: Partial<Expectation>): string => /<meta>.*<\/meta>/.exec(formatExpectationXml({ ...FTP_V4, ...e }, { event: 'new', when }))![0];
    assert.equal(
      meta({ zone: 2, flags: ExpectFlag.PERMANENT | ExpectFlag.INACTIVE | ExpectFlag.USERSPACE }).replace(/<when>.*<\/when>/, '<when/>'),
      '<meta><helper-name>ftp</helper-name><timeout>300</timeout><class>0</class><zone>2</zone><when/><permanent/><inactive/><userspace/></meta>',
    );
  });

  test('protocol 7: layer4 names the expected protocol, only the master has ports; an empty meta stays', () => {
    assert.match(
      formatExpectationXml(D9),
      /<layer4 protonum="7" protoname="unknown"><expected><\/expected><mask><\/mask><master><sport>40001<\/sport><dport>21<\/dport><\/master><\/layer4><meta><\/meta><\/flow>$/,
    );
  });
});

describe('expectTimestampPrefix: %-8ld.%-6ld, left-justified and space padded', () => {
  test('padding', () => {
    assert.equal(expectTimestampPrefix(1795426324, 823147), '[1795426324.823147]\t');
    assert.equal(expectTimestampPrefix(1795426324, 54302), '[1795426324.54302 ]\t');
    assert.equal(expectTimestampPrefix(12, 5), '[12      .5     ]\t');
  });
});

describe('formatExpectationJson (our extension)', () => {
  test('one object, readable names, only what is present', () => {
    const exp: Expectation = {
      ...FTP_V4,
      id: 42,
      flags: ExpectFlag.PERMANENT,
      zone: 3,
      nat: { dir: 1, tuple: { src: '10.0.0.1', proto: 6, sport: 21 } },
      fn: 'nat-follow-master',
    };
    const when = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
    assert.deepEqual(JSON.parse(formatExpectationJson(exp, { event: 'new', time: when })), {
      event: 'new',
      time: '2026-01-02T03:04:05.000Z',
      family: 'ipv4',
      timeout: 300,
      tuple: { src: '127.0.0.1', dst: '127.0.0.1', protocol: 'tcp', protonum: 6, sport: 0, dport: 10000 },
      mask: { src: V4_FULL, dst: V4_FULL, protocol: 'tcp', protonum: 6, sport: 0, dport: 65535 },
      master: { src: '127.0.0.1', dst: '127.0.0.1', protocol: 'tcp', protonum: 6, sport: 40000, dport: 21 },
      id: 42,
      zone: 3,
      flags: ['PERMANENT'],
      class: 0,
      helper: 'ftp',
      function: 'nat-follow-master',
      nat: { direction: 'reply', tuple: { src: '10.0.0.1', protocol: 'tcp', protonum: 6, sport: 21 } },
    });
    assert.ok(!formatExpectationJson(exp).includes('\n'));
  });

  test('GRE keys and ICMP fields by their names', () => {
    const json = JSON.parse(
      formatExpectationJson({
        family: 2,
        master: { proto: 1, icmpType: 8, icmpCode: 0, icmpId: 7 },
        tuple: { proto: 47, sport: 1, dport: 2 },
        mask: {},
      }),
    );
    assert.deepEqual(json.tuple, { protocol: 'gre', protonum: 47, srckey: 1, dstkey: 2 });
    assert.deepEqual(json.master, { protocol: 'icmp', protonum: 1, type: 8, code: 0, id: 7 });
    assert.deepEqual(json.mask, {});
  });
});
