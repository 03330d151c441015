import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { NetlinkChannel } from '../../src/netlink/channel';
import { MessageFlags } from '../../src/netlink/constants';
import { DumpInterruptedError, NetlinkError, ProtocolError } from '../../src/netlink/errors';
import { beginNfMessage, Subsystem } from '../../src/nfnetlink/header';
import { MessageWriter } from '../../src/netlink/attributes';
import { CtMsg } from '../../src/ctnetlink/constants';
import { decodeEvent } from '../../src/ctnetlink/event';
import { operationFailed } from '../../src/cli/kernel-errors';
import type { CommandSelection } from '../../src/cli/options';
import { CliProblem } from '../../src/cli/problems';
import { ackMessage, doneMessage, FakeKernel, PORTID, recvError } from './fake-kernel';
import { loadMessage } from './ctnetlink-fixtures';

/*
 * Every fault class of the README "Reliability" table, by name, through the
 * fake kernel: what the library does (a typed error, never a hang, and the
 * channel keeps serving requests) and what the CLI makes of that error
 * (1.4.7's message and exit code, src/cli/kernel-errors.ts). The same
 * faults from the real kernel: test/kernel/faults.test.ts. Engine details
 * (batching, backpressure) are in channel.test.ts.
 */

const ENOENT = 2;
const EBADF = 9;
const ENOMEM = 12;
const EBUSY = 16;
const EEXIST = 17;
const EPERM = 1;
const ENOBUFS = 105;

/** The captured UDP entry as a dump reply to request `seq`. */
function entry(seq: number, flags: number = MessageFlags.MULTI): Buffer {
  const copy = Buffer.from(loadMessage('real-udp-ipv4').buf);
  copy.writeUInt16LE(flags, 6);
  copy.writeUInt32LE(seq, 8);
  copy.writeUInt32LE(PORTID, 12);
  return copy;
}

function request(seq: number, flags: number): Buffer {
  const w = new MessageWriter();
  w.endMessage(beginNfMessage(w, Subsystem.CTNETLINK, CtMsg.GET, flags, seq, 2));
  return w.toBuffer();
}

interface Outcome {
  entries: number;
  error: unknown;
}

/**
 * A dump over a fake kernel answering with `replies(seq)`; `during` runs
 * after the first batch arrived. Afterwards the channel must still serve a
 * request (unless `during` closed it).
 */
async function dump(replies: (seq: number) => Buffer[], during?: (channel: NetlinkChannel) => void): Promise<Outcome> {
  const kernel = new FakeKernel((r) => (r.flags & MessageFlags.DUMP ? replies(r.seq) : [ackMessage(r.seq)]));
  const channel = new NetlinkChannel(kernel, { datagramSize: 4096 });
  const seq = channel.nextSeq();
  const outcome: Outcome = { entries: 0, error: undefined };
  try {
    for await (const batch of channel.dump(request(seq, MessageFlags.REQUEST | MessageFlags.DUMP), seq, decodeEvent)) {
      outcome.entries += batch.length;
      during?.(channel);
    }
  } catch (err) {
    outcome.error = err;
  }
  if (!during) {
    const next = channel.nextSeq();
    await channel.request(request(next, MessageFlags.REQUEST | MessageFlags.ACK), next);
  }
  assert.equal(channel.inFlight, 0, 'nothing left in flight');
  channel.close();
  return outcome;
}

/** The kernel refuses a request with `errno`. */
async function refused(errno: number): Promise<unknown> {
  const kernel = new FakeKernel((r) => [ackMessage(r.seq, errno, MessageFlags.CAPPED)]);
  const channel = new NetlinkChannel(kernel);
  const seq = channel.nextSeq();
  try {
    await channel.request(request(seq, MessageFlags.REQUEST | MessageFlags.ACK), seq);
    return undefined;
  } catch (err) {
    return err;
  } finally {
    channel.close();
  }
}

/** What the CLI prints for a library error during `command`, and its exit status. */
function cli(err: unknown, command: CommandSelection): string {
  const problem = operationFailed(err, command);
  assert.ok(problem instanceof CliProblem, `${String(err)} maps to a CLI problem`);
  return `${problem.message} (exit ${problem.exitCode})`;
}

describe('fault: ENOBUFS (the kernel dropped replies: the socket receive buffer overflowed)', () => {
  test('library: a dump fails with NetlinkError ENOBUFS after the entries before it; the channel goes on', async () => {
    const { entries, error } = await dump((seq) => [entry(seq), recvError(ENOBUFS), entry(seq), doneMessage(seq)]);
    assert.equal(entries, 1);
    assert.ok(error instanceof NetlinkError && error.code === 'ENOBUFS' && error.errno === -ENOBUFS);
  });

  test('CLI: Operation failed: No buffer space available, exit 1', () => {
    assert.equal(cli(new NetlinkError(ENOBUFS, 'recvmsg'), 'CT_LIST'), 'Operation failed: No buffer space available (exit 1)');
  });
});

describe('fault: NLM_F_DUMP_INTR (the table changed during the dump)', () => {
  test('library: every entry is delivered, then DumpInterruptedError; no re-dump', async () => {
    const { entries, error } = await dump((seq) => [
      entry(seq),
      Buffer.concat([entry(seq, MessageFlags.MULTI | MessageFlags.DUMP_INTR), entry(seq)]),
      doneMessage(seq),
    ]);
    assert.equal(entries, 3);
    assert.ok(error instanceof DumpInterruptedError && error.code === 'EINTR');
  });

  test('library: the flag on NLMSG_DONE alone is enough', async () => {
    const { error } = await dump((seq) => [entry(seq), doneMessage(seq, MessageFlags.MULTI | MessageFlags.DUMP_INTR)]);
    assert.ok(error instanceof DumpInterruptedError);
  });

  test('CLI: Operation failed: Interrupted system call, exit 1 (libmnl reports EINTR)', () => {
    assert.equal(cli(new DumpInterruptedError(), 'CT_LIST'), 'Operation failed: Interrupted system call (exit 1)');
  });
});

