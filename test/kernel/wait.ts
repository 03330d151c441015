/** Polling for kernel tests: the kernel and the code under test settle on their own time. */

/** Waits until `done()` holds, at most `ms`; returns whether it did. */
export async function until(done: () => boolean | Promise<boolean>, ms = 10_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await done()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
