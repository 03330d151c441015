/**
 * The XML format of `conntrack -L/-E expect -o xml`: one `<flow>` element per
 * expectation, byte for byte as libnetfilter_conntrack 1.0.9 prints it
 * (expect/snprintf_xml.c). The three tuples share one `<layer3>`
 * and one `<layer4>` element, named after the family and the expected
 * tuple's protocol; each tuple's ports still follow its own protocol.
 * `<meta>` is always there, possibly empty.
 */
import { ExpectFlag } from '../ctnetlink/constants';
import type { Expectation } from '../ctnetlink/expect';
import type { EventType } from './text';
import { xmlWhen } from './timestamp';
import { addressXml, FLOW_OPEN, l4Xml, layerOpenXml } from './xml';

export interface ExpectationXmlOptions {
  /** Event type for `<flow type="…">`; absent for dumps. */
  event?: EventType;
  /** `-o timestamp`: the time for `<when>` (printed in local time). */
  when?: Date;
}

/** What `-L expect` and `-E expect` print before the first `<flow>`. */
export const EXPECT_XML_HEADER = '<?xml version="1.0" encoding="utf-8"?>\n<expect>\n';
/** What they print after the last one. */
export const EXPECT_XML_FOOTER = '</expect>\n';

/** One expectation as a `<flow>` element, without a newline. */
export function formatExpectationXml(exp: Expectation, opts: ExpectationXmlOptions = {}): string {
  const { family, tuple, mask, master } = exp;
  let s = opts.event === undefined ? '<flow>' : FLOW_OPEN[opts.event];
  s += layerOpenXml(3, family);
  s += '<expected>' + addressXml(tuple, family) + '</expected><mask>' + addressXml(mask, family);
  s += '</mask><master>' + addressXml(master, family) + '</master></layer3>';
  s += layerOpenXml(4, tuple.proto ?? 0);
  s += '<expected>' + l4Xml(tuple) + '</expected><mask>' + l4Xml(mask) + '</mask><master>' + l4Xml(master) + '</master></layer4>';
  s += '<meta>';
  if (exp.helper !== undefined) s += '<helper-name>' + exp.helper + '</helper-name>';
  if (exp.timeout !== undefined) s += '<timeout>' + exp.timeout + '</timeout>';
  if (exp.class !== undefined) s += '<class>' + exp.class + '</class>';
  if (exp.zone !== undefined) s += '<zone>' + exp.zone + '</zone>';
  if (opts.when !== undefined) s += xmlWhen(opts.when);
  const flags = exp.flags ?? 0;
  if (flags & ExpectFlag.PERMANENT) s += '<permanent/>';
  if (flags & ExpectFlag.INACTIVE) s += '<inactive/>';
  if (flags & ExpectFlag.USERSPACE) s += '<userspace/>';
  return s + '</meta></flow>';
}
