#!/usr/bin/env bash
# conntrackd, ours against the reference 1.4.7, on the same machine in one run:
# two firewall namespaces joined by a veth pair (FTFW over UDP), N flows made
# on the primary as fast as the kernel takes them (bench/fill.ts), and what a
# pair of daemons does with them. Prints one Markdown table: one row per run
# (the C pair is bimodal, so runs are never averaged) and the ratios.
#
#   sudo bash bench/conntrackd.sh [N...]        (default 300000; 1000000 is optional)
#   RUNS=3 sudo bash bench/conntrackd.sh 100000 (runs per pair and configuration; default 2)
#   CONVERGE_S=60 ...                           (how long a backup may take to hold N; default 30 + N/10000)
#   SERIES="tuned:rr debian:rr" ...             (configurations; default all four)
#   PAIRS=ours ...                              (which pairs run: default "C ours")
#   CTD_UNDER_TEST=... / CTD_REFERENCE=...      (daemons; default ours and /usr/sbin/conntrackd)
#
# Configurations: `tuned` is the C pair at its best (event socket, sync
# socket buffers 16 MiB, ResendQueueSize 1048576); `debian` has Debian's
# example buffers (event socket 2 MiB growing to 8 MiB, sync sockets 1.2 MiB,
# ResendQueueSize 131072). Scheduler `rr` is `Type RR Priority 99` on both
# nodes, `other` leaves it out (SCHED_OTHER).
#
# Per run: burst (s from the first create until the backup's external cache
# holds N; and after the last create), flows never received within
# CONVERGE_S, CPU seconds (user+sys) per 100,000 flows on each node, peak RSS
# of each daemon, the kernel's own drop counters (the primary's ctnetlink
# sockets in /proc/net/netlink, the backup's UDP RcvbufErrors). In the first
# run of `tuned:rr` only: `-c` on the backup (until its kernel holds N; in
# brackets, until its internal cache holds N too: the commit's own events),
# `-n` and `-B` after `-f external`, once the commit's events are in the
# backup's internal cache (until the backup holds N again), and a
# restart of the primary (until its internal cache holds N: the start-up
# dump). Every count is read with the C client, for both pairs.
#
# Needs root and a built tree (npm run build). nf_conntrack_max/buckets are
# host-wide: raised for the run, then restored; namespaces, daemons and files
# are removed on any exit. Not part of CI.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
RUNS="${RUNS:-2}"
N_LIST="${*:-300000}"
SERIES="${SERIES:-tuned:rr tuned:other debian:rr debian:other}"
PAIRS="${PAIRS:-C ours}"
REF_D="${CTD_REFERENCE:-/usr/sbin/conntrackd}"
read -r -a OURS_D <<<"${CTD_UNDER_TEST:-node $ROOT/bin/conntrackd.js}"
ADDR=(192.168.81.1 192.168.81.2)
DEV=(ctb-a ctb-b)

bench_init bench/conntrackd.sh ctbench-ctd dist/bench/fill.js
[[ -n ${CTD_UNDER_TEST:-} || -f $ROOT/bin/conntrackd.js ]] || { echo "bench/conntrackd.sh: $ROOT/bin/conntrackd.js missing" >&2; exit 1; }
bench_two_nodes

since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

config() { # DIR NODE(0|1) CONFIG SCHED
  local dir=$1 i=$2 peer=$((1 - $2)) buf=16777216 grow=16777216 sock=16777216 rsq=1048576 sched=""
  if [[ $3 == debian ]]; then buf=2097152 grow=8388608 sock=1249280 rsq=131072; fi
  [[ $4 == rr ]] && sched="Scheduler { Type RR Priority 99 }"
  cat <<EOF
Sync {
	Mode FTFW { ResendQueueSize $rsq }
	UDP {
		IPv4_address ${ADDR[$i]}
		IPv4_Destination_Address ${ADDR[$peer]}
		Port 3780
		Interface ${DEV[$i]}
		SndSocketBuffer $sock
		RcvSocketBuffer $sock
		Checksum on
	}
}
General {
	HashSize 1048576
	HashLimit 4194304
	LogFile $dir/log
	LockFile $dir/lock
	UNIX { Path $dir/ctl }
	NetlinkBufferSize $buf
	NetlinkBufferSizeMaxGrowth $grow
	$sched
	Filter From Userspace {
		Address Ignore { IPv4_address 127.0.0.1 IPv4_address ${ADDR[0]} IPv4_address ${ADDR[1]} }
	}
}
EOF
}

