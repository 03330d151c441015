import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Proto, SctpState, TcpState } from '../../src/ctnetlink/constants';
import { Status } from '../../src/ctnetlink/status';
import { formatXml, XML_FOOTER, XML_HEADER } from '../../src/format/xml';
import {
  CONFIRMED,
  counters,
  labelBits,
  labelMap,
  loadCapture,
  makeFlow,
  ns,
  ORACLE_CASES,
  ORACLE_LABELS,
  oracleTranscript,
  ORACLE_TS_NOW,
  REPLIED_ASSURED,
  tuple,
} from './format-fixtures';

// <when> is local time; the transcripts were taken with TZ=UTC.
process.env.TZ = 'UTC';

const at = (seconds: number) => () => seconds;

describe('formatXml: transcripts', () => {
  test('-L -o xml document', () => {
    const flow = makeFlow({
      proto: Proto.TCP, orig: tuple('10.0.0.1', '10.0.0.2', { sport: 1111, dport: 80 }),
      countersOrig: counters(0, 0), countersReply: counters(0, 0),
      tcp: { state: TcpState.ESTABLISHED }, timeout: 598, mark: 1, use: 1, id: 73274099, status: REPLIED_ASSURED,
      timestamp: { start: ns(1795334000, 1) },
    });
    assert.equal(
      XML_HEADER + formatXml(flow, { nowSeconds: at(1795334001) }) + '\n' + XML_FOOTER,
      '<?xml version="1.0" encoding="utf-8"?>\n<conntrack>\n' +
        '<flow><meta direction="original"><layer3 protonum="2" protoname="ipv4"><src>10.0.0.1</src><dst>10.0.0.2</dst></layer3><layer4 protonum="6" protoname="tcp"><sport>1111</sport><dport>80</dport></layer4><counters><packets>0</packets><bytes>0</bytes></counters></meta><meta direction="reply"><layer3 protonum="2" protoname="ipv4"><src>10.0.0.2</src><dst>10.0.0.1</dst></layer3><layer4 protonum="6" protoname="tcp"><sport>80</sport><dport>1111</dport></layer4><counters><packets>0</packets><bytes>0</bytes></counters></meta><meta direction="independent"><state>ESTABLISHED</state><timeout>598</timeout><mark>1</mark><use>1</use><id>73274099</id><assured/><deltatime>1</deltatime></meta></flow>\n' +
        '</conntrack>\n',
    );
  });
  test('-E -o xml,timestamp event', () => {
    const flow = makeFlow({
      proto: Proto.UDP, orig: tuple('10.0.0.1', '10.0.0.2', { sport: 5000, dport: 53 }),
      timeout: 50, mark: 0, id: 966711672, status: CONFIRMED,
    });
    // `<when>` is the local time at print; the 1.4.7 `[USERSPACE]` suffix belongs to the CLI.
    const when = new Date(Date.UTC(2026, 10, 22, 8, 3, 2));
    assert.equal(
      formatXml(flow, { event: 'new', when }) + ' [USERSPACE] portid=9849',
      '<flow type="new"><meta direction="original"><layer3 protonum="2" protoname="ipv4"><src>10.0.0.1</src><dst>10.0.0.2</dst></layer3><layer4 protonum="17" protoname="udp"><sport>5000</sport><dport>53</dport></layer4></meta><meta direction="reply"><layer3 protonum="2" protoname="ipv4"><src>10.0.0.2</src><dst>10.0.0.1</dst></layer3><layer4 protonum="17" protoname="udp"><sport>53</sport><dport>5000</dport></layer4></meta><meta direction="independent"><timeout>50</timeout><mark>0</mark><id>966711672</id><unreplied/></meta><when><hour>8</hour><min>03</min><sec>02</sec><wday>1</wday><day>22</day><month>11</month><year>2026</year></when></flow> [USERSPACE] portid=9849',
    );
  });
});

describe('formatXml: libnetfilter_conntrack 1.0.9 edge cases', () => {
  for (const c of ORACLE_CASES) {
    const opts = {
      event: c.event, ktimestamp: c.ktimestamp,
      labelName: c.labels ? ORACLE_LABELS : undefined, nowSeconds: at(ORACLE_TS_NOW),
    };
    test(c.name, () => assert.equal(formatXml(c.flow, opts), oracleTranscript(c.name, 'X')));
  }
});

