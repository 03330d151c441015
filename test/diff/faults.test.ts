/**
 * A kernel refusal the core cases do not provoke, reference vs ours: EBUSY
 * for a status bit the kernel keeps to itself. (EEXIST, ENOENT and EINVAL
 * are in core.test.ts; `-U` stops at EBUSY by design, 1.4.8's fix of D2–D4;
 * the fault classes as a whole are in test/unit/faults.test.ts and
 * test/kernel/faults.test.ts.)
 */
import { describe } from 'node:test';
import { diffCase } from './framework';

describe('kernel refusals', () => {
  const argv = '-I -s 10.9.0.1 -d 10.9.0.2 -p tcp --sport 1 --dport 2 --state ESTABLISHED -u EXPECTED -t 600';
  diffCase({ name: `EBUSY: a status bit only the kernel sets: conntrack ${argv}`, argv: argv.split(' ') });
});
