/**
 * `conntrackd ARGS...`: the only place that prints the command line's
 * messages and exits. The client sends one request; the daemon runs in the
 * foreground or detaches (`-d`).
 */
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { BrokenPipe, stderr, stdout } from '../libc/output';
import { dieOf } from '../libc/signals';
import { parseArgs, type ArgsOutcome } from './cli/args';
import { CANT_CONNECT, request } from './cli/client';
import { Request } from './control/codes';
import { commitFailures } from './control/commit-report';
import { usageText, VERSION_TEXT } from './cli/usage';
import type { Config } from './config/config';
import { ConfigError, readConfig, type ParseResult } from './config/parse';
import { detach, takeDetachedChannel, type DetachedChannel } from './daemon/detach';
import { DaemonLog, type ConsoleSink } from './daemon/log';
import { runDaemon } from './daemon/run-daemon';
import { syslogSink } from './daemon/syslog';
import { systemdNotifier } from './daemon/systemd-notify';
import { createEngine, type StatsLog } from './engine';
import { openStatsLogFile } from './engine/stats-log';

/**
 * The console as 1.4.7's stdio has it: stdout buffered (a log line flushes
 * it), stderr unbuffered, so the two interleave as the C daemon's do.
 */
const processConsole: ConsoleSink = {
  out: (text) => {
    stdout.write(text);
    stdout.end();
  },
  err: (text) => {
    // What C stdio would have written by now (all of it on a terminal) goes first.
    stdout.sync();
    stderr.write(text);
  },
};

export function main(processArgv: readonly string[]): void {
  const channel = takeDetachedChannel();
  let status: number | Promise<number>;
  try {
    status = run(processArgv, channel);
  } catch (err) {
    status = failed(err);
  }
  if (typeof status === 'number') exit(status);
  else status.then(exit, (err: unknown) => exit(failed(err)));
}

/** A bug, not bad input: one line, exit 1. A reader that went away (`| head`) ends us as it ends 1.4.7's client. */
function failed(err: unknown): number {
  if (err instanceof BrokenPipe) dieOf('SIGPIPE');
  stderr.write(`internal error: ${err instanceof Error ? err.message : String(err)}\n`);
  return 1;
}

function run(processArgv: readonly string[], channel: DetachedChannel | undefined): number | Promise<number> {
  const consoleSink = channel?.console ?? processConsole;
  // Until a daemon's log is open, every line goes to the console only.
  const early = new DaemonLog({ console: consoleSink });
  const { output, outcome } = parseArgs(processArgv.slice(2));
  for (const o of output) {
    if (o.kind === 'usage') stdout.write(usageText(programName(processArgv)));
    else if (o.kind === 'version') stdout.write(VERSION_TEXT);
    else early.write(o.level, o.message);
  }
  if (outcome.kind === 'exit') return outcome.status;

  let parsed: ParseResult;
  try {
    parsed = readConfig(outcome.configFile);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    if (!channel) for (const w of err.warnings) early.write('WARNING', w);
    if (err.plain) consoleSink.err(`${err.message}\n`);
    else early.write('ERROR', err.message);
    return err.exitCode;
  }
  // The detached child reads the file again; its parent has shown the warnings already.
  if (!channel) for (const w of parsed.warnings) early.write('WARNING', w);
  return outcome.kind === 'request' ? client(outcome, parsed.config, early) : daemon(outcome, parsed, channel);
}

async function client(outcome: Extract<ArgsOutcome, { kind: 'request' }>, config: Config, log: DaemonLog): Promise<number> {
  const decoder = new StringDecoder('utf8');
  let replied = false;
  // A commit's reply is read back for its count of failures (our daemon's report).
  const committing = outcome.code === Request.CT_COMMIT || outcome.code === Request.ALL_COMMIT;
  let text = '';
  const print = (piece: string): void => {
    if (committing) text += piece;
    stdout.write(piece);
  };
  const delivered = await request(config.general.unixPath, outcome.code, (chunk) => {
    replied ||= chunk.length > 0;
    try {
      print(decoder.write(chunk));
    } catch (err) {
      failed(err);
    }
  });
  print(decoder.end());
  if (!delivered) {
    log.write('ERROR', CANT_CONNECT);
    return 1;
  }
  if (outcome.json && !replied) {
    log.write('ERROR', 'the daemon sent no JSON: it does not know this extension (conntrackd 1.4.7?)');
    return 1;
  }
  // Beyond 1.4.7 (whose client exits 0 whatever the daemon did): a commit that left entries out fails.
  return (commitFailures(text) ?? 0) > 0 ? 1 : 0;
}

function daemon(outcome: Extract<ArgsOutcome, { kind: 'daemon' }>, parsed: ParseResult, channel: DetachedChannel | undefined): Promise<number> {
  const { config } = parsed;
  const notifier = config.general.systemd ? systemdNotifier() : undefined;
  // 1.4.7's parent tells systemd which process the daemon is before it exits.
  if (outcome.detach && !channel) return detach(processConsole, (pid) => notifier?.notify(`MAINPID=${pid}`));
  // Node answers SIGUSR1 by opening its debugger on port 9229; 1.4.7 dies of it, and so do we.
  process.on('SIGUSR1', () => dieOf('SIGUSR1'));
  const facility = config.general.syslog;
  return runDaemon({
    config,
    modeWarnings: parsed.modeWarnings,
    detached: channel !== undefined,
    console: channel?.console ?? processConsole,
    createEngine: (ctx) => createEngine({ ...ctx, ...statsLogOf(config) }),
    onReady: () => channel?.ready(),
    ...(facility !== undefined && { syslog: syslogSink(facility) }),
    ...(notifier !== undefined && { notifier }),
  });
}

/**
 * Stats mode's destroyed-flow log when it also goes to syslog (INFO lines);
 * with a LogFile only, the engine opens it itself.
 */
function statsLogOf(config: Config): { statsLog?: StatsLog } {
  if (config.stats?.syslog === undefined) return {};
  // 1.4.7 opens syslog once, with General's facility; without one syslog(3) uses `user`.
  const send = syslogSink(config.general.syslog ?? 'user');
  const logFile = config.stats?.logFile;
  const file = logFile === undefined ? undefined : openStatsLogFile(logFile);
  return {
    statsLog: {
      write: (line) => {
        file?.write(line);
        send('INFO', line.slice(line.indexOf('\t') + 1));
      },
      close: () => file?.close(),
    },
  };
}

/**
 * 1.4.7 prints argv[0] in its usage. Ours is the script Node runs; its
 * name without `.js` is what a user typed when it is on PATH.
 */
function programName(argv: readonly string[]): string {
  return path.basename(argv[1] ?? 'conntrackd').replace(/\.js$/, '');
}

function exit(status: number): void {
  try {
    stdout.end();
  } catch (err) {
    failed(err);
  }
  process.exit(status);
}
