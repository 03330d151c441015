#!/usr/bin/env bash
# `conntrack -R FILE` of N lines: wall time, CPU time (user+sys) and peak RSS
# of the reference conntrack 1.4.7 and of conntrack-ts, each loading the same
# file into the empty table of a throw-away network namespace. Two files per
# N: `-I` lines, and `-A` lines as `-o save` prints them. Ours also reads the
# save file from a pipe (`cat FILE | conntrack -R -`, spooled to a temporary
# file). Prints one Markdown table; paste it into README.md. On a shared
# machine compare the CPU ratio (ours / reference, user+sys): wall time
# depends on what else runs.
#
#   sudo bash bench/load-file.sh [N...]      (default: 100000 1000000)
#   RUNS=5 sudo bash bench/load-file.sh      (runs per row, the median is shown; default 3)
#
# Needs root, a built tree (npm run build) and GNU time (apt-installed when
# missing). nf_conntrack_max is host-wide: raised for the run when lower than
# N, then restored; the namespace and files are removed on any exit.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
RUNS="${RUNS:-3}"
N_LIST="${*:-100000 1000000}"

bench_init bench/load-file.sh ctbench-load dist/conntrack.bundle.js
[[ -x /usr/bin/time ]] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null

SAVED_MAX=$(cat $SYS/nf_conntrack_max)
cleanup() {
  ip netns del "$NS" 2>/dev/null || true
  echo "$SAVED_MAX" >$SYS/nf_conntrack_max
  rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

count() { ip netns exec "$NS" cat $SYS/nf_conntrack_count; }

# N lines creating N distinct UDP entries: `-I` arguments, or `-o save` lines.
generate() { # N format
  awk -v n="$1" -v format="$2" 'BEGIN {
    for (i = 0; i < n; i++) {
      s = sprintf("10.%d.%d.%d", int(i / 65536) % 256, int(i / 256) % 256, i % 256)
      if (format == "save")
        printf "-A -t 600 -u UNSET -s %s -d 192.0.2.1 -r 192.0.2.1 -q %s -p udp --sport 1000 --dport 53 --reply-port-src 53 --reply-port-dst 1000\n", s, s
      else
        printf "-I -s %s -d 192.0.2.1 -p udp --sport 1000 --dport 53 -t 600\n", s
    }
  }'
}

# One load into an empty table: "wall cpu rss_mb"; fails unless every entry was made.
load_once() { # N shell-command
  ip netns exec "$NS" "$REF" -F >/dev/null 2>&1
  /usr/bin/time -f '%e %U %S %M' -o "$TMP/time" ip netns exec "$NS" sh -c "$2" >"$TMP/out" 2>&1 ||
    { echo "bench/load-file.sh: \`$2' failed: $(tail -3 "$TMP/out")" >&2; exit 1; }
  [[ $(count) == "$1" ]] || { echo "bench/load-file.sh: \`$2' left $(count) entries, wanted $1" >&2; exit 1; }
  awk '{ printf "%s %.2f %.0f\n", $1, $2 + $3, $4 / 1024 }' "$TMP/time"
}

# The run with the median wall time of RUNS.
load() { # N shell-command
  for ((i = 0; i < RUNS; i++)); do load_once "$1" "$2"; done | sort -n | awk -v m=$(((RUNS + 1) / 2)) 'NR == m'
}

ROWS=()
for N in $N_LIST; do
  ((N > SAVED_MAX)) && echo "$N" >$SYS/nf_conntrack_max
  ip netns add "$NS"
  for format in insert save; do
    generate "$N" "$format" >"$TMP/$format"
    what=$([[ $format == save ]] && echo '`-A` (save format)' || echo '`-I`')
    log "N=$N $format: reference"
    read -r rw rc rr < <(load "$N" "$REF -R $TMP/$format")
    log "N=$N $format: conntrack-ts"
    read -r ow oc orr < <(load "$N" "$OURS -R $TMP/$format")
    ROWS+=("$(printf '| %s | %s | file | %.2f | %.2f | %s | %.2f | %.2f | %s | %.2f | %.2f |' \
      "$N" "$what" "$rw" "$rc" "$rr" "$ow" "$oc" "$orr" "$(awk "BEGIN{print $ow / $rw}")" "$(awk "BEGIN{print $oc / $rc}")")")
    if [[ $format == save ]]; then
      log "N=$N $format: conntrack-ts from a pipe"
      read -r pw pc pr < <(load "$N" "cat $TMP/$format | $OURS -R -")
      ROWS+=("$(printf '| %s | %s | pipe | | | | %.2f | %.2f | %s | | |' "$N" "$what" "$pw" "$pc" "$pr")")
    fi
  done
  ip netns del "$NS"
done

echo
echo "$(uname -r), $(nproc) CPUs, node $(node --version), reference $($REF -V 2>&1 | head -1); median of $RUNS runs"
echo
echo "| lines | lines are | input | ref wall s | ref CPU s | ref RSS MB | ours wall s | ours CPU s | ours RSS MB | wall ratio | CPU ratio |"
echo "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
