import type { Flow } from '../../ctnetlink/flow';
import { labelBitmap } from '../labelmap';
import type { CommandLine } from '../parse';
import { validateForExecution } from '../parse';
import { BANNER } from '../problems';
import { summary, type RunContext } from './context';
import { EntryPrinter } from './printer';

/**
 * `-U`: change every matching entry, with 1.4.8's fixes of the
 * 1.4.7 defects defect 2–defect 4: each update goes out with the entry's own family,
 * an entry that vanished is skipped, any other failure stops the command,
 * and every updated entry is printed as the kernel now has it. Updates go
 * out pipelined while the dump goes on (Conntrack.updateEach).
 */
export async function update(ctx: RunContext): Promise<number> {
  const { cmd } = ctx;
  validateForExecution(cmd);
  const printer = new EntryPrinter(cmd, { savePrefix: '-A', xmlFrame: 'none', labels: true, ktimestamp: false }, ctx.out, ctx.err);
  let updated = 0;
  try {
    for await (const { flow, error } of ctx.conntrack().updateEach(cmd.filter, (entry) => updateFor(entry, cmd), { readBack: true })) {
      if (error) throw error;
      printer.print(flow);
      updated++;
    }
  } finally {
    ctx.out.sync();
  }
  summary(ctx, BANNER, `${updated} flow entries have been updated.`);
  return updated > 0 ? 0 : 1;
}

/**
 * The update request for one entry: its original tuple (and zone, so entries
 * in a zone can be found) plus the changes of the command line. Undefined
 * when it would change nothing; 1.4.7 then sends nothing and does not count
 * the entry.
 */
export function updateFor(entry: Flow, cmd: CommandLine): Flow | undefined {
  const t = cmd.template;
  const u: Flow = { family: entry.family, orig: entry.orig, reply: {} };
  if (entry.zone !== undefined) u.zone = entry.zone;
  let changed = false;
  if (t.timeout !== undefined) {
    u.timeout = t.timeout;
    changed ||= t.timeout !== entry.timeout;
  }
  if (cmd.status) {
    u.status = ((entry.status ?? 0) | cmd.status.value) >>> 0;
    changed ||= u.status !== entry.status;
  }
  if (cmd.mark) {
    u.mark = (((entry.mark ?? 0) & ~cmd.mark.mask) ^ cmd.mark.value) >>> 0;
    changed ||= u.mark !== entry.mark;
  }
  if (t.tcp) {
    u.tcp = t.tcp;
    changed ||= t.tcp.state !== undefined && t.tcp.state !== entry.tcp?.state;
    changed ||= t.tcp.flagsOrig !== undefined && t.tcp.flagsOrig.flags !== entry.tcp?.flagsOrig?.flags;
    changed ||= t.tcp.flagsReply !== undefined && t.tcp.flagsReply.flags !== entry.tcp?.flagsReply?.flags;
  }
  if (t.sctp) {
    u.sctp = t.sctp;
    changed ||= t.sctp.state !== undefined && t.sctp.state !== entry.sctp?.state;
    changed ||= t.sctp.vtagOrig !== undefined && t.sctp.vtagOrig !== entry.sctp?.vtagOrig;
    changed ||= t.sctp.vtagReply !== undefined && t.sctp.vtagReply !== entry.sctp?.vtagReply;
  }
  if (t.dccp) {
    u.dccp = t.dccp;
    changed ||= t.dccp.state !== undefined && t.dccp.state !== entry.dccp?.state;
  }
  const labels = labelChange(entry, cmd);
  if (labels) {
    Object.assign(u, labels.attributes);
    changed ||= labels.changed;
  }
  return changed ? u : undefined;
}

/**
 * CTA_LABELS (+ CTA_LABELS_MASK) for `--label-add` / `--label-del`. With a
 * mask the kernel changes only the masked bits (to the bits sent), so adding
 * sends the added bits as both, sized like the entry's label set, and
 * deleting sends the deleted bits as mask with zeros; `--label-del` without names
 * sends an all-zero set without mask, which the kernel takes as "clear all".
 */
function labelChange(entry: Flow, cmd: CommandLine): { attributes: Pick<Flow, 'labels' | 'labelsMask'>; changed: boolean } | undefined {
  const { add, del } = cmd.labels;
  const old = entry.labels;
  if (add) {
    const bits = padded(labelBitmap(add), old?.length ?? 0);
    if (!old) return { attributes: { labels: bits }, changed: true };
    return { attributes: { labels: bits, labelsMask: bits }, changed: !covers(old, bits) };
  }
  if (del === 'all') return { attributes: { labels: Buffer.alloc(4) }, changed: old !== undefined && old.some((b) => b !== 0) };
  if (del && old) {
    // The kernel computes (old & ~mask) ^ labels: the masked bits take the
    // value sent, so the deleted bits go as zeros (sending the kept bits
    // there would flip them off as well).
    const mask = padded(labelBitmap(del), old.length).subarray(0, old.length);
    const kept = Buffer.from(old.map((b, i) => b & ~mask[i]!));
    return { attributes: { labels: Buffer.alloc(old.length), labelsMask: mask }, changed: !kept.equals(old) };
  }
  return undefined;
}

/** Zero-extends a label bitmap to `size` bytes (the entry's label set size). */
function padded(bits: Buffer, size: number): Buffer {
  return bits.length >= size ? bits : Buffer.concat([bits, Buffer.alloc(size - bits.length)]);
}

function covers(have: Buffer, bits: Buffer): boolean {
  return bits.every((b, i) => ((have[i] ?? 0) & b) === b);
}
