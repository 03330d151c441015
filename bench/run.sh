#!/usr/bin/env bash
# Times conntrack-ts against the reference conntrack 1.4.7 on the same table
# of N synthetic entries in a throw-away network namespace, and prints one
# table of ratios (ours / reference) with peak RSS. Paste it into README.md.
#
#   sudo bash bench/run.sh [N...]          (default: 100000 1000000)
#   RUNS=9 sudo bash bench/run.sh 100000   (hyperfine runs per command, default 5)
#
# Needs root (namespaces, host sysctls), a built tree (npm run build), node,
# ip, and hyperfine + GNU time (apt-installed when missing). Nothing leaves
# the namespace: entries are made over ctnetlink by bench/fill.ts (our
# library), never by traffic. nf_conntrack_max/buckets are host-wide and
# raised for the run, then restored; the namespace is deleted on any exit.
#
# On a shared machine wall times are noisy: every row is the median of RUNS,
# ref and ours interleaved by hyperfine in one session, and ratios are taken
# within the run. The kernel's dump of the whole hash table (shared by all
# namespaces) is part of every -L, so other namespaces' entries slow both.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
RUNS="${RUNS:-5}"
DRUNS="${DRUNS:-3}"
N_LIST="${*:-100000 1000000}"
# Entry 1 of bench/fill.ts, for -G.
GET_ARGS="-G -p tcp -s 10.0.0.1 -d 198.0.0.0 --sport 1025 --dport 81"

bench_init bench/run.sh ctbench dist/bench/fill.js build/Release/netlink_socket.node
if ! command -v hyperfine >/dev/null || [[ ! -x /usr/bin/time ]]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine time >/dev/null
fi

bench_save_limits
trap bench_cleanup EXIT INT TERM

in_ns() { ip netns exec "$NS" "$@"; }
count() { in_ns cat $SYS/nf_conntrack_count; }
fill() { node "$ROOT/dist/bench/fill.js" "$NS" "$@" 2>&1 | sed 's/^/  /' >&2; }

# hyperfine median (s) of `ip netns exec NS <cmd>` for each command given; one JSON per test.
time_cmds() { # test cmd...
  local t=$1; shift
  local hf=(hyperfine -N -i --style none --warmup 1 --runs "$RUNS" --export-json "$TMP/$t.json")
  for c in "$@"; do hf+=("ip netns exec $NS $c"); done
  "${hf[@]}" >/dev/null
  node -e '
    const r = require(process.argv[1]).results;
    for (const x of r) console.log(x.median.toFixed(4), (Math.min(...x.times)).toFixed(4), (Math.max(...x.times)).toFixed(4));
  ' "$TMP/$t.json"
}

# Peak RSS in MB of one run.
rss() { # cmd...
  /usr/bin/time -f %M -o "$TMP/rss" ip netns exec "$NS" "$@" >/dev/null 2>&1 || true
  awk '{printf "%.0f", $1 / 1024}' "$TMP/rss"
}

ROWS=()
row() { # N test ref_line ours_line ref_rss ours_rss
  local r o
  read -r r rmin rmax <<<"$3"
  read -r o omin omax <<<"$4"
  ROWS+=("$(printf '| %s | %s | %.3f (%.3f–%.3f) | %.3f (%.3f–%.3f) | %.2f | %s | %s |' \
    "$1" "$2" "$r" "$rmin" "$rmax" "$o" "$omin" "$omax" "$(awk "BEGIN{print $o / $r}")" "$5" "$6")")
}

for N in $N_LIST; do
  buckets=262144
  while ((buckets < N)); do buckets=$((buckets * 2)); done
  ((buckets > SAVED_BUCKETS)) && echo "$buckets" >$SYS/nf_conntrack_buckets
  ((2 * N > SAVED_MAX)) && echo $((2 * N)) >$SYS/nf_conntrack_max
  ip netns add "$NS"
  in_ns sh -c "echo 1 > $SYS/nf_conntrack_events"
  log "N=$N: filling"
  fill "$N"
  [[ $(count) -ge $N ]] || { echo "bench/run.sh: table has $(count) entries, wanted $N" >&2; exit 1; }

  for t in "-L" "-L -o extended" "-L -p tcp --dport 443" "-C" "-S" "$GET_ARGS"; do
    log "N=$N: conntrack $t"
    mapfile -t m < <(time_cmds "t" "$REF $t" "$OURS $t")
    # shellcheck disable=SC2086
    row "$N" "\`${t%% -p tcp -s*}\`" "${m[0]}" "${m[1]}" "$(rss $REF $t)" "$(rss $OURS $t)"
  done
  mapfile -t m < <(time_cmds "node" "node -e 0" "node -e 0")
  row "$N" "\`node -e 0\`" "${m[0]}" "${m[1]}" "$(rss node -e 0)" "$(rss node -e 0)"

  # -D: the same 10% (UDP) deleted by each tool in turn, refilled in between.
  log "N=$N: -D -p udp ($DRUNS runs each)"
  : >"$TMP/dref"
  : >"$TMP/dours"
  for ((i = 0; i < 2 * DRUNS; i++)); do
    if ((i % 2 == 0)); then tool=ref; cmd=$REF; else tool=ours; cmd=$OURS; fi
    before=$(count)
    # shellcheck disable=SC2086
    /usr/bin/time -f '%e %M' -o "$TMP/t" ip netns exec "$NS" $cmd -D -p udp >"$TMP/$tool.out" 2>/dev/null || true
    read -r secs kb <"$TMP/t"
    echo "$secs $((kb / 1024)) $((before - $(count))) $(wc -l <"$TMP/$tool.out")" >>"$TMP/d$tool"
    fill "$N" 0 17
  done
  med() { sort -n "$1" | awk '{a[NR]=$0} END {print a[int((NR+1)/2)]}'; }
  read -r dr_s dr_rss dr_gone dr_lines < <(med "$TMP/dref")
  read -r do_s do_rss do_gone do_lines < <(med "$TMP/dours")
  [[ $dr_gone == "$do_gone" && $dr_lines == "$do_lines" ]] ||
    log "WARNING: -D differs: ref removed $dr_gone printed $dr_lines, ours removed $do_gone printed $do_lines"
  row "$N" "\`-D -p udp\` ($dr_gone gone)" \
    "$dr_s $(sort -n "$TMP/dref" | head -1 | cut -d' ' -f1) $(sort -n "$TMP/dref" | tail -1 | cut -d' ' -f1)" \
    "$do_s $(sort -n "$TMP/dours" | head -1 | cut -d' ' -f1) $(sort -n "$TMP/dours" | tail -1 | cut -d' ' -f1)" "$dr_rss" "$do_rss"
  ip netns del "$NS"
done

echo
echo "$(uname -r), $(nproc) CPUs, node $(node --version), reference $($REF -V 2>&1 | head -1); medians of $RUNS runs (-D: $DRUNS), seconds (min–max)"
echo
echo "| N | command | reference s | conntrack-ts s | ratio | ref RSS MB | ours RSS MB |"
echo "|---:|---|---:|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
