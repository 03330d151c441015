import type { Flow } from '../../ctnetlink/flow';
import type { WireEntry } from '../../ctnetlink/wire-entry';
import { formatSave, unsupportedL3Warning, type SavePrefix } from '../../format/save';
import { formatText, type TextOptions } from '../../format/text';
import { writeTextLine } from '../../format/text-wire';
import { formatXml, XML_FOOTER, XML_HEADER } from '../../format/xml';
import { formatJson } from '../../format/json';
import type { EventType } from '../../format/text';
import { timestampPrefix, wallClockTimeval } from '../../format/timestamp';
import type { Output } from '../../libc/output';
import type { CommandLine } from '../parse';

/** What an event line adds to its entry (`conntrack -E`). */
export interface EventLine {
  type: EventType;
  /** The port id of the process whose request caused the event; 0 = the kernel. */
  portid: number;
  /** That process's command name, when it could be found. */
  progname?: string;
}

/** `-o save` of an event names the change as the option that would make it. */
const EVENT_SAVE_PREFIX: Readonly<Record<EventType, SavePrefix>> = { new: '-A', update: '-U', destroy: '-D' };

/** Where a command puts the XML document frame (it differs per command, defect 17). */
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
  /** The default format's options; undefined when another format is chosen. */
  private readonly text: TextOptions | undefined;

  constructor(
    private readonly cmd: CommandLine,
    private readonly style: PrinterStyle,
    private readonly out: Output,
    private readonly err: Output,
  ) {
    const map = style.labels ? cmd.labelMap : undefined;
    this.labelName = map ? (bit) => map.nameOf(bit) : undefined;
    const o = cmd.output;
    this.text = o.save || o.xml || o.json ? undefined : { extended: o.extended, id: o.id, ktimestamp: style.ktimestamp && o.ktimestamp, labelName: this.labelName };
  }

  /** Prints an entry as received; the default format is written from its bytes, without decoding. */
  printEntry(entry: WireEntry): void {
    if (this.text === undefined) {
      this.print(entry.flow());
      return;
    }
    writeTextLine(this.out.pending, entry, this.text);
    this.out.wrote();
  }

  /**
   * Prints an entry, or with `event` an event line: the type prefix, the
   * `-o timestamp` wall-clock time, and ` [USERSPACE] portid=P progname=N`
   * after a line caused by a process — not after XML, which it would break
   * (1.4.7 appends it there too, 1.4.9 no longer: defect 11).
   */
  print(flow: Flow, event?: EventLine): void {
    const o = this.cmd.output;
    if (o.save) {
      const line = formatSave(flow, event ? EVENT_SAVE_PREFIX[event.type] : this.style.savePrefix);
      if (line === undefined) {
        this.err.write(`${unsupportedL3Warning(flow.orig.l3 ?? flow.family)}\n`);
        this.out.write('\n');
      } else {
        this.out.write(`${line}${userspaceSuffix(event)}\n`);
      }
      return;
    }
    const ktimestamp = this.style.ktimestamp && o.ktimestamp;
    const when = event && o.timestamp ? new Date() : undefined;
    if (o.json) {
      const opts = { event: event?.type, time: when, labelName: this.labelName, portid: event?.portid, progname: event?.progname };
      this.out.write(`${formatJson(flow, opts)}\n`);
      return;
    }
    if (o.xml) {
      if (!this.headerPrinted && this.style.xmlFrame !== 'none') {
        this.headerPrinted = true;
        this.out.write(XML_HEADER);
      }
      this.out.write(`${formatXml(flow, { ktimestamp, labelName: this.labelName, event: event?.type, when })}\n`);
      return;
    }
    if (!event) {
      this.out.write(`${formatText(flow, this.text!)}\n`);
      return;
    }
    // 1.4.7 takes the time when it prints, not the kernel's event time.
    const now = when && wallClockTimeval();
    const prefix = now ? timestampPrefix(now.sec, now.usec) : '';
    this.out.write(`${prefix}${formatText(flow, { ...this.text, event: event.type })}${userspaceSuffix(event)}\n`);
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

function userspaceSuffix(event: EventLine | undefined): string {
  if (!event?.portid) return '';
  return event.progname === undefined ? ` [USERSPACE] portid=${event.portid}` : ` [USERSPACE] portid=${event.portid} progname=${event.progname}`;
}
