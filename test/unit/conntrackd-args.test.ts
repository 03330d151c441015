/**
 * conntrackd's command line: every option, prefix and error as 1.4.7 reads
 * them (the differential test compares the same cases with the C binary).
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { DEFAULT_CONFIG_FILE, parseArgs, type ArgsOutcome, type ArgsOutput } from '../../src/conntrackd/cli/args';
import { Request } from '../../src/conntrackd/control/codes';
import { JSON_REQUEST_OFFSET } from '../../src/conntrackd/stats/requests';

const CFG = DEFAULT_CONFIG_FILE;
const req = (code: number, configFile = CFG, json = false): ArgsOutcome => ({ kind: 'request', code, configFile, json });
const usage: ArgsOutput = { kind: 'usage' };
const error = (message: string): ArgsOutput => ({ kind: 'log', level: 'ERROR', message });
const exit = (status: number): ArgsOutcome => ({ kind: 'exit', status });

const REQUESTS: ReadonlyArray<[string, number]> = [
  ['-c', Request.ALL_COMMIT],
  ['-c ct', Request.CT_COMMIT],
  ['-c c', Request.CT_COMMIT],
  ['-c expect', Request.EXP_COMMIT],
  ['-c e', Request.EXP_COMMIT],
  ['-c ""', Request.CT_COMMIT], // an empty word is a prefix of anything: the first table entry
  ['-f', Request.ALL_FLUSH_CACHE],
  ['-f internal', Request.CT_FLUSH_INT_CACHE],
  ['-f i', Request.CT_FLUSH_INT_CACHE],
  ['-f e', Request.CT_FLUSH_EXT_CACHE],
  ['-F', Request.ALL_FLUSH_MASTER],
  ['-F ct', Request.CT_FLUSH_MASTER],
  ['-F exp', Request.EXP_FLUSH_MASTER],
  ['-R', Request.ALL_RESYNC_MASTER],
  ['-R c', Request.CT_RESYNC_MASTER],
  ['-R expect', Request.EXP_RESYNC_MASTER],
  ['-i', Request.CT_DUMP_INTERNAL],
  ['-i ct', Request.CT_DUMP_INTERNAL],
  ['-i expect', Request.EXP_DUMP_INTERNAL],
  ['-i -x', Request.CT_DUMP_INT_XML],
  ['-i expect -x', Request.EXP_DUMP_INT_XML],
  ['-e', Request.CT_DUMP_EXTERNAL],
  ['-e -x', Request.CT_DUMP_EXT_XML],
  ['-e e -x', Request.EXP_DUMP_EXT_XML],
  ['-k', Request.KILL],
  ['-s', Request.STATS],
  ['-s ct', Request.STATS],
  ['-s network', Request.STATS_NETWORK],
  ['-s net', Request.STATS_NETWORK],
  ['-s n', Request.STATS_NETWORK],
  ['-s c', Request.STATS_CACHE],
  ['-s cache', Request.STATS_CACHE],
  ['-s r', Request.STATS_RUNTIME],
  ['-s link', Request.STATS_LINK],
  ['-s l', Request.STATS_LINK],
  ['-s rs', Request.STATS_RSQUEUE],
  ['-s p', Request.STATS_PROCESS],
  ['-s q', Request.STATS_QUEUE],
  ['-s e', Request.EXP_STATS],
  ['-n', Request.REQUEST_DUMP],
  ['-B', Request.SEND_BULK],
  ['-t', Request.RESET_TIMERS],
  // Only the second character counts.
  ['-kill', Request.KILL],
  ['xs', Request.STATS],
  // The last command wins; -k then -s asks for statistics.
  ['-k -s', Request.STATS],
  // `ct2` is not a prefix of ct or expect: not taken, so it is read as an option, `t`.
  ['-i ct2', Request.RESET_TIMERS],
  ['-s -C /x.conf', Request.STATS],
];

const words = (line: string): string[] => line.split(' ').map((w) => (w === '""' ? '' : w));

for (const [line, code] of REQUESTS) {
  test(`conntrackd ${line}: request ${code}`, () => {
    const parsed = parseArgs(words(line));
    assert.deepEqual(parsed.outcome, req(code, line.includes('-C') ? '/x.conf' : CFG));
    assert.deepEqual(parsed.output, []);
  });
}

const OTHERS: ReadonlyArray<[string, ArgsOutput[], ArgsOutcome]> = [
  ['', [], { kind: 'daemon', detach: false, configFile: CFG }],
  ['-C /a.conf', [], { kind: 'daemon', detach: false, configFile: '/a.conf' }],
  ['-d', [], { kind: 'daemon', detach: true, configFile: CFG }],
  ['-d -d -C /a.conf', [], { kind: 'daemon', detach: true, configFile: '/a.conf' }],
  ['-C', [usage, error('Missing config filename')], { kind: 'daemon', detach: false, configFile: CFG }],
  ['-s -C', [usage, error('Missing config filename')], req(Request.STATS)],
  ['-h', [usage], exit(0)],
  ['-v', [{ kind: 'version' }], exit(0)],
  ['-v -Z', [{ kind: 'version' }], exit(0)],
  ['-s bogus -v', [error("unknown parameter `bogus' for option `-s'")], exit(1)],
  ['-Z', [usage, error('Unknown option: -Z')], exit(0)],
  ['-', [usage, error('Unknown option: -')], exit(0)],
  ['k', [usage, error('Unknown option: k')], exit(0)],
  ['-c foo', [usage, error('Unknown option: foo')], exit(0)],
  ['-F bogus', [usage, error('Unknown option: bogus')], exit(0)],
  ['-s bogus', [error("unknown parameter `bogus' for option `-s'")], exit(1)],
  ['-f bogus', [error("unknown parameter `bogus' for option `-f'")], exit(1)],
  ['-x', [usage, error('Invalid parameters')], exit(1)],
  ['-x -i', [usage, error('Invalid parameters')], exit(1)],
  ['-s -x', [usage, error('Invalid parameters')], exit(1)],
  ['-i -x -x', [usage, error('Invalid parameters')], exit(1)],
  ['-d -s', [usage, error('Invalid parameters')], exit(1)],
  ['-s -d', [usage, error('Invalid parameters')], exit(1)],
  ['-i xd', [usage, error('Invalid parameters')], exit(1)],
  ['-s multicast', [{ kind: 'log', level: 'WARNING', message: "use `link' instead of `multicast' as parameter." }], req(Request.STATS_LINK)],
  ['-s m', [{ kind: 'log', level: 'WARNING', message: "use `link' instead of `multicast' as parameter." }], req(Request.STATS_LINK)],
  // Our extension: the JSON twin of a statistics request.
  ['-s --json', [], req(Request.STATS + JSON_REQUEST_OFFSET, CFG, true)],
  ['-s net --json', [], req(Request.STATS_NETWORK + JSON_REQUEST_OFFSET, CFG, true)],
  ['--json', [usage, error('Unknown option: --json')], exit(0)],
  ['-i --json', [usage, error('Unknown option: --json')], exit(0)],
];

for (const [line, output, outcome] of OTHERS) {
  test(`conntrackd ${line || '(no arguments)'}`, () => {
    const parsed = parseArgs(line === '' ? [] : words(line));
    assert.deepEqual(parsed.output, output);
    assert.deepEqual(parsed.outcome, outcome);
  });
}

test('a config path longer than PATH_MAX is cut, with 1.4.7 warning', () => {
  const parsed = parseArgs(['-C', `/${'a'.repeat(5000)}`]);
  assert.equal(parsed.outcome.kind === 'daemon' && parsed.outcome.configFile.length, 4095);
  assert.deepEqual(parsed.output, [{ kind: 'log', level: 'WARNING', message: 'Path to config file to long. Cutting it down to 4096 characters' }]);
});
