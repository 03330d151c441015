#!/usr/bin/env bash
# "Who floods us": the 10 sources with the most entries in a table of N
# entries, by `conntrack-top --once --group-by src --top 10` and by the
# pipeline operators type today over the reference conntrack 1.4.7:
#   conntrack -L | awk (the first src=) | sort | uniq -c | sort -rn | head
# Wall time, CPU time and peak RSS (the pipeline's: its largest process) of
# each, median of RUNS, and ours/reference ratio. The table is filled through
# our library (bench/fill.ts) in a throw-away namespace. Never run in CI.
#
#   sudo bash bench/top.sh [N]        (default 1000000; RUNS=3)
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
RUNS="${RUNS:-3}"
N="${1:-1000000}"

bench_init bench/top.sh ctbench-top dist/conntrack.bundle.js dist/bench/fill.js
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

# One run: "wall cpu rss_mb" (GNU time over sh -c: children's CPU is included, RSS is the largest process).
once() { # shell-command
  /usr/bin/time -f '%e %U %S %M' -o "$TMP/time" ip netns exec "$NS" sh -c "$1" >"$TMP/out" 2>&1
  awk '{ printf "%.2f %.2f %.0f\n", $1, $2 + $3, $4 / 1024 }' "$TMP/time"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

measure() { # label shell-command
  local i
  : >"$TMP/runs"
  for ((i = 0; i < RUNS; i++)); do once "$2" >>"$TMP/runs"; done
  echo "$1 $(cut -d' ' -f1 "$TMP/runs" | median) $(cut -d' ' -f2 "$TMP/runs" | median) $(cut -d' ' -f3 "$TMP/runs" | median)"
  log "$1 answer:"; head -3 "$TMP/out" >&2
}

ours=$(measure conntrack-top "$OURS_CMD")
ref=$(measure "1.4.7 pipeline" "$REF_CMD")
echo "| $N entries | wall s | CPU s | peak RSS MB |"
echo "|---|---:|---:|---:|"
for row in "$ours" "$ref"; do
  set -- $row
  [[ $1 == 1.4.7 ]] && set -- "$1 $2" "${@:3}"
  echo "| $1 | $2 | $3 | $4 |"
done
awk -v a="$(echo "$ours" | cut -d' ' -f2)" -v b="$(echo "$ref" | cut -d' ' -f3)" 'BEGIN { printf "ratio (wall, ours / 1.4.7 pipeline): %.2f\n", a / b }'