# The C client, in a node's namespace.
ctl() { # NS DIR ARGS...
  local ns=$1 dir=$2
  shift 2
  ip netns exec "$ns" "$REF_D" -C "$dir/conf" "$@" 2>/dev/null
}
# `-s cache` active objects of the internal or external cache; 0 while the daemon does not answer.
cached() { # NS DIR internal|external
  { ctl "$1" "$2" -s cache || true; } | awk -v c="cache:$3" '$1 == c && /active objects/ { n = $NF } END { print n + 0 }'
}
# Polls until the count command prints at least N (or, with N = 0, exactly 0); prints when it did, or "-" after the deadline.
wait_count() { # DEADLINE_S N COMMAND...
  local deadline=$1 n=$2 start got
  shift 2
  start=$(now)
  while :; do
    got=$("$@")
    if ((n == 0 ? got == 0 : got >= n)); then now; return; fi
    awk -v a="$(since "$start")" -v d="$deadline" 'BEGIN { exit !(a > d) }' && { echo -; return; }
    sleep 0.02
  done
}
# Seconds from START to the time wait_count printed, or "-".
elapsed() { # START AT
  if [[ $2 == - ]]; then echo -; else awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; fi
}
kernel_count() { ip netns exec "$1" cat $SYS/nf_conntrack_count; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hwm_mb() { awk '/^VmHWM:/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
# Drops of the netfilter netlink sockets (protocol 12) in a namespace.
nl_drops() { ip netns exec "$1" awk '$2 == 12 { d += $9 } END { print d + 0 }' /proc/net/netlink; }
udp_rcvbuf_errors() { ip netns exec "$1" awk '/^Udp:/ && ++n == 2 { print $6 }' /proc/net/snmp; }

# Starts a daemon and waits until it answers; its pid is left in $STARTED.
start_daemon() { # NS DIR ARGV...
  local ns=$1 dir=$2
  shift 2
  ip netns exec "$ns" "$@" -C "$dir/conf" >"$dir/console" 2>&1 &
  STARTED=$!
  PIDS+=("$STARTED")
  until ctl "$ns" "$dir" -s >/dev/null; do
    kill -0 "$STARTED" 2>/dev/null || { echo "bench/conntrackd.sh: daemon exited: $(tail -3 "$dir/console")" >&2; exit 1; }
    sleep 0.05
  done
}

stop_daemon() { # NS DIR PID
  ctl "$1" "$2" -k >/dev/null || true
  local i
  for ((i = 0; i < 100; i++)); do kill -0 "$3" 2>/dev/null || return 0; sleep 0.05; done
  kill -9 "$3" 2>/dev/null || true
}

# One run; prints one result line: impl config sched run n burst after lost cpuA cpuB rssA rssB nldrops udperr commit resync bulk startup settled
one_run() { # IMPL N CONFIG SCHED RUN FULL
  local impl=$1 n=$2 cfg=$3 sched=$4 run=$5 full=$6 d argv i
  if [[ $impl == C ]]; then argv=("$REF_D"); else argv=("${OURS_D[@]}"); fi
  ip netns add "$NS_A"
  ip netns add "$NS_B"
  ip link add "${DEV[0]}" netns "$NS_A" type veth peer name "${DEV[1]}" netns "$NS_B"
  for i in 0 1; do
    local ns=$NS_A
    ((i == 1)) && ns=$NS_B
    ip -n "$ns" addr add "${ADDR[$i]}/24" dev "${DEV[$i]}"
    ip -n "$ns" link set "${DEV[$i]}" up
    ip -n "$ns" link set lo up
    d="$TMP/$impl-$cfg-$sched-$run-$i"
    mkdir -p "$d"
    config "$d" "$i" "$cfg" "$sched" >"$d/conf"
  done
  local da="$TMP/$impl-$cfg-$sched-$run-0" db="$TMP/$impl-$cfg-$sched-$run-1"
  local pa pb
  start_daemon "$NS_A" "$da" "${argv[@]}"
  pa=$STARTED
  start_daemon "$NS_B" "$db" "${argv[@]}"
  pb=$STARTED
  local ca cb t0 t1 done_at burst after lost
  ca=$(cpu_ticks "$pa")
  cb=$(cpu_ticks "$pb")
  t0=$(now)
  node "$ROOT/dist/bench/fill.js" "$NS_A" "$n" 2>"$da/fill" >/dev/null
  t1=$(now)
  done_at=$(wait_count "${CONVERGE_S:-$((30 + n / 10000))}" "$n" cached "$NS_B" "$db" external)
  burst=$(elapsed "$t0" "$done_at")
  after=$(elapsed "$t1" "$done_at")
  lost=$((n - $(cached "$NS_B" "$db" external)))
  local hz cpua cpub
  hz=$(getconf CLK_TCK)
  cpua=$(awk -v a="$ca" -v b="$(cpu_ticks "$pa")" -v hz="$hz" -v n="$n" 'BEGIN { printf "%.2f", (b - a) / hz * 100000 / n }')
  cpub=$(awk -v a="$cb" -v b="$(cpu_ticks "$pb")" -v hz="$hz" -v n="$n" 'BEGIN { printf "%.2f", (b - a) / hz * 100000 / n }')
  local drops udperr commit=- resync=- bulk=- startup=- settled=- rssa rssb
  drops=$(nl_drops "$NS_A")
  udperr=$(udp_rcvbuf_errors "$NS_B")
  rssa=$(hwm_mb "$pa")
  rssb=$(hwm_mb "$pb")
  if [[ $full == 1 && $lost == 0 ]]; then
    local s
    s=$(now)
    ctl "$NS_B" "$db" -c >"$db/commit" || true
    # The C client may return before the C daemon's commit is over: the kernel table tells.
    commit=$(elapsed "$s" "$(wait_count 300 "$n" kernel_count "$NS_B")")
    # The commit's own events reach the backup's internal cache after the kernel has the
    # entries: -n and -B are timed once they are in, not while a daemon still digests them.
    settled=$(elapsed "$s" "$(wait_count 120 "$n" cached "$NS_B" "$db" internal)")
    ctl "$NS_B" "$db" -f external || true
    wait_count 60 0 cached "$NS_B" "$db" external >/dev/null
    s=$(now)
    ctl "$NS_B" "$db" -n || true
    resync=$(elapsed "$s" "$(wait_count 120 "$n" cached "$NS_B" "$db" external)")
    ctl "$NS_B" "$db" -f external || true
    wait_count 60 0 cached "$NS_B" "$db" external >/dev/null
    s=$(now)
    ctl "$NS_A" "$da" -B || true
    bulk=$(elapsed "$s" "$(wait_count 120 "$n" cached "$NS_B" "$db" external)")
    stop_daemon "$NS_A" "$da" "$pa"
    s=$(now)
    start_daemon "$NS_A" "$da" "${argv[@]}"
    pa=$STARTED
    startup=$(elapsed "$s" "$(wait_count 120 "$n" cached "$NS_A" "$da" internal)")
  fi
  stop_daemon "$NS_A" "$da" "$pa"
  stop_daemon "$NS_B" "$db" "$pb"
  ip netns del "$NS_A"
  ip netns del "$NS_B"
  log "$impl $cfg/$sched run $run N=$n: burst $burst s (+$after after the last create), lost $lost, cpu/100k $cpua/$cpub, rss $rssa/$rssb MB, drops $drops/$udperr, -c $commit ($settled) -n $resync -B $bulk start $startup ($(cat "$da/fill"))"
  echo "$impl $cfg $sched $run $n $burst $after $lost $cpua $cpub $rssa $rssb $drops $udperr $commit $resync $bulk $startup $settled"
}

MAX_N=0
for n in $N_LIST; do ((n > MAX_N)) && MAX_N=$n; done
# Each namespace holds N (the backup N more after -c); buckets as bench/run.sh sizes them.
((4 * MAX_N > SAVED_MAX)) && echo $((4 * MAX_N)) >$SYS/nf_conntrack_max
buckets=262144
while ((buckets < MAX_N)); do buckets=$((buckets * 2)); done
((buckets > SAVED_BUCKETS)) && echo $buckets >$SYS/nf_conntrack_buckets

RESULTS="$TMP/results"
for n in $N_LIST; do
  for series in $SERIES; do
    cfg=${series%:*} sched=${series#*:}
    for ((run = 1; run <= RUNS; run++)); do
      full=0
      [[ $series == tuned:rr && $run == 1 ]] && full=1
      # Alternate which pair goes first, so neither always runs on a fresher machine.
      if ((run % 2)); then order="C ours"; else order="ours C"; fi
      for impl in $order; do
        [[ " $PAIRS " == *" $impl "* ]] || continue
        one_run "$impl" "$n" "$cfg" "$sched" "$run" "$full" >>"$RESULTS"
      done
    done
  done
done

echo
echo "$(uname -r), $(nproc) CPUs, node $(node --version), reference $("$REF_D" -v 2>&1 | head -1)"
echo "burst: s from the first create until the backup holds N (+ s after the last create); cpu: CPU s per 100,000 flows, primary/backup;"
echo "drops: the primary's ctnetlink socket drops / the backup's UDP receive-buffer errors; -c (internal cache too), -n, -B, start-up: s (first tuned:rr run)"
echo
echo "| N | config | sched | pair | run | burst (s) | lost | cpu/100k A / B | peak RSS A / B (MB) | drops | -c | -n | -B | start-up |"
echo "|---:|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
sort -k5,5n -k2,2 -k3,3 -k1,1 -k4,4n "$RESULTS" | while read -r impl cfg sched run n burst after lost cpua cpub rssa rssb drops udperr commit resync bulk startup settled; do
  echo "| $n | $cfg | $sched | $impl | $run | $burst (+$after) | $lost | $cpua / $cpub | $rssa / $rssb | $drops / $udperr | $commit ($settled) | $resync | $bulk | $startup |"
done
echo
# Ratios ours / C of the medians of each series (the per-run rows above are what counts for slow modes).
echo "| N | config | sched | burst ours/C | cpu A ours/C | cpu B ours/C | RSS A ours/C | -c | -n | -B | start-up |"
echo "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
awk '
  function med(key,   n, i, j, t, v) { n = cnt[key]; if (n == 0) return "-"; for (i = 1; i <= n; i++) v[i] = val[key, i];
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
    return v[int((n + 1) / 2)] }
  function add(key, x) { if (x == "-") return; val[key, ++cnt[key]] = x + 0 }
  function r(a, b) { return (a == "-" || b == "-" || b == 0) ? "-" : sprintf("%.2f", a / b) }
  { s = $5 " " $2 " " $3; series[s] = 1
    add(s SUBSEP $1 SUBSEP "burst", $6); add(s SUBSEP $1 SUBSEP "cpua", $9); add(s SUBSEP $1 SUBSEP "cpub", $10)
    add(s SUBSEP $1 SUBSEP "rssa", $11); add(s SUBSEP $1 SUBSEP "c", $15); add(s SUBSEP $1 SUBSEP "n", $16)
    add(s SUBSEP $1 SUBSEP "b", $17); add(s SUBSEP $1 SUBSEP "st", $18) }
  END { for (s in series) { split(s, p, " "); line = "| " p[1] " | " p[2] " | " p[3]
    split("burst cpua cpub rssa c n b st", m, " ")
    for (i = 1; i <= 8; i++) line = line " | " r(med(s SUBSEP "ours" SUBSEP m[i]), med(s SUBSEP "C" SUBSEP m[i]))
    print line " |" } }' "$RESULTS" | sort -t'|' -k2,2n -k3,3 -k4,4
