/**
 * ScriptSpool: what a `-R` file's check keeps for its run comes back in
 * file order, creates as the requests the library would send, other lines
 * as their words; however many records, whatever their size.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { createRequest } from '../../src/ctnetlink/requests';
import { flowToCreate } from '../../src/cli/commands/create';
import { ScriptSpool } from '../../src/cli/load-file-spool';
import { parseCommandLine } from '../../src/cli/parse';
import { OtherProblem } from '../../src/cli/problems';

const argvOf = (text: string): string[] => ['conntrack', ...text.split(' ')];

describe('-R spool', () => {
  for (const [where, limit] of [['in memory', undefined], ['in a temporary file past a small memory limit', 4096]] as const) {
    test(`records come back in order, across many reads (${where})`, () => {
      checkRoundTrip(new ScriptSpool(limit));
    });
  }

  test('a file whose records fit in memory needs no temporary file', () => {
    withoutTmpdir(() => {
      const spool = new ScriptSpool();
      for (let i = 0; i < 1000; i++) spool.add({ cmd: parseCommandLine(argvOf('-F')), argv: argvOf('-F') });
      assert.equal([...spool.steps(parseCommandLine)].length, 1000);
      spool.close();
    });
  });

  function checkRoundTrip(spool: ScriptSpool): void {
    const lines: string[] = [];
    for (let i = 0; i < 3000; i++) {
      lines.push(`-I -s 10.0.${i >> 8}.${i & 255} -d 192.0.2.1 -p tcp --sport 1 --dport 2 --state ESTABLISHED -t 60`);
      if (i % 1000 === 0) lines.push(`-A -s 10.1.0.1 -d 192.0.2.1 -p udp --sport 1 --dport 2 -t 60 -m ${i}`);
      if (i % 700 === 0) lines.push(`-D -s 10.0.0.${i % 256}`, `-U -m ${i} -p tcp --state CLOSE`);
    }
    try {
      for (const text of lines) spool.add({ cmd: parseCommandLine(argvOf(text)), argv: argvOf(text) });
      let n = 0;
      for (const step of spool.steps(parseCommandLine)) {
        const text = lines[n++]!;
        const cmd = parseCommandLine(argvOf(text));
        if (step.kind === 'command') assert.deepEqual(step.cmd, cmd, text);
        else assert.deepEqual([step.command, step.message], [cmd.command, createRequest(0, flowToCreate(cmd), true)], text);
      }
      assert.equal(n, lines.length);
    } finally {
      spool.close();
    }
  }

  test('no room for the spool: one clear line, exit 1', () => {
    withoutTmpdir((absent) => {
      const spool = new ScriptSpool(16);
      assert.throws(() => {
        for (let i = 0; i < 10; i++) spool.add({ cmd: parseCommandLine(argvOf('-F')), argv: argvOf('-F') });
      }, (e: unknown) => {
        return (
          e instanceof OtherProblem &&
          e.exitCode === 1 &&
          e.message === `cannot keep the -R lines in a temporary file in ${absent} (ENOENT); set TMPDIR`
        );
      });
    });
  });
});

/** Runs `body` with TMPDIR naming a directory that does not exist. */
function withoutTmpdir(body: (absent: string) => void): void {
  const dir = mkdtempSync(path.join(tmpdir(), 'ctts-spool-'));
  const saved = process.env.TMPDIR;
  const absent = path.join(dir, 'absent');
  process.env.TMPDIR = absent;
  try {
    body(absent);
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
    rmSync(dir, { recursive: true, force: true });
  }
}
