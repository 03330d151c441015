/**
 * A namespace that cannot be entered, and sockets the kernel refuses: the
 * library says so with NetlinkError, and the CLI with one line and exit 1 for
 * every command — never with the numbers of another namespace (the /proc
 * fallback of -C and -S reads the namespace the process runs in).
 *
 * The CLI runs inside a throw-away namespace of its own, so a regression that
 * ignored --netns would act there, never on the machine's table.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { Conntrack } from '../../src/api/conntrack';
import { NetlinkError } from '../../src/netlink/errors';
import { ctFill, withNetns, type Netns } from './netns';

const REPO_ROOT = path.resolve(__dirname, '../../..');
const CLI = path.join(REPO_ROOT, 'bin/conntrack.js');
const BANNER = 'conntrack v0.1.0 (conntrack-ts)';

const entries = (n: number, net: number): string[][] =>
  Array.from({ length: n }, (_, i) => `-s 10.${net}.0.${i + 1} -d 10.${net}.1.1 -p udp --sport 1 --dport 2 -t 600`.split(' '));

const conntrack = (ns: Netns, argv: string, stdin?: string): ReturnType<Netns['exec']> =>
  ns.exec(process.execPath, [CLI, ...argv.split(' ')], stdin === undefined ? {} : { input: stdin });

describe('conntrack --netns NAME that cannot be entered', () => {
  const COMMANDS = [
    '-L', '-L dying', '-G -p udp -s 10.1.0.1 -d 10.1.1.1 --sport 1 --dport 2', '-D -s 10.1.0.1', '-F', '-C', '-S',
    '-I -p udp -s 10.9.0.1 -d 10.9.0.2 --sport 1 --dport 2 -t 5', '-U -s 10.1.0.1 -m 1', '-E', '-R -',
    '-L expect', '-F expect', '-C expect', '-S expect', '-E expect',
  ];
  test('every command fails with one line and exit 1, and touches no table', async (t) => {
    const ns = await withNetns(t, 'nsfail');
    await ctFill(ns, entries(3, 1));
    for (const argv of COMMANDS) {
      const r = await conntrack(ns, `--netns ctts-no-such-namespace ${argv}`, '-F\n');
      assert.deepEqual(
        { stdout: r.stdout.toString(), stderr: r.stderr.toString(), status: r.status },
        { stdout: '', stderr: `${BANNER}: cannot enter network namespace: No such file or directory\n`, status: 1 },
        argv,
      );
    }
    assert.equal((await ns.execOk('/usr/sbin/conntrack', ['-C'])).stdout.toString(), '3\n', 'the table where the command ran is untouched');
  });

  test('-C and -S answer for the namespace named, not the one the command runs in', async (t) => {
    const outer = await withNetns(t, 'nsouter');
    const inner = await withNetns(t, 'nsinner');
    await ctFill(outer, entries(2, 1));
    await ctFill(inner, entries(5, 2));
    assert.equal((await conntrack(outer, `--netns ${inner.name} -C`)).stdout.toString(), '5\n');
    const stats = (await conntrack(outer, `--netns ${inner.name} -S`)).stdout.toString();
    const inserted = [...stats.matchAll(/ insert=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
    assert.equal(inserted, 5, stats);
  });
});

describe('library: failures to set a socket up are NetlinkError', () => {
  test('Conntrack.open with a namespace that does not exist', () => {
    assert.throws(
      () => Conntrack.open({ netns: 'ctts-no-such-namespace' }),
      (err: unknown) => err instanceof NetlinkError && err.code === 'ENOENT' && err.syscall === 'open',
    );
  });

  test('Conntrack.open with a file that is no namespace', () => {
    assert.throws(
      () => Conntrack.open({ netns: '/etc/hostname' }),
      (err: unknown) => err instanceof NetlinkError && err.code === 'EINVAL' && err.syscall === 'setns',
    );
  });

  test('events() and dump() without CAP_NET_ADMIN', async (t) => {
    const ns = await withNetns(t, 'nscap');
    // A child without the capability: events() joins the groups (setsockopt), a dump asks the kernel.
    const script = `
      const { Conntrack, NetlinkError } = require(${JSON.stringify(path.join(REPO_ROOT, 'dist/src/index.js'))});
      const ct = Conntrack.open();
      const what = (err) => [err instanceof NetlinkError, err.code, err.syscall].join(' ');
      let events;
      try { events = ct.events(); console.log('events opened'); } catch (err) { console.log('events: ' + what(err)); }
      events?.close();
      ct.count().then(() => console.log('count answered'), (err) => console.log('count: ' + what(err))).finally(() => ct.close());
    `;
    const r = await ns.exec('setpriv', ['--bounding-set=-net_admin', process.execPath, '-e', script]);
    assert.equal(r.stderr.toString(), '');
    assert.equal(r.stdout.toString(), 'events: true EPERM setsockopt\ncount: true EPERM sendmsg\n');
  });
});
