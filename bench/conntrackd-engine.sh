#!/bin/bash
# conntrackd start-up on a table of N entries (default 100 000): the C
# daemon's (until `-s` counts them all) against our engine's (in-process,
# bench/conntrackd-engine.ts), alternately, and our RSS.
#   bench/conntrackd-engine.sh [N] [ROUNDS]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init bench/conntrackd-engine.sh ctdbench dist/bench/fill.js dist/bench/conntrackd-engine.js
N=${1:-100000}
ROUNDS=${2:-3}
trap 'ip netns del "$NS" 2>/dev/null; rm -rf "$TMP"' EXIT
ip netns add "$NS"
node "$ROOT/dist/bench/fill.js" "$NS" "$N" >&2
cat > "$TMP/c.conf" <<CONF
General {
  LockFile $TMP/c.lock
  UNIX { Path $TMP/c.sock }
  Systemd off
}
Stats {
}
CONF
for ((round = 1; round <= ROUNDS; round++)); do
  start=$(date +%s%N)
  ip netns exec "$NS" /usr/sbin/conntrackd -C "$TMP/c.conf" >/dev/null 2>&1 &
  pid=$! # ip netns exec execs the daemon: the same process
  until /usr/sbin/conntrackd -C "$TMP/c.conf" -s 2>/dev/null | grep -q "connections:.* $N\$"; do sleep 0.01; done
  end=$(date +%s%N)
  rss=$(ps -o rss= -p "$pid")
  # utime + stime in clock ticks (fields 14 and 15 of /proc/PID/stat).
  ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  log "C: start-up $(((end - start) / 1000000)) ms (exec included; CPU $((ticks * 1000 / $(getconf CLK_TCK))) ms), RSS $((rss / 1024)) MiB"
  /usr/sbin/conntrackd -C "$TMP/c.conf" -k >/dev/null
  wait
  log "ours: $(node "$ROOT/dist/bench/conntrackd-engine.js" "$NS")"
done
