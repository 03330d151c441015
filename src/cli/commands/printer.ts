import type { Flow } from '../../ctnetlink/flow';
import { formatSave, unsupportedL3Warning, type SavePrefix } from '../../format/save';
import { formatText } from '../../format/text';
import { formatXml, XML_FOOTER, XML_HEADER } from '../../format/xml';
import type { Output } from '../output';
import type { CommandLine } from '../parse';

/** Where a command puts the XML document frame (spec §8.3: it differs per command, D17). */
export type XmlFrame = 'document' | 'header-only' | 'none';

export interface PrinterStyle {
  /** The `-o save` line prefix of this command. */
  savePrefix: SavePrefix;
  xmlFrame: XmlFrame;
  /** Print labels when the label map is loaded (-D never does). */
  labels: boolean;
  /** Honour `-o ktimestamp` (-L and -G do; -D and -U ignore it). */
  ktimestamp: boolean;
}

/**
 * Prints entries in the output format the command line chose. Lines are
 * buffered into `out`; the XML header goes out before the first entry only,
 * so an empty result prints nothing at all, as 1.4.7 does.
 */
export class EntryPrinter {
  private headerPrinted = false;
  private readonly labelName: ((bit: number) => string | undefined) | undefined;

  constructor(
    private readonly cmd: CommandLine,
    private readonly style: PrinterStyle,
    private readonly out: Output,
    private readonly err: Output,
  ) {
    const map = style.labels ? cmd.labelMap : undefined;
    this.labelName = map ? (bit) => map.nameOf(bit) : undefined;
  }

  print(flow: Flow): void {
    const o = this.cmd.output;
    if (o.save) {
      const line = formatSave(flow, this.style.savePrefix);
      if (line === undefined) {
        this.err.write(`${unsupportedL3Warning(flow.orig.l3 ?? flow.family)}\n`);
        this.out.write('\n');
      } else {
        this.out.write(`${line}\n`);
      }
      return;
    }
    const ktimestamp = this.style.ktimestamp && o.ktimestamp;
    if (o.xml) {
      if (!this.headerPrinted && this.style.xmlFrame !== 'none') {
        this.headerPrinted = true;
        this.out.write(XML_HEADER);
      }
      this.out.write(`${formatXml(flow, { ktimestamp, labelName: this.labelName })}\n`);
      return;
    }
    this.out.write(`${formatText(flow, { extended: o.extended, id: o.id, ktimestamp, labelName: this.labelName })}\n`);
  }

  /**
   * Closes the XML document if this command prints a footer and a header
   * went out. 1.4.7 flushes stdout right after the footer, so the document
   * precedes the summary line even when both streams share a pipe.
   */
  finish(): void {
    if (this.headerPrinted && this.style.xmlFrame === 'document') {
      this.out.write(XML_FOOTER);
      this.out.end();
    }
  }
}
