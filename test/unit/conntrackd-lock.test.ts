/** The LockFile: 1.4.7's O_EXCL refusal, plus our take-over of a dead owner's lock. */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { lockOwner, releaseLock, takeLock } from '../../src/conntrackd/daemon/lock-file';

function tempLock(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'ctts-lock-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'conntrackd.lock');
}

const alive = (): boolean => true;
const dead = (): boolean => false;

test('a free lock is created 0600 with our pid, and released', (t) => {
  const file = tempLock(t);
  assert.deepEqual(takeLock(file, 1234, alive), { taken: true });
  assert.equal(readFileSync(file, 'utf8'), '1234\n');
  assert.equal(statSync(file).mode & 0o777, 0o600);
  releaseLock(file);
  assert.throws(() => statSync(file), { code: 'ENOENT' });
  releaseLock(file); // already gone: fine
});

test('a lock held by a live process is refused and left alone', (t) => {
  const file = tempLock(t);
  writeFileSync(file, '999\n');
  assert.deepEqual(takeLock(file, 1234, alive), { taken: false });
  assert.equal(readFileSync(file, 'utf8'), '999\n');
});

test("a dead owner's lock is taken over, saying whose it was", (t) => {
  const file = tempLock(t);
  writeFileSync(file, '999\n');
  assert.deepEqual(takeLock(file, 1234, dead), { taken: true, staleOwner: 999 });
  assert.equal(lockOwner(file), 1234);
});

test('a lock without a pid (as 1.4.7 leaves it) is refused: nothing says whose it is', (t) => {
  const file = tempLock(t);
  writeFileSync(file, '');
  assert.deepEqual(takeLock(file, 1234, dead), { taken: false });
  writeFileSync(file, 'garbage');
  assert.deepEqual(takeLock(file, 1234, dead), { taken: false });
});

test('a lock in a missing directory is refused (1.4.7 says "exists" then too)', (t) => {
  const file = path.join(tempLock(t), 'missing', 'x.lock');
  assert.deepEqual(takeLock(file, 1234, dead), { taken: false });
});

test('processAlive decides for a real pid', async (t) => {
  const file = tempLock(t);
  writeFileSync(file, `${process.pid}\n`);
  assert.deepEqual(takeLock(file, 1), { taken: false });
});
