import type { Expectation } from '../../ctnetlink/expect';
import { formatExpectationJson } from '../../format/json-expect';
import type { EventType } from '../../format/text';
import { formatExpectationText } from '../../format/text-expect';
import { expectTimestampPrefix, wallClockTimeval } from '../../format/timestamp';
import { EXPECT_XML_FOOTER, EXPECT_XML_HEADER, formatExpectationXml } from '../../format/xml-expect';
import type { Output } from '../../libc/output';
import type { OutputFlags } from '../parse';

/**
 * Prints expectations in the format the command line chose. 1.4.7 honours
 * only `xml` and `timestamp` here: other `-o` words are
 * accepted and ignored; `json` is our extension. The XML header goes out
 * before the first expectation, so an empty result prints nothing.
 */
export class ExpectationPrinter {
  private headerPrinted = false;

  constructor(
    private readonly output: OutputFlags,
    private readonly out: Output,
  ) {}

  print(exp: Expectation, event?: EventType): void {
    const o = this.output;
    if (o.json) {
      this.out.write(`${formatExpectationJson(exp, { event, time: o.timestamp ? new Date() : undefined })}\n`);
      return;
    }
    if (o.xml) {
      if (!this.headerPrinted) {
        this.headerPrinted = true;
        this.out.write(EXPECT_XML_HEADER);
      }
      this.out.write(`${formatExpectationXml(exp, { event, when: o.timestamp ? new Date() : undefined })}\n`);
      return;
    }
    let line = formatExpectationText(exp, { event });
    if (o.timestamp) {
      const { sec, usec } = wallClockTimeval();
      line = expectTimestampPrefix(sec, usec) + line;
    }
    this.out.write(`${line}\n`);
  }

  /** Closes an XML document that was opened; 1.4.7 flushes stdout right after the footer. */
  finish(): void {
    if (!this.headerPrinted) return;
    this.out.write(EXPECT_XML_FOOTER);
    this.out.end();
  }
}
