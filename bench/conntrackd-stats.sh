#!/usr/bin/env bash
# conntrackd in Stats mode on a table of N entries: the reference conntrackd
# 1.4.7 and ours, each started in turn on the same filled namespace. Per
# daemon: seconds from start until `-i` (the reference client, polled) answers
# with all N entries (the start-up dump into the cache, plus one dump), the
# median wall time of `conntrackd -i | wc -l` with the daemon's own client,
# and the daemon's RSS with the N flows cached. Prints one Markdown table with
# ratios (ours / reference).
#
#   sudo bash bench/conntrackd-stats.sh [N]            (default 100000)
#   RUNS=5 sudo bash bench/conntrackd-stats.sh         (dumps timed per daemon, median shown; default 3)
#   CTD_UNDER_TEST=/usr/sbin/conntrackd ...      (the daemon under test; default: ours)
#
# Needs root and a built tree (npm run build). Entries are made over
# ctnetlink by bench/fill.ts, never by traffic. nf_conntrack_max is host-wide:
# raised for the run when lower than 2N, then restored; the namespace, the
# daemons and their files are removed on any exit. Not part of CI.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
RUNS="${RUNS:-3}"
N="${1:-100000}"
REF_D="${CTD_REFERENCE:-/usr/sbin/conntrackd}"
read -r -a OURS_D <<<"${CTD_UNDER_TEST:-node $ROOT/bin/conntrackd.js}"

bench_init bench/conntrackd-stats.sh ctbench-ctd dist/bench/fill.js dist/test/diff/conntrackd-harness.js
[[ -n ${CTD_UNDER_TEST:-} || -f $ROOT/bin/conntrackd.js ]] || { echo "bench/conntrackd-stats.sh: $ROOT/bin/conntrackd.js missing" >&2; exit 1; }

SAVED_MAX=$(cat $SYS/nf_conntrack_max)
DAEMON=""
cleanup() {
  if [[ -n $DAEMON ]]; then kill -9 "$DAEMON" 2>/dev/null || true; wait "$DAEMON" 2>/dev/null || true; fi
  ip netns del "$NS" 2>/dev/null || true
  echo "$SAVED_MAX" >$SYS/nf_conntrack_max
  rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

in_ns() { ip netns exec "$NS" "$@"; }

# The config the differential tests use (test/diff/conntrackd-harness.ts), files under DIR.
write_config() { # DIR
  node -e '
    const { configText } = require(process.argv[1]);
    const dir = process.argv[2];
    const p = (f) => `${dir}/${f}`;
    process.stdout.write(configText({ dir, config: p("conf"), lock: p("lock"), socket: p("sock"), log: p("log"), statsLog: p("stats.log") }));
  ' "$ROOT/dist/test/diff/conntrackd-harness.js" "$1" >"$1/conf"
}

# Lines of `-i`, 0 while the daemon does not answer. Asked with the reference client
# for both daemons: the start-up metric is about the daemon, not its client's start.
cache_lines() { # config
  { in_ns "$REF_D" -C "$1" -i 2>/dev/null || true; } | wc -l
}

# One daemon: "startup_s dump_median_s rss_mb".
measure() { # name conntrackd-argv...
  local name=$1 dir t0 t1 lines rss
  shift
  dir="$TMP/$name"
  mkdir -p "$dir"
  write_config "$dir"
  t0=$(now)
  # Not through in_ns: `ip netns exec` execs the daemon, so $! is the daemon's pid.
  ip netns exec "$NS" "$@" -C "$dir/conf" >"$dir/console" 2>&1 &
  DAEMON=$!
  until [[ $(cache_lines "$dir/conf") -ge $N ]]; do
    kill -0 "$DAEMON" 2>/dev/null || { echo "bench/conntrackd-stats.sh: $name exited: $(tail -3 "$dir/console")" >&2; exit 1; }
    sleep 0.05
  done
  t1=$(now)
  log "$name: cache complete after $(awk "BEGIN{printf \"%.2f\", $t1 - $t0}") s"
  for ((i = 0; i < RUNS; i++)); do
    local s e
    s=$(now)
    lines=$(in_ns "$@" -C "$dir/conf" -i | wc -l)
    e=$(now)
    [[ $lines == "$N" ]] || { echo "bench/conntrackd-stats.sh: $name -i printed $lines lines, wanted $N" >&2; exit 1; }
    awk "BEGIN{print $e - $s}"
  done | sort -n | awk -v m=$(((RUNS + 1) / 2)) 'NR == m' >"$dir/dump"
  rss=$(awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$DAEMON/status")
  # What was cached, without the entries' ages, for the comparison at the end.
  in_ns "$@" -C "$dir/conf" -i | sed 's/ \[active since [0-9]*s\]$//' | sort >"$dir/cache"
  in_ns "$@" -C "$dir/conf" -k >/dev/null 2>&1 || true
  wait "$DAEMON" 2>/dev/null || true
  DAEMON=""
  printf '%s %s %s\n' "$(awk "BEGIN{print $t1 - $t0}")" "$(cat "$dir/dump")" "$rss"
}

((2 * N > SAVED_MAX)) && echo $((2 * N)) >$SYS/nf_conntrack_max
ip netns add "$NS"
log "filling $N entries"
node "$ROOT/dist/bench/fill.js" "$NS" "$N" 2>&1 | sed 's/^/  /' >&2
[[ $(in_ns cat $SYS/nf_conntrack_count) -ge $N ]] || { echo "bench/conntrackd-stats.sh: the table has fewer than $N entries" >&2; exit 1; }

read -r r_start r_dump r_rss < <(measure reference "$REF_D")
read -r o_start o_dump o_rss < <(measure ours "${OURS_D[@]}")

if cmp -s "$TMP/reference/cache" "$TMP/ours/cache"; then
  log "both caches hold the same $N lines"
else
  log "WARNING: the caches differ: $(diff "$TMP/reference/cache" "$TMP/ours/cache" | grep -c '^[<>]') lines, e.g.:"
  diff "$TMP/reference/cache" "$TMP/ours/cache" | head -4 >&2 || true
fi

ratio() { awk "BEGIN{printf \"%.2f\", $2 / $1}"; }
echo
echo "$(uname -r), $(nproc) CPUs, node $(node --version), reference $("$REF_D" -v 2>&1 | head -1); N=$N, dump median of $RUNS"
echo
echo "| Stats mode, $N flows | reference | ours | ratio |"
echo "|---|---:|---:|---:|"
printf '| start until `-i` shows all flows (s) | %.2f | %.2f | %s |\n' "$r_start" "$o_start" "$(ratio "$r_start" "$o_start")"
printf '| `conntrackd -i \\| wc -l` (s) | %.3f | %.3f | %s |\n' "$r_dump" "$o_dump" "$(ratio "$r_dump" "$o_dump")"
printf '| daemon RSS with the flows cached (MB) | %s | %s | %s |\n' "$r_rss" "$o_rss" "$(ratio "$r_rss" "$o_rss")"
