/**
 * Hostile traffic for a conntrackd sync port: random, truncated, oversized,
 * replayed and mutated datagrams (UDP), or the same as a TCP byte stream cut
 * at random places, over connections that are dropped and made again.
 * Seeded: the same seed sends the same bytes.
 *
 *   node dist/tools/sync-fuzz.js --to ADDR --port PORT [--count N] [--seed S]
 *       [--tcp] [--from ADDR]
 *
 * `--from` binds the source address (the peer's, to get past the daemon's
 * sender check; another, to be dropped as foreign). The flows of the valid
 * messages it replays live in 198.18.0.0/15, so that a test can tell them
 * from the real ones. Prints one line: how many inputs of each kind went
 * out. Sends only to the address given: run it inside a test namespace.
 */
import dgram from 'node:dgram';
import { once } from 'node:events';
import net from 'node:net';
import { parseArgs } from 'node:util';
import type { Flow } from '../src/ctnetlink/flow';
import { MessageFlag, MessageType } from '../src/conntrackd/sync/header';
import { encodeMessage, type SyncMessage } from '../src/conntrackd/sync/message';
import { seededRandom } from '../test/unit/ctnetlink-fixtures';

/** The largest UDP payload over IPv4. */
const MAX_DATAGRAM = 65507;
/** Datagrams in flight before waiting for the socket. */
const WINDOW = 64;
/** Inputs per TCP connection before it is closed and made again. */
const PER_CONNECTION = 500;

export const KINDS = ['random', 'truncated', 'oversized', 'replayed', 'mutated'] as const;
export type Kind = (typeof KINDS)[number];

/** Valid messages of every type, to replay and damage. */
function validMessages(random: () => number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < 64; i++) {
    const flow: Flow = {
      family: 2,
      orig: { l3: 2, src: `198.18.${i}.1`, dst: `198.19.${i}.2`, proto: i % 2 ? 17 : 6, sport: 1024 + i, dport: 80 },
      reply: {},
      status: 8,
      timeout: 300,
      ...(i % 2 ? {} : { tcp: { state: 3 } }),
      ...(i % 3 ? {} : { mark: i }),
    };
    const seq = Math.floor(random() * 2 ** 32);
    const flags = [0, MessageFlag.HELLO, MessageFlag.HELLO_BACK][i % 3]!;
    out.push(encodeMessage({ type: (i % 3) as MessageType.CT_NEW, flags, seq, flow } as SyncMessage));
  }
  for (const flags of [MessageFlag.ACK, MessageFlag.NACK, MessageFlag.RESYNC, MessageFlag.ALIVE, MessageFlag.ALIVE | MessageFlag.HELLO]) {
    const from = Math.floor(random() * 2 ** 32);
    out.push(encodeMessage({ type: MessageType.CTL, flags, seq: Math.floor(random() * 2 ** 32), from, to: (from + 10) >>> 0 }));
  }
  return out;
}

/** Makes the inputs: `next()` is one hostile datagram (or stream piece) and its kind. */
export class HostileInputs {
  private readonly random: () => number;
  private readonly valid: Buffer[];

  constructor(seed: number) {
    this.random = seededRandom(seed);
    this.valid = validMessages(this.random);
  }

  next(): { kind: Kind; bytes: Buffer } {
    const kind = KINDS[this.int(KINDS.length)]!;
    return { kind, bytes: this.make(kind) };
  }

  private int(n: number): number {
    return Math.floor(this.random() * n);
  }

  private bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }

  private pick(): Buffer {
    return this.valid[this.int(this.valid.length)]!;
  }

  private make(kind: Kind): Buffer {
    switch (kind) {
      case 'random':
        return this.bytes(this.int(1500));
      case 'truncated': {
        const b = this.pick();
        return b.subarray(0, this.int(b.length));
      }
      case 'oversized': {
        // Valid messages past any MTU, or a valid one whose length field lies, padded to the limit.
        if (this.random() < 0.5) {
          const parts: Buffer[] = [];
          for (let n = 0; n < 1500 + this.int(MAX_DATAGRAM - 1500); n += parts.at(-1)!.length) parts.push(this.pick());
          return Buffer.concat(parts).subarray(0, MAX_DATAGRAM);
        }
        const b = Buffer.concat([this.pick(), Buffer.alloc(this.int(MAX_DATAGRAM - 200), this.int(256))]);
        b.writeUInt16BE(this.int(0x10000), 2);
        return b;
      }
      case 'replayed':
        return this.pick();
      case 'mutated': {
        const b = Buffer.from(this.pick());
        for (let n = 1 + this.int(8); n > 0; n--) b[this.int(b.length)] = this.int(256);
        return b;
      }
    }
  }
}