describe('fault: the kernel refuses a request (ENOENT, EEXIST, EBUSY, EPERM, ENOMEM)', () => {
  for (const [errno, code] of [
    [ENOENT, 'ENOENT'],
    [EEXIST, 'EEXIST'],
    [EBUSY, 'EBUSY'],
    [EPERM, 'EPERM'],
    [ENOMEM, 'ENOMEM'],
  ] as const) {
    test(`library: ${code} rejects with NetlinkError ${code}`, async () => {
      const err = await refused(errno);
      assert.ok(err instanceof NetlinkError, String(err));
      assert.equal(err.code, code);
      assert.equal(err.errno, -errno);
      assert.equal(err.syscall, 'sendmsg');
    });
  }

  // 1.4.7's err2str(): per command where it has its own text, strerror() elsewhere.
  const messages: Array<[number, CommandSelection, string]> = [
    [ENOENT, 'CT_CREATE', "such conntrack doesn't exist"],
    [ENOENT, 'CT_GET', "such conntrack doesn't exist"],
    [ENOENT, 'CT_DELETE', "such conntrack doesn't exist"],
    [ENOENT, 'CT_ADD', "such conntrack doesn't exist"],
    [ENOENT, 'CT_UPDATE', 'No such file or directory'],
    [ENOENT, 'EXP_CREATE', 'master conntrack not found'],
    [ENOENT, 'EXP_DELETE', 'No such file or directory'],
    [EEXIST, 'CT_CREATE', 'Such conntrack exists, try -U to update'],
    [EEXIST, 'CT_ADD', 'File exists'],
    [EEXIST, 'EXP_CREATE', 'File exists'],
    [EBUSY, 'CT_CREATE', 'Device or resource busy'],
    [EBUSY, 'CT_UPDATE', 'Device or resource busy'],
    [EPERM, 'CT_LIST', 'sorry, you must be root or get CAP_NET_ADMIN capability to do this'],
    [EPERM, 'CT_FLUSH', 'sorry, you must be root or get CAP_NET_ADMIN capability to do this'],
    [EPERM, 'EXP_LIST', 'sorry, you must be root or get CAP_NET_ADMIN capability to do this'],
    [ENOMEM, 'CT_CREATE', 'not enough memory'],
    [ENOMEM, 'CT_GET', 'not enough memory'],
    [ENOMEM, 'CT_ADD', 'not enough memory'],
    [ENOMEM, 'CT_LIST', 'Cannot allocate memory'],
    [ENOMEM, 'CT_UPDATE', 'Cannot allocate memory'],
  ];
  test('CLI: the message 1.4.7 prints for each errno and command, exit 1', () => {
    for (const [errno, command, message] of messages) {
      assert.equal(cli(new NetlinkError(errno, 'sendmsg'), command), `Operation failed: ${message} (exit 1)`, `${errno} ${command}`);
    }
  });
});

describe('fault: a truncated datagram (MSG_TRUNC)', () => {
  test('library: the dump fails with ProtocolError, the entries before it arrive, the channel goes on', async () => {
    // The fake kernel's recvmsg reports the full length of a datagram bigger than the 4 KiB buffer, as MSG_TRUNC does.
    const { entries, error } = await dump((seq) => [entry(seq), Buffer.concat(Array.from({ length: 40 }, () => entry(seq))), doneMessage(seq)]);
    assert.equal(entries, 1);
    assert.ok(error instanceof ProtocolError && /truncated/.test(error.message), String(error));
  });

  test('CLI: Operation failed: Protocol error, exit 1 (EPROTO)', () => {
    assert.equal(cli(new ProtocolError('netlink datagram of 9000 bytes truncated to 4096'), 'CT_LIST'), 'Operation failed: Protocol error (exit 1)');
  });
});

describe('fault: the socket closed during a dump', () => {
  test('library: closing the channel mid-dump ends the dump with NetlinkError EBADF, no hang', async () => {
    // The kernel is still producing: no NLMSG_DONE yet, so only the close can end the dump.
    const { entries, error } = await dump(
      (seq) => [entry(seq), entry(seq)],
      (channel) => channel.close(),
    );
    assert.equal(entries, 2);
    assert.ok(error instanceof NetlinkError && error.code === 'EBADF', String(error));
  });

  test('library: a recvmsg error mid-dump (the descriptor went away) fails the dump with it', async () => {
    const { entries, error } = await dump((seq) => [entry(seq), recvError(EBADF)]);
    assert.equal(entries, 1);
    assert.ok(error instanceof NetlinkError && error.code === 'EBADF' && error.syscall === 'recvmsg', String(error));
  });

  test('CLI: Operation failed: Bad file descriptor, exit 1', () => {
    assert.equal(cli(new NetlinkError(EBADF, 'recvmsg'), 'CT_LIST'), 'Operation failed: Bad file descriptor (exit 1)');
  });
});

describe('fault: malformed replies (see fuzz.test.ts for the properties)', () => {
  test('library: a reply whose framing is broken fails only its own request with ProtocolError', async () => {
    const { entries, error } = await dump((seq) => {
      const broken = entry(seq);
      broken.writeUInt16LE(0xffff, 20); // the first attribute claims 64 KiB
      return [entry(seq), broken, doneMessage(seq)];
    });
    assert.equal(entries, 1);
    assert.ok(error instanceof ProtocolError, String(error));
  });
});
