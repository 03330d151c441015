/**
 * runScript(): the order and the outcome of a `-R` file's commands against a
 * table that answers each create as the test says, without a kernel (the
 * diff tier checks the same against the reference on a real one).
 */
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import type { Conntrack } from '../../src/api/conntrack';
import type { Flow } from '../../src/ctnetlink/flow';
import { runScript } from '../../src/cli/load-file-run';
import { parseCommandLine, type CommandLine } from '../../src/cli/parse';
import { NetlinkError } from '../../src/netlink/errors';

const EEXIST = 17;
const EINVAL = 22;

/** `-I`/`-A` of the n-th entry, or any other command line. */
const line = (text: string): CommandLine => parseCommandLine(['conntrack', ...text.split(' ')]);
const create = (n: number, command = '-I'): CommandLine =>
  line(`${command} -s 10.0.0.${n} -d 192.0.2.1 -p udp --sport 1 --dport 2 -t 60`);
const sourceOf = (flow: Flow): number => Number(flow.orig.src!.split('.')[3]);

/**
 * A table whose creates settle later, in the order they were made (as the
 * kernel answers them), and fail with `errors[n]` for entry n.
 */
function fakeTable(errors: Record<number, number> = {}) {
  const log: string[] = [];
  const conntrack = {
    create(flow: Flow): Promise<void> {
      const n = sourceOf(flow);
      log.push(`create ${n}`);
      return new Promise((resolve, reject) =>
        setImmediate(() => (errors[n] ? reject(new NetlinkError(-errors[n]!, 'sendmsg')) : resolve())),
      );
    },
    async delete(flow: Flow): Promise<boolean> {
      log.push(`delete ${sourceOf(flow)}`);
      return true;
    },
  } as unknown as Conntrack;
  const run = async (commands: CommandLine[]): Promise<unknown> => {
    try {
      await runScript(commands, {
        conntrack: () => conntrack,
        run: async (cmd) => log.push(`run ${cmd.command}`),
        failure: (err, command) => ({ failed: command, errno: (err as NetlinkError).positiveErrno }),
      });
      return undefined;
    } catch (err) {
      return err;
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