export interface FuzzOptions {
  to: string;
  port: number;
  count: number;
  seed: number;
  tcp: boolean;
  from?: string;
}

/** Sends `count` hostile inputs; resolves with how many of each kind went out. */
export async function fuzz(o: FuzzOptions): Promise<Record<Kind, number>> {
  const inputs = new HostileInputs(o.seed);
  const sent = Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<Kind, number>;
  if (o.tcp) await fuzzTcp(o, inputs, sent);
  else await fuzzUdp(o, inputs, sent);
  return sent;
}

async function fuzzUdp(o: FuzzOptions, inputs: HostileInputs, sent: Record<Kind, number>): Promise<void> {
  const socket = dgram.createSocket(net.isIPv6(o.to) ? 'udp6' : 'udp4');
  socket.on('error', () => {});
  socket.bind(0, o.from);
  await once(socket, 'listening');
  let inFlight = 0;
  let drained: (() => void) | undefined;
  for (let i = 0; i < o.count; i++) {
    const { kind, bytes } = inputs.next();
    sent[kind]++;
    inFlight++;
    // An ICMP port unreachable or a full buffer fails one send; the next go on.
    socket.send(bytes, o.port, o.to, () => {
      inFlight--;
      drained?.();
    });
    if (inFlight >= WINDOW) await new Promise<void>((resolve) => (drained = resolve));
    drained = undefined;
  }
  while (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve));
  socket.close();
}

async function fuzzTcp(o: FuzzOptions, inputs: HostileInputs, sent: Record<Kind, number>): Promise<void> {
  for (let i = 0; i < o.count; ) {
    const socket = net.connect({ host: o.to, port: o.port, localAddress: o.from });
    socket.on('error', () => {});
    const up = await once(socket, 'connect').then(() => true, () => false);
    if (!up) {
      // Refused or reset (the daemon closes a foreign connection at once): each attempt is one input.
      sent.random++;
      i++;
      socket.destroy();
      continue;
    }
    for (let n = 0; n < PER_CONNECTION && i < o.count; n++, i++) {
      const { kind, bytes } = inputs.next();
      sent[kind]++;
      // The daemon may reset the connection at any time (a reset ends the wait with an error).
      if (!socket.write(bytes)) await Promise.race([once(socket, 'drain'), once(socket, 'close')]).catch(() => undefined);
      if (socket.destroyed) break;
    }
    socket.destroy();
  }
}

function main(): void {
  const { values } = parseArgs({
    options: {
      to: { type: 'string' },
      port: { type: 'string' },
      count: { type: 'string', default: '1000000' },
      seed: { type: 'string', default: '1' },
      tcp: { type: 'boolean', default: false },
      from: { type: 'string' },
    },
  });
  if (values.to === undefined || values.port === undefined) {
    process.stderr.write('usage: sync-fuzz.js --to ADDR --port PORT [--count N] [--seed S] [--tcp] [--from ADDR]\n');
    process.exit(2);
  }
  const options: FuzzOptions = { to: values.to, port: Number(values.port), count: Number(values.count), seed: Number(values.seed), tcp: values.tcp!, from: values.from };
  const started = process.hrtime.bigint();
  fuzz(options).then(
    (sent) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const total = KINDS.reduce((sum, k) => sum + sent[k], 0);
      process.stdout.write(`sent ${total} inputs in ${seconds.toFixed(1)} s: ${KINDS.map((k) => `${k}=${sent[k]}`).join(' ')}\n`);
    },
    (err: unknown) => {
      process.stderr.write(`sync-fuzz: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}

if (require.main === module) main();
