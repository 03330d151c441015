#!/usr/bin/env bash
# conntrack-exporter on a table of N entries: how long the first count takes
# (the start-up dump), then the latency of SCRAPES scrapes of /metrics (curl's
# time_total: median, 90th percentile, max) and the exporter's CPU time per
# scrape (utime+stime of its process, from /proc, over all scrapes). A scrape
# reads the live counts and never dumps the table: the target is <= 50 ms at
# 1,000,000 entries. Reconciling dumps are set RECONCILE seconds apart
# (default 3600, so none falls among the scrapes): their cost is the first
# count's, printed first, and a scrape that meets one waits for at most one
# receive burst of it. The table is filled through our library (bench/fill.ts)
# in a throw-away namespace; the exporter runs and listens inside it. Never
# run in CI.
#
#   sudo bash bench/exporter.sh [N]     (default 1000000; SCRAPES=20, TOP=10 top sources, RECONCILE=3600)
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
N="${1:-1000000}"
SCRAPES="${SCRAPES:-20}"
TOP="${TOP:-10}"
RECONCILE="${RECONCILE:-3600}"
PORT=9466
URL="http://127.0.0.1:$PORT/metrics"

bench_init bench/exporter.sh ctbench-exporter dist/conntrack.bundle.js dist/bench/fill.js
command -v curl >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null

bench_save_limits
EXPORTER_PID=""
cleanup() {
  [[ -z $EXPORTER_PID ]] || kill "$EXPORTER_PID" 2>/dev/null || true
  bench_cleanup
}
trap cleanup EXIT INT TERM

((N > SAVED_MAX)) && echo "$N" >$SYS/nf_conntrack_max
((N > SAVED_BUCKETS)) && echo "$N" >$SYS/nf_conntrack_buckets
ip netns add "$NS"
ip -n "$NS" link set lo up
log "filling $N entries"
ip netns exec "$NS" node "$ROOT/dist/bench/fill.js" "$NS" "$N" >/dev/null
log "table: $(ip netns exec "$NS" cat $SYS/nf_conntrack_count) entries"

in_ns() { ip netns exec "$NS" "$@"; }
started=$(date +%s.%N)
in_ns node "$ROOT/bin/conntrack-exporter.js" --web.listen-address=127.0.0.1:$PORT --collector.top-sources="$TOP" --reconcile.interval="$RECONCILE" 2>"$TMP/exporter.log" &
EXPORTER_PID=$!
until in_ns curl -sf "$URL" 2>/dev/null | grep -q '^conntrack_exporter_counts_synced{netns=""} 1$'; do
  kill -0 "$EXPORTER_PID" 2>/dev/null || { cat "$TMP/exporter.log" >&2; exit 1; }
  sleep 0.2
done
synced=$(date +%s.%N)
node_pid=$(pgrep -P "$EXPORTER_PID" -f conntrack-exporter || echo "$EXPORTER_PID")
in_ns curl -sf "$URL" >"$TMP/metrics"
log "first counts after $(awk -v a="$started" -v b="$synced" 'BEGIN { printf "%.2f", b - a }') s; $(wc -c <"$TMP/metrics") bytes, $(grep -vc '^#' "$TMP/metrics") samples"
grep -E '^conntrack_entries(_by_state)?\{|^conntrack_exporter_last_reconcile_duration' "$TMP/metrics" >&2

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$node_pid/stat"; }
before=$(cpu_ticks)
: >"$TMP/times"
for ((i = 0; i < SCRAPES; i++)); do
  in_ns curl -s -o /dev/null -w '%{time_total}\n' "$URL" >>"$TMP/times"
done
after=$(cpu_ticks)
hz=$(getconf CLK_TCK)
sort -n "$TMP/times" | awk -v n="$N" -v s="$SCRAPES" -v cpu="$((after - before))" -v hz="$hz" '
  { v[NR] = $1 * 1000 }
  END {
    printf "| %d entries, %d scrapes | median ms | p90 ms | max ms | exporter CPU ms/scrape |\n", n, s
    print "|---|---:|---:|---:|---:|"
    printf "| conntrack-exporter | %.1f | %.1f | %.1f | %.1f |\n", v[int((NR + 1) / 2)], v[int(NR * 0.9 + 0.5)], v[NR], cpu * 1000 / hz / s
  }'
