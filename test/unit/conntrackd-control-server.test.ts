/**
 * The control socket's framing, with a fake engine: a request code split
 * across writes, extra bytes, a client that leaves early, KILL, a failing
 * handler, a stale socket file.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { Request } from '../../src/conntrackd/control/codes';
import { ControlServer, type ControlHandlers } from '../../src/conntrackd/daemon/control-server';

interface Recorder extends ControlHandlers {
  codes: number[];
  kills: number;
  errors: unknown[];
}

function recorder(reply = (code: number) => `reply ${code}\n`): Recorder {
  const r: Recorder = {
    codes: [],
    kills: 0,
    errors: [],
    handle: async (code, socket) => {
      r.codes.push(code);
      if (code === 666) throw new Error('engine bug');
      socket.write(reply(code));
    },
    onKill: () => void r.kills++,
    onError: (err) => void r.errors.push(err),
  };
  return r;
}

async function serve(t: TestContext, handlers: ControlHandlers): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'ctd-ctl-'));
  const socketPath = path.join(dir, 'ctl.sock');
  writeFileSync(socketPath, 'stale');
  const server = await ControlServer.listen(socketPath, handlers);
  t.after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return socketPath;
}

/** Writes each piece (a pause between them), optionally half-closes, and resolves with the reply at close. */
function exchange(socketPath: string, pieces: Buffer[], end = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const conn: Socket = connect(socketPath, async () => {
      for (const p of pieces) {
        conn.write(p);
        await new Promise((r) => setTimeout(r, 20));
      }
      if (end) conn.end();
    });
    conn.on('data', (b: Buffer) => chunks.push(b));
    conn.on('error', reject);
    conn.on('close', () => resolve(Buffer.concat(chunks).toString()));
  });
}

const code = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32LE(n);
  return b;
};

test('a code split across writes is read whole; bytes after it are ignored', async (t) => {
  const r = recorder();
  const socketPath = await serve(t, r);
  const c = code(Request.STATS_RUNTIME);
  assert.equal(await exchange(socketPath, [c.subarray(0, 1), c.subarray(1, 3), c.subarray(3)]), 'reply 30\n');
  assert.equal(await exchange(socketPath, [Buffer.concat([code(Request.STATS), Buffer.from('junk')])]), 'reply 21\n');
  assert.deepEqual(r.codes, [30, 21]);
});

test('a client that sends fewer than 4 bytes and half-closes, or just leaves, gets nothing and changes nothing', async (t) => {
  const r = recorder();
  const socketPath = await serve(t, r);
  assert.equal(await exchange(socketPath, [Buffer.from([21, 0])], true), '');
  await new Promise<void>((resolve) => {
    const conn = connect(socketPath, () => conn.destroy());
    conn.on('close', () => resolve());
  });
  assert.equal(await exchange(socketPath, [code(Request.STATS)]), 'reply 21\n');
  assert.deepEqual(r.codes, [21]);
});

test('KILL goes to the shell, never to the engine; a failing handler is reported and the connection closed', async (t) => {
  const r = recorder();
  const socketPath = await serve(t, r);
  assert.equal(await exchange(socketPath, [code(Request.KILL)]), '');
  assert.equal(r.kills, 1);
  assert.equal(await exchange(socketPath, [code(666)]), '');
  assert.equal((r.errors[0] as Error).message, 'engine bug');
  assert.deepEqual(r.codes, [666]);
});

test('a stale file at the path is replaced by the socket; its mode follows the umask (0177 in the daemon)', async (t) => {
  const old = process.umask(0o177);
  t.after(() => void process.umask(old));
  const socketPath = await serve(t, recorder());
  const st = statSync(socketPath);
  assert.ok(st.isSocket());
  assert.equal(st.mode & 0o777, 0o600);
});