describe('formatXml: details', () => {
  const udp = { proto: Proto.UDP, orig: tuple('10.0.0.1', '10.0.0.2', { sport: 1, dport: 2 }) };
  const independent = (xml: string) => /<meta direction="independent">(.*)<\/meta>/.exec(xml)?.[1];
  test('SCTP ESTABLISHED prints the TCP name FIN_WAIT', () => {
    const flow = makeFlow({ ...udp, proto: Proto.SCTP, sctp: { state: SctpState.ESTABLISHED } });
    assert.equal(independent(formatXml(flow)), '<state>FIN_WAIT</state>');
  });
  test('event types', () => {
    const flow = makeFlow(udp);
    assert.match(formatXml(flow, { event: 'new' }), /^<flow type="new"><meta direction="original">/);
    assert.match(formatXml(flow, { event: 'update' }), /^<flow type="update">/);
    assert.match(formatXml(flow, { event: 'destroy' }), /^<flow type="destroy">/);
  });
  test('<helper> comes after the independent meta and <when>', () => {
    const flow = makeFlow({ ...udp, status: CONFIRMED | Status.SEEN_REPLY, helper: 'ftp' });
    assert.match(formatXml(flow, { when: new Date(0) }),
      /<meta direction="independent"><\/meta><when><hour>0<\/hour>.*<\/when><helper>ftp<\/helper><\/flow>$/);
  });
  test('no independent meta without its attributes', () => {
    assert.doesNotMatch(formatXml(makeFlow({ ...udp, helper: 'tftp' })), /independent/);
  });
  test('<timestamp> only with ktimestamp, <deltatime> always', () => {
    const flow = makeFlow({ ...udp, timestamp: { start: ns(100), stop: ns(160) } });
    assert.equal(independent(formatXml(flow)), '<deltatime>60</deltatime>');
    assert.equal(independent(formatXml(flow, { ktimestamp: true })),
      '<timestamp><start>100000000000</start><stop>160000000000</stop></timestamp><deltatime>60</deltatime>');
  });
  test('labels: named ones only, between mark and secmark', () => {
    const flow = makeFlow({ ...udp, mark: 1, secmark: 2, labels: labelBits(0, 3, 64) });
    assert.equal(independent(formatXml(flow, { labelName: labelMap({ 0: 'a', 64: 'z' }) })),
      '<mark>1</mark><labels><label>a</label><label>z</label></labels><secmark>2</secmark>');
  });
  test('zones in the tuples and CTA_ZONE', () => {
    const flow = makeFlow({
      ...udp, orig: tuple('10.0.0.1', '10.0.0.2', { sport: 1, dport: 2, zone: 3 }), zone: 5,
      reply: tuple('10.0.0.2', '10.0.0.1', { sport: 2, dport: 1, zone: 4 }),
    });
    const xml = formatXml(flow);
    assert.match(xml, /<dport>2<\/dport><\/layer4><zone>3<\/zone><\/meta><meta direction="reply">/);
    assert.match(xml, /<dport>1<\/dport><\/layer4><zone>4<\/zone><\/meta>/);
    assert.equal(independent(xml), '<zone>5</zone>');
  });
  test('GRE keys in hex, ICMP without layer-4 fields', () => {
    const gre = makeFlow({ proto: Proto.GRE, orig: tuple('10.0.0.1', '10.0.0.7', { sport: 0x10, dport: 0xabcd }) });
    assert.match(formatXml(gre), /<layer4 protonum="47" protoname="gre"><srckey>0x10<\/srckey><dstkey>0xabcd<\/dstkey><\/layer4>/);
    const icmp = makeFlow({ proto: Proto.ICMP, orig: tuple('10.0.0.1', '10.0.0.4', { type: 8, code: 0, id: 1 }) });
    assert.match(formatXml(icmp), /<layer4 protonum="1" protoname="icmp"><\/layer4>/);
  });
});

describe('formatXml: live capture of conntrack 1.4.7', () => {
  const capture = loadCapture();
  const now = at(capture.capturedAt);
  const check = (file: string, opts: Parameters<typeof formatXml>[1]) => {
    test(file, () => {
      const body = capture.flows.map((f) => formatXml(f, { ...opts, nowSeconds: now }) + '\n').join('');
      assert.deepEqual((XML_HEADER + body + XML_FOOTER).split('\n'), [...capture.lines(file), '']);
    });
  };
  check('list-xml.txt', {});
  check('list-xml-ktimestamp-labels.txt', { ktimestamp: true, labelName: capture.labelName });
});
