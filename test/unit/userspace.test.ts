import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ProgramNames } from '../../src/cli/userspace';

/** A /proc with a netlink socket table and processes holding sockets. */
function fakeProc(sockets: [proto: number, portid: number, inode: number][], processes: Record<number, { comm: string; inodes: number[] }>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'ctts-proc-'));
  mkdirSync(path.join(root, 'net'));
  const header = 'sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode\n';
  const rows = sockets.map(([proto, portid, inode]) => `0000000000000000 ${proto}  ${portid}  00000000 0 0 0 2 0 ${inode}\n`);
  writeFileSync(path.join(root, 'net', 'netlink'), header + rows.join(''));
  for (const [pid, p] of Object.entries(processes)) {
    mkdirSync(path.join(root, pid, 'fd'), { recursive: true });
    writeFileSync(path.join(root, pid, 'stat'), `${pid} (${p.comm}) S 1 1 1 0 -1`);
    p.inodes.forEach((inode, fd) => symlinkSync(`socket:[${inode}]`, path.join(root, pid, 'fd', String(fd + 3))));
  }
  return root;
}

test('the process holding the socket of a port id, found as 1.4.7 finds it', (t) => {
  const proc = fakeProc(
    [[12, 300, 9001], [12, 3000000001, 9002], [16, 400, 9003], [12, 500, 9004]],
    { 300: { comm: 'conntrack', inodes: [9001] }, 777: { comm: 'my (daemon)', inodes: [1, 9002] } },
  );
  t.after(() => rmSync(proc, { recursive: true }));
  const names = new ProgramNames(proc, () => 0);
  assert.equal(names.lookup(300), 'conntrack', 'the pid equals the port id');
  assert.equal(names.lookup(3000000001), 'my (daemon', 'any process; the name ends at the first )');
  assert.equal(names.lookup(400), undefined, 'not a NETLINK_NETFILTER socket');
  assert.equal(names.lookup(500), undefined, 'nobody holds it any more');
  assert.equal(names.lookup(600), undefined, 'no such socket');
});

test('the socket table is read again when it is stale, or for an unknown port id after a moment', (t) => {
  const proc = fakeProc([[12, 300, 9001]], { 300: { comm: 'conntrack', inodes: [9001] } });
  t.after(() => rmSync(proc, { recursive: true }));
  let now = 0;
  const names = new ProgramNames(proc, () => now);
  assert.equal(names.lookup(300), 'conntrack');
  writeFileSync(path.join(proc, 'net', 'netlink'), 'header\n0000000000000000 12 301 00000000 0 0 0 2 0 9005\n');
  now = 5;
  assert.equal(names.lookup(300), 'conntrack', 'a found socket is trusted for a while');
  assert.equal(names.lookup(301), undefined, 'a missed one is not looked up again at once');
  now = 50;
  assert.equal(names.lookup(301), undefined, 'looked up again: present, but nobody holds it');
  assert.equal(names.lookup(300), undefined, 'and the closed one is gone');
});
