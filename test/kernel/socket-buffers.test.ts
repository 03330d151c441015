/**
 * forceSocketBuffers against the real kernel: with CAP_NET_ADMIN a buffer
 * goes past net.core.rmem_max / wmem_max (the kernel reports twice what was
 * asked), without it the capped size applies and says so; a socket without
 * a descriptor is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { forceSocketBuffers } from '../../src/api/socket-buffers';

const limit = (name: string): number => Number(readFileSync(`/proc/sys/net/core/${name}`, 'utf8'));

test('past rmem_max / wmem_max with CAP_NET_ADMIN: a bound UDP socket and a connected TCP socket', async (t) => {
  const receive = 2 * limit('rmem_max') + 4096;
  const send = 2 * limit('wmem_max') + 4096;
  const udp = dgram.createSocket('udp4');
  t.after(() => udp.close());
  udp.bind(0, '127.0.0.1');
  await once(udp, 'listening');
  assert.deepEqual(forceSocketBuffers(udp, { receive, send }), { receive: 2 * receive, send: 2 * send, capped: false });

  const server = net.createServer((s) => s.end());
  t.after(() => server.close());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const tcp = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  t.after(() => tcp.destroy());
  await once(tcp, 'connect');
  const got = forceSocketBuffers(tcp, { send });
  assert.equal(got.send, 2 * send);
  assert.equal(got.capped, false);
});

test('a socket not yet bound has no descriptor: a clear error', () => {
  const udp = dgram.createSocket('udp4');
  try {
    assert.throws(() => forceSocketBuffers(udp, { receive: 1 << 20 }), /no descriptor yet/);
  } finally {
    udp.close();
  }
});

test('without CAP_NET_ADMIN the buffer is capped at rmem_max and the result says so', () => {
  const asked = 2 * limit('rmem_max');
  const script = `
    const dgram = require('node:dgram');
    const { forceSocketBuffers } = require(${JSON.stringify(path.resolve(__dirname, '../../src/api/socket-buffers'))});
    const s = dgram.createSocket('udp4');
    s.bind(0, '127.0.0.1', () => { console.log(JSON.stringify(forceSocketBuffers(s, { receive: ${asked} }))); s.close(); });`;
  // An unprivileged user: no capabilities at all.
  const out = execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', script], { encoding: 'utf8' });
  const result = JSON.parse(out) as { receive: number; capped: boolean };
  assert.equal(result.capped, true);
  assert.equal(result.receive, 2 * limit('rmem_max'));
});
