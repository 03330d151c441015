#!/usr/bin/env bash
# "Who floods us": the 10 sources with the most entries in a table of N
# entries, by `conntrack-top --once --group-by src --top 10` and by the
# pipeline operators type today over the reference conntrack 1.4.7:
#   conntrack -L | awk (the first src=) | sort | uniq -c | sort -rn | head
# Wall time, CPU time (user+system, all processes and threads) and peak RSS
# (the pipeline's: its largest process) of each, median of RUNS with the two
# commands alternating (so a shared machine's load falls on both alike), and
# ours/reference ratios of wall and CPU. With CTDUMP (a program that dumps the
# table and discards it, e.g. bench-kit's ctdump) the kernel's floor too: the
# dump alone, which both commands pay. Then the live view on the same table
# (bench/top-live.py: key latency while it refreshes, CPU in cores), unless
# LIVE_SECONDS=0. The table is filled through our library (bench/fill.ts) in a
# throw-away namespace. Never run in CI.
#
#   sudo bash bench/top.sh [N]   (default 1000000; RUNS=5, LIVE_SECONDS=60, CTDUMP unset)
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
RUNS="${RUNS:-5}"
LIVE_SECONDS="${LIVE_SECONDS:-60}"
N="${1:-1000000}"

bench_init bench/top.sh ctbench-top dist/conntrack.bundle.js dist/bench/fill.js
command -v python3 >/dev/null || { echo "bench/top.sh: needs python3" >&2; exit 1; }
[[ -x /usr/bin/time ]] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null

bench_save_limits
trap bench_cleanup EXIT INT TERM

((N > SAVED_MAX)) && echo "$N" >$SYS/nf_conntrack_max
((N > SAVED_BUCKETS)) && echo "$N" >$SYS/nf_conntrack_buckets
ip netns add "$NS"
log "filling $N entries"
ip netns exec "$NS" node "$ROOT/dist/bench/fill.js" "$NS" "$N" >/dev/null
log "table: $(ip netns exec "$NS" cat $SYS/nf_conntrack_count) entries"

OURS_CMD="node $ROOT/bin/conntrack-top.js --once --group-by src --top 10"
REF_CMD="$REF -L 2>/dev/null | awk '{ for (i = 1; i <= NF; i++) if (\$i ~ /^src=/) { print substr(\$i, 5); break } }' | sort | uniq -c | sort -rn | head"

# One run, appended to $TMP/LABEL: "wall cpu rss_mb" (GNU time over sh -c: children's CPU is included, RSS is the largest process).
once() { # label shell-command
  /usr/bin/time -f '%e %U %S %M' -o "$TMP/time" ip netns exec "$NS" sh -c "$2" >"$TMP/out.$1" 2>&1
  awk '{ printf "%.2f %.2f %.0f\n", $1, $2 + $3, $4 / 1024 }' "$TMP/time" >>"$TMP/runs.$1"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
column() { cut -d' ' -f"$2" "$TMP/runs.$1" | median; } # label field: the median of one field

labels=(ours ref)
declare -A NAME=([ours]=conntrack-top [ref]="1.4.7 pipeline" [floor]="kernel dump alone (CTDUMP)")
declare -A CMD=([ours]="$OURS_CMD" [ref]="$REF_CMD")
if [[ -n ${CTDUMP:-} ]]; then
  labels+=(floor)
  CMD[floor]="$CTDUMP"
fi
for ((i = 0; i < RUNS; i++)); do
  for label in "${labels[@]}"; do once "$label" "${CMD[$label]}"; done
done
for label in ours ref; do
  log "${NAME[$label]} answer:"
  head -3 "$TMP/out.$label" >&2
done

echo "| $N entries, median of $RUNS | wall s | CPU s | peak RSS MB |"
echo "|---|---:|---:|---:|"
for label in "${labels[@]}"; do
  echo "| ${NAME[$label]} | $(column "$label" 1) | $(column "$label" 2) | $(column "$label" 3) |"
done
awk -v a="$(column ours 1)" -v b="$(column ref 1)" -v c="$(column ours 2)" -v d="$(column ref 2)" \
  'BEGIN { printf "ratio ours / 1.4.7 pipeline: wall %.2f, CPU %.2f\n", a / b, c / d }'
echo "load average during the runs: $(cut -d' ' -f1-3 /proc/loadavg)"

if ((LIVE_SECONDS > 0)); then
  log "live view: ${LIVE_SECONDS} s of key presses"
  python3 "$ROOT/bench/top-live.py" "$NS" "$LIVE_SECONDS"
fi
