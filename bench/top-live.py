#!/usr/bin/env python3
"""The live view under load: key latency and CPU of `conntrack-top` on a big table.

    python3 bench/top-live.py NETNS [SECONDS [KEY_EVERY]] [-- ARGS...]

Runs `node bin/conntrack-top.js --netns NETNS ARGS` (default ARGS: --group-by src)
in a pseudo-terminal of 160x40, waits for the first screen with the table read,
then for SECONDS (default 60) presses `r` (reverse) every KEY_EVERY seconds
(default 1.7, so presses fall at every point of the refresh cycle, dumps
included) and times each press until a frame showing the new order arrives.
CPU is the process's user+system time (all its threads: the receiving thread
too) over the same window, as a share of one core. Prints one line per metric.
bench/top.sh runs it on its million-entry table; it runs alone on any table.
"""
import fcntl
import os
import pty
import re
import select
import struct
import sys
import termios
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROWS, COLS = 40, 160
HEADER = re.compile(rb"sort \w+( \(reversed\))?   filter")


def clock_ticks(pid):
    """utime + stime of every thread of pid, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Screen:
    """The pty's output as it arrives (bytes since `mark()`)."""

    def __init__(self, fd):
        self.fd = fd
        self.seen = b""

    def pump(self, until):
        """Reads until the deadline `until` (a monotonic time)."""
        while True:
            left = until - time.monotonic()
            if left <= 0:
                return
            ready, _, _ = select.select([self.fd], [], [], left)
            if not ready:
                return
            try:
                chunk = os.read(self.fd, 1 << 16)
            except OSError:
                raise SystemExit("top-live: conntrack-top exited:\n" + self.seen[-2000:].decode("utf8", "replace"))
            self.seen = (self.seen + chunk)[-(1 << 20):]

    def wait(self, ok, deadline_s):
        """Waits until ok(bytes) is true; returns the seconds it took, None at the deadline."""
        start = time.monotonic()
        while time.monotonic() - start < deadline_s:
            if ok(self.seen):
                return time.monotonic() - start
            self.pump(time.monotonic() + 0.002)
        return None


def main():
    args = sys.argv[1:]
    extra = ["--group-by", "src"]
    if "--" in args:
        at = args.index("--")
        args, extra = args[:at], args[at + 1:]
    if not args:
        raise SystemExit(__doc__)
    netns = args[0]
    seconds = float(args[1]) if len(args) > 1 else 60.0
    every = float(args[2]) if len(args) > 2 else 1.7

    pid, fd = pty.fork()
    if pid == 0:
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        os.execvp("node", ["node", os.path.join(ROOT, "bin", "conntrack-top.js"), "--netns", netns, *extra])
    screen = Screen(fd)
    started = time.monotonic()
    first = screen.wait(lambda b: b"ENTRIES" in b and b"reading the table" not in b.rsplit(b"\x1b[H", 1)[-1], 300)
    if first is None:
        raise SystemExit("top-live: no screen with the table within 300 s")
    print(f"first screen: {time.monotonic() - started:.2f} s")

    cpu0, t0 = clock_ticks(pid), time.monotonic()
    latencies, missed, reversed_ = [], 0, False
    while time.monotonic() - t0 < seconds:
        screen.pump(time.monotonic() + every)
        screen.seen = b""
        os.write(fd, b"r")
        reversed_ = not reversed_
        want = reversed_

        def answered(b):
            found = HEADER.findall(b)
            return bool(found) and (found[-1] != b"") == want

        took = screen.wait(answered, 10)
        if took is None:
            missed += 1
        else:
            latencies.append(took * 1000)
    cpu = (clock_ticks(pid) - cpu0) / (time.monotonic() - t0)
    rss = peak_rss_mb(pid)
    os.write(fd, b"q")
    os.waitpid(pid, 0)

    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else float("nan")
    print(f"key presses: {len(latencies)} answered, {missed} unanswered within 10 s")
    print(f"key latency ms: p50 {pick(0.5):.0f}  p95 {pick(0.95):.0f}  max {latencies[-1] if latencies else float('nan'):.0f}")
    print(f"CPU: {cpu:.2f} cores on average over {seconds:.0f} s")
    print(f"peak RSS MB: {rss:.0f}")


if __name__ == "__main__":
    main()
