/**
 * The checked lines of a `-R` file, kept between the check and the run.
 * 1.4.7 parses every line before it runs any; we parse each
 * line once, and hold neither the file nor its parsed lines in memory: each
 * line leaves a compact record, kept in memory up to MEMORY_LIMIT bytes (a
 * 100,000-line file fits) and beyond that in an unlinked temporary file,
 * so that any file runs in bounded memory. A `-I`/`-A` line
 * leaves its create request, encoded, so that the run only streams bytes to
 * the kernel; any other line leaves its words, parsed again when its turn
 * comes (such lines are few, and each runs alone).
 *
 * A record is a 5-byte header (kind, then the payload length, u32 LE) and
 * its payload.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmdirSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateEncoder } from '../ctnetlink/requests';
import { flowToCreate } from './commands/create';
import type { Flow } from '../ctnetlink/flow';
import type { CheckedLine, CommandLine } from './parse';
import { OtherProblem } from './problems';

const enum RecordKind {
  WORDS = 0,
  CREATE = 1,
  ADD = 2,
}

const HEADER = 5;
/** Bytes per write(2) and read(2). */
const CHUNK = 64 * 1024;
/** Records kept in memory at most before they go to a temporary file. */
const MEMORY_LIMIT = 16 * 1024 * 1024;

/** A `-I`/`-A` line: its create request (sequence number 0), valid until the next step. */
export interface ScriptCreate {
  readonly kind: 'create';
  command: 'CT_CREATE' | 'CT_ADD';
  message: Buffer;
}

/** Any other line, parsed. */
export interface ScriptCommand {
  readonly kind: 'command';
  readonly cmd: CommandLine;
}

export type ScriptStep = ScriptCreate | ScriptCommand;

export class ScriptSpool {
  /** Opened when the records outgrow memoryLimit: a file that fits needs no TMPDIR. */
  private fd: number | undefined;
  private buf = Buffer.allocUnsafe(CHUNK);
  /** Bytes of buf not written yet. */
  private used = 0;
  /** Bytes written to the file. */
  private size = 0;
  private readonly encoder = new CreateEncoder();

  constructor(private readonly memoryLimit = MEMORY_LIMIT) {}

  /** Keeps a checked line (argv[0] = program name). */
  add(line: CheckedLine): void {
    if ('flow' in line) return this.addCreate(line.command, line.flow);
    const { cmd, argv } = line;
    if (cmd.command === 'CT_CREATE' || cmd.command === 'CT_ADD') this.addCreate(cmd.command, flowToCreate(cmd));
    else this.append(RecordKind.WORDS, Buffer.from(argv.join('\0')));
  }

  private addCreate(command: 'CT_CREATE' | 'CT_ADD', flow: Flow): void {
    // Exclusive for -A too: see create.ts, and the undo of load-file-run.ts.
    this.append(command === 'CT_ADD' ? RecordKind.ADD : RecordKind.CREATE, this.encoder.encode(flow, true));
  }

  /** The lines in file order; `parse` parses the words of a line that is not `-I`/`-A`. */
  *steps(parse: (argv: string[]) => CommandLine): Generator<ScriptStep> {
    // Records still in memory are read from there; a file is read from its start.
    if (this.fd !== undefined) this.flush();
    const create: ScriptCreate = { kind: 'create', command: 'CT_CREATE', message: this.buf };
    let position = 0;
    let start = 0;
    let end = this.used;
    for (;;) {
      const length = end - start >= HEADER ? this.buf.readUInt32LE(start + 1) : -1;
      if (length < 0 || end - start < HEADER + length) {
        if (position === this.size) return;
        const n = this.refill(start, end, position, length);
        position += n;
        end += n - start;
        start = 0;
        continue;
      }
      const kind = this.buf[start]! as RecordKind;
      const payload = this.buf.subarray(start + HEADER, start + HEADER + length);
      start += HEADER + length;
      if (kind === RecordKind.WORDS) {
        yield { kind: 'command', cmd: parse(payload.toString().split('\0')) };
      } else {
        create.command = kind === RecordKind.ADD ? 'CT_ADD' : 'CT_CREATE';
        create.message = payload;
        yield create;
      }
    }
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
  }

  private append(kind: RecordKind, payload: Buffer): void {
    const size = HEADER + payload.length;
    if (this.fd === undefined && this.used + size > this.memoryLimit) {
      this.fd = openSpool();
      this.flush();
    } else if (this.used + size > this.buf.length) {
      // Straight to the limit, not by doubling: the pages of an unwritten
      // allocation take no memory, and no copy of the records is ever made.
      if (this.fd === undefined) this.grow(this.memoryLimit);
      else this.flush();
    }
    if (size > this.buf.length) this.buf = Buffer.allocUnsafe(size);
    const at = this.used;
    this.buf[at] = kind;
    this.buf.writeUInt32LE(payload.length, at + 1);
    // set(), not copy(): copy() costs a microsecond per call in validation and views.
    this.buf.set(payload, at + HEADER);
    this.used += size;
  }

  private grow(length: number): void {
    const bigger = Buffer.allocUnsafe(length);
    this.buf.copy(bigger, 0, 0, this.used);
    this.buf = bigger;
  }

  private flush(): void {
    try {
      for (let at = 0; at < this.used; ) at += writeSync(this.fd!, this.buf, at, this.used - at, this.size + at);
    } catch (e) {
      throw spoolProblem(e);
    }
    this.size += this.used;
    this.used = 0;
  }

  /**
   * Moves buf[start, end) to the front and reads on from `position` after
   * it; returns the bytes read. Grows buf for a record longer than it.
   */
  private refill(start: number, end: number, position: number, recordLength: number): number {
    const needed = HEADER + Math.max(recordLength, 0);
    if (needed > this.buf.length) {
      const bigger = Buffer.allocUnsafe(needed);
      this.buf.copy(bigger, 0, start, end);
      this.buf = bigger;
    } else {
      this.buf.copyWithin(0, start, end);
    }
    const free = end - start;
    const n = readSync(this.fd!, this.buf, free, Math.min(this.buf.length - free, this.size - position), position);
    if (n === 0) throw new OtherProblem('internal error: the -R spool ended early');
    return n;
  }
}

/** A temporary file nobody else can open: unlinked as soon as it exists. */
function openSpool(): number {
  try {
    const dir = mkdtempSync(path.join(tmpdir(), 'conntrack-R-'));
    try {
      const file = path.join(dir, 'input');
      const fd = openSync(file, 'wx+', 0o600);
      unlinkSync(file);
      return fd;
    } finally {
      rmdirSync(dir);
    }
  } catch (e) {
    throw spoolProblem(e);
  }
}

/** 1.4.7 keeps the parsed lines in memory; we need room in TMPDIR instead, and say so when there is none. */
function spoolProblem(e: unknown): OtherProblem {
  const reason = (e as NodeJS.ErrnoException).code ?? String(e);
  return new OtherProblem(`cannot keep the -R lines in a temporary file in ${tmpdir()} (${reason}); set TMPDIR`);
}
