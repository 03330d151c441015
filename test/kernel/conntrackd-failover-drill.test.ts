import assert from 'node:assert/strict';
import { test } from 'node:test';
import { drill } from './conntrackd-sync-bed';

/*
 * The fail-over drill in short (bench/failover-drill.sh runs 10,000
 * connections against the C pair): 200 live TCP connections through our
 * primary, the primary killed with SIGKILL and cut off, our backup made
 * primary by primary-backup.sh; every connection goes on.
 */
test('fail-over drill: 200 live connections survive SIGKILL of our primary', async (t) => {
  const r = await drill(t, ['ours', 'ours'], 200);
  assert.deepEqual({ replicated: r.replicated, survived: r.survived, closed: r.closed, silent: r.silent }, { replicated: 200, survived: 200, closed: 0, silent: 0 }, JSON.stringify(r));
});
