/**
 * `conntrack -R` keeps its memory flat (issue 7.6): neither the file nor its
 * parsed lines are held whole. Our CLI loads a file of LINES `-A` lines
 * under a V8 heap in which the code before streaming, which kept a parsed
 * command line per line, aborted (at 16, 24 and 32 MiB), from a regular
 * file and from a pipe (which is spooled to an unlinked temporary file), and
 * must create every entry.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { withNetns, type Netns } from './netns';

const CLI = path.resolve(__dirname, '../../../bin/conntrack.js');
const LINES = 20_000;
const HEAP_MIB = 16;

let dir = '';
let file = '';
before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'ctts-load-file-'));
  file = path.join(dir, 'save');
  const lines: string[] = [];
  for (let n = 0; n < LINES; n++) {
    const src = `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
    lines.push(`-A -t 600 -u UNSET -s ${src} -d 192.0.2.1 -r 192.0.2.1 -q ${src} -p udp --sport 1000 --dport 53 --reply-port-src 53 --reply-port-dst 1000`);
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function entryCount(ns: Netns): Promise<number> {
  const r = await ns.execOk('cat', ['/proc/sys/net/netfilter/nf_conntrack_count']);
  return Number(r.stdout.toString().trim());
}

async function load(ns: Netns, shell: string): Promise<void> {
  const r = await ns.exec('sh', ['-c', shell, 'sh', process.execPath, `--max-old-space-size=${HEAP_MIB}`, CLI, file], {
    timeoutMs: 120_000,
  });
  assert.equal(r.status, 0, `exit ${r.status} ${r.signal ?? ''}: ${r.stderr.toString().slice(-2000)}`);
  assert.equal(r.stderr.toString(), '');
  assert.equal(await entryCount(ns), LINES);
}

describe(`-R of ${LINES} lines in ${HEAP_MIB} MiB of heap`, () => {
  test('from a regular file', async (t) => {
    const ns = await withNetns(t, 'loadfile');
    await load(ns, '"$1" "$2" "$3" -R "$4"');
  });

  test('from a pipe', async (t) => {
    const ns = await withNetns(t, 'loadfile');
    await load(ns, 'cat "$4" | "$1" "$2" "$3" -R -');
  });
});
