import type { Conntrack } from '../api/conntrack';
import { alignedTable } from './table-text';
import { TopFlows } from './flow-row';
import { GroupTable } from './group-table';
import type { TopOptions } from './options';

/**
 * `--once`: one pass over the table (the library's raw streaming dump,
 * decoded entry by entry and dropped), then the top rows as an aligned
 * table or NDJSON. Memory holds group totals or the top N flows only.
 */
export async function runOnce(conntrack: Conntrack, opts: TopOptions, write: (text: string) => void): Promise<void> {
  const { groupBy } = opts;
  if (groupBy !== undefined) {
    const groups = new GroupTable(groupBy, await conntrack.count());
    await conntrack.dumpRaw(opts.filter, {}, (entry) => groups.add(entry));
    const rows = groups.top(opts.sort, opts.top);
    if (opts.json) {
      write(rows.map((r) => `${JSON.stringify({ [groupBy]: r.group, entries: r.entries, packets: r.packets, bytes: r.bytes })}\n`).join(''));
      return;
    }
    const lines = alignedTable(
      [groupBy.toUpperCase(), 'ENTRIES', 'PACKETS', 'BYTES'],
      rows.map((r) => [r.group, String(r.entries), String(r.packets), String(r.bytes)]),
      [false, true, true, true],
    );
    write(`${lines.join('\n')}\n`);
    return;
  }
  const top = new TopFlows(opts.sort === 'entries' ? 'bytes' : opts.sort, opts.top);
  await conntrack.dumpRaw(opts.filter, {}, (entry) => top.add(entry));
  if (opts.json) {
    write(top.rows.map(({ flow: _flow, ...row }) => `${JSON.stringify(row)}\n`).join(''));
    return;
  }
  const lines = alignedTable(
    ['PROTO', 'SRC', 'DST', 'STATE', 'TIMEOUT', 'MARK', 'ZONE', 'PACKETS', 'BYTES', 'NAT'],
    top.rows.map((r) => [r.proto, r.src, r.dst, r.state, String(r.timeout), String(r.mark), String(r.zone), String(r.packets), String(r.bytes), r.nat ?? '']),
    [false, false, false, false, true, true, true, true, true, false],
  );
  write(`${lines.join('\n')}\n`);
}
