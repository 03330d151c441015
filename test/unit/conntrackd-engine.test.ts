import { strict as assert } from 'node:assert';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { Request } from '../../src/conntrackd/control/codes';
import type { Engine } from '../../src/conntrackd/daemon/contract';
import { createEngine } from '../../src/conntrackd/engine/index';
import { generalDefaults } from './conntrackd-fixtures';

async function ask(engine: Engine, request: Request): Promise<string> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (b: Buffer) => (text += b.toString()));
  await engine.handle(request, out);
  out.end();
  return text;
}

describe('conntrackd engine with no mode (neither Sync nor Stats)', () => {
  it('opens no kernel socket and answers only -s runtime, as 1.4.7', async () => {
    const logs: string[] = [];
    // A namespace that does not exist: any kernel socket would fail to open.
    const engine = createEngine({ config: { general: generalDefaults() }, netns: '/nonexistent/netns', log: { write: (_, m) => logs.push(m) } });
    await engine.start();
    for (const request of [Request.CT_DUMP_INTERNAL, Request.CT_DUMP_INT_XML, Request.CT_DUMP_EXTERNAL, Request.STATS, Request.STATS_CACHE, Request.CT_FLUSH_MASTER, Request.CT_RESYNC_MASTER, Request.CT_FLUSH_INT_CACHE, Request.RESET_TIMERS]) {
      assert.equal(await ask(engine, request), '', Request[request]);
    }
    const runtime = await ask(engine, Request.STATS_RUNTIME);
    assert.match(runtime, /^daemon uptime: 0 min\n/);
    assert.match(runtime, /current buffer size \(in bytes\):\s+0\n/);
    assert.deepEqual(logs, []);
    await engine.stop();
  });
});
