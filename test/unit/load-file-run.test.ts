/**
 * runScript(): the order and the outcome of a `-R` file's commands against a
 * table that answers each create as the test says, without a kernel (the
 * diff tier checks the same against the reference on a real one).
 */
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { Conntrack } from '../../src/api/conntrack';
import { CtMsg } from '../../src/ctnetlink/constants';
import { decodeFlow } from '../../src/ctnetlink/flow-codec';
import { writeCreateRequest } from '../../src/ctnetlink/requests';
import { flowToCreate } from '../../src/cli/commands/create';
import { runScript } from '../../src/cli/load-file-run';
import type { ScriptStep } from '../../src/cli/load-file-spool';
import { parseCommandLine } from '../../src/cli/parse';
import { MessageWriter } from '../../src/netlink/attributes';
import { NetlinkError } from '../../src/netlink/errors';
import { NFGENMSG_LEN } from '../../src/nfnetlink/header';
import { ackMessage, FakeKernel } from './fake-kernel';

const EPERM = 1;
const EEXIST = 17;
const EINVAL = 22;

/** Any command line but `-I`/`-A`, as a step of the run. */
const line = (text: string): ScriptStep => ({ kind: 'command', cmd: parseCommandLine(['conntrack', ...text.split(' ')]) });

/** `-I`/`-A` of the n-th entry, encoded as the spool keeps it. */
function create(n: number, command = '-I'): ScriptStep {
  const cmd = parseCommandLine(['conntrack', ...`${command} -s 10.0.0.${n} -d 192.0.2.1 -p udp --sport 1 --dport 2 -t 60`.split(' ')]);
  const w = new MessageWriter();
  writeCreateRequest(w, 0, flowToCreate(cmd), true);
  return { kind: 'create', command: command === '-A' ? 'CT_ADD' : 'CT_CREATE', message: w.toBuffer() };
}

/**
 * A table behind the library's fake-kernel seam: requests are answered
 * later, in the order they were sent (as the kernel answers them); the
 * create of entry n fails with `errors[n]`.
 */
function fakeTable(errors: Record<number, number> = {}) {
  const log: string[] = [];
  const kernel = new FakeKernel((r) => {
    const flow = decodeFlow(r.payload, NFGENMSG_LEN, r.payload.length, r.payload[0]!);
    const n = Number(flow.orig.src!.split('.')[3]);
    const isCreate = (r.type & 0xff) === CtMsg.NEW;
    log.push(`${isCreate ? 'create' : 'delete'} ${n}`);
    return [ackMessage(r.seq, isCreate ? errors[n] : undefined)];
  });
  const conntrack = Conntrack.open({ transport: () => kernel });
  const run = async (steps: ScriptStep[]): Promise<unknown> => {
    try {
      await runScript(steps, {
        conntrack: () => conntrack,
        run: async (cmd) => log.push(`run ${cmd.command}`),
        failure: (err, command) => ({ failed: command, errno: (err as NetlinkError).positiveErrno }),
      });
      return undefined;
    } catch (err) {
      return err;
    } finally {
      conntrack.close();
    }
  };
  return { log, run };
}

describe('-R runs with 1.4.7 outcome', () => {
  test('creates are all sent before the first answer; -D waits for every create before it', async () => {
    const { log, run } = fakeTable();
    assert.equal(await run([create(1), create(2), line('-D -s 10.0.0.1'), create(3)]), undefined);
    assert.deepEqual(log, ['create 1', 'create 2', 'run CT_DELETE', 'create 3']);
  });

  test('a failing create: reported as its own command, later creates that made an entry are deleted', async () => {
    const { log, run } = fakeTable({ 2: EEXIST, 4: EINVAL });
    const commands = [create(1), create(2), create(3), create(4), create(5), line('-F'), create(6)];
    assert.deepEqual(await run(commands), { failed: 'CT_CREATE', errno: EEXIST });
    assert.deepEqual(log, ['create 1', 'create 2', 'create 3', 'create 4', 'create 5', 'delete 3', 'delete 5']);
  });

  test('-A of an existing entry goes on (D5); other -A failures stop the run', async () => {
    const { log, run } = fakeTable({ 1: EEXIST, 2: EINVAL });
    assert.deepEqual(await run([create(1, '-A'), create(2, '-A'), create(3, '-A')]), { failed: 'CT_ADD', errno: EINVAL });
    assert.deepEqual(log, ['create 1', 'create 2', 'create 3', 'delete 3']);
  });

  test('a table that cannot be opened: the first create fails with that', async () => {
    const failed = await runScript([create(1), create(2)], {
      conntrack: () => {
        throw new NetlinkError(-EPERM, 'socket');
      },
      run: async () => undefined,
      failure: (err, command) => ({ failed: command, errno: (err as NetlinkError).positiveErrno }),
    }).catch((err: unknown) => err);
    assert.deepEqual(failed, { failed: 'CT_CREATE', errno: EPERM });
  });

  test('at most 1024 creates unanswered: the window refills by halves', async () => {
    const { log, run } = fakeTable();
    const commands = Array.from({ length: 1100 }, (_, i) => create(i % 250));
    let sentBeforeFirstAnswer = 0;
    setImmediate(() => (sentBeforeFirstAnswer = log.length));
    assert.equal(await run(commands), undefined);
    assert.equal(log.length, 1100);
    assert.equal(sentBeforeFirstAnswer, 1024);
  });
});
