/**
 * The reply to a commit request (`-c`), beyond 1.4.7, which replies
 * nothing: one line with how many entries went into the kernel table and
 * how many failed. The daemon writes it; our client prints it like any
 * reply and exits 1 when it counts failures. A 1.4.7 client prints it too.
 */

export function commitReport(committed: number, failed: number): string {
  return `commit: ${committed} entries committed, ${failed} failed\n`;
}

/** How many entries a commit reply says failed; undefined when it holds no report (a 1.4.7 daemon's). */
export function commitFailures(reply: string): number | undefined {
  const m = /^commit: \d+ entries committed, (\d+) failed$/m.exec(reply);
  return m ? Number(m[1]) : undefined;
}
