#!/usr/bin/env bash
# Event loss under a flush: N entries are flushed while `conntrack -E -e DESTROY`
# listeners count them, ours and the reference, in one throw-away namespace.
#
#   sudo bash bench/events.sh                 # N = 100000 1000000
#   sudo N_LIST=20000 bash bench/events.sh    # smoke run
#
# Runs per N (each on a freshly filled table, node dist/bench/fill.js NETNS N):
#   together  ours (default settings) and the reference listen to the same flush
#   ours      ours alone, default settings
#   ref       the reference alone (its -b sizes the wrong socket, so none is given)
#   tiny      ours with -b 100000: loss forced, reported count checked against N
# Per listener: lines received, the loss we report ("N flow events have been
# lost"), the kernel's drop counter of its socket (/proc/net/netlink "Drops",
# read before SIGINT), ENOBUFS warnings. received + drops must equal N.
#
# Needs root and a built tree (npx tsc -p .; the addon in build/Release).
# Raises the host-wide nf_conntrack_max / nf_conntrack_buckets for N, as
# shared/bench-kit does, and restores them on exit; deletes the namespace.
set -euo pipefail
cd "$(dirname "$0")/.."

REF="${REF:-/usr/sbin/conntrack}"
OURS=(node "$PWD/bin/conntrack.js")
N_LIST="${N_LIST:-${*:-100000 1000000}}"
RUNS="${RUNS:-together ours ref tiny}"
NS="ctts-evbench-$$"
SYS=/proc/sys/net/netfilter
TMP="$(mktemp -d)"

[[ $EUID -eq 0 ]] || { echo "events.sh: must run as root" >&2; exit 1; }
orig_max=$(cat $SYS/nf_conntrack_max)
orig_buckets=$(cat $SYS/nf_conntrack_buckets)
cleanup() {
	for pid in $(cat "$TMP"/*.pid 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
	ip netns del "$NS" 2>/dev/null || true
	echo "$orig_buckets" >$SYS/nf_conntrack_buckets
	echo "$orig_max" >$SYS/nf_conntrack_max
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
in_ns() { ip netns exec "$NS" "$@"; }

# The DESTROY-group socket of a listener process: "rmem drops" from /proc/net/netlink.
socket_row() { # pid
	local inodes sk eth portid groups rmem wmem dump locks drops inode
	inodes="|$(ls -l "/proc/$1/fd" 2>/dev/null | sed -n 's/.*socket:\[\([0-9]*\)\]/\1/p' | tr '\n' '|')"
	while read -r sk eth portid groups rmem wmem dump locks drops inode; do
		[[ $eth == 12 ]] && ((0x$groups & 4)) && [[ $inodes == *"|$inode|"* ]] && { echo "$rmem $drops"; return; }
	done < <(in_ns tail -n +2 /proc/net/netlink)
	return 0
}

start_listener() { # name cmd...
	local name=$1
	shift
	# Not through a function: $! must be the listener (`ip netns exec` execs it).
	ip netns exec "$NS" "$@" -E -e DESTROY >"$TMP/$name.out" 2>"$TMP/$name.err" &
	echo $! >"$TMP/$name.pid"
}

# Waits until every listener's socket is subscribed, then until all are drained.
wait_subscribed() {
	local name i
	for name in "$@"; do
		for i in $(seq 1 200); do [[ -n "$(socket_row "$(cat "$TMP/$name.pid")")" ]] && break; sleep 0.05; done
	done
}
wait_drained() {
	local stable=0 prev="" now queued name rmem
	for _ in $(seq 1 1200); do
		now="" queued=0
		for name in "$@"; do
			now+="$(stat -c %s "$TMP/$name.out") "
			read -r rmem _ <<<"$(socket_row "$(cat "$TMP/$name.pid")")"
			queued=$((queued + ${rmem:-0}))
		done
		if [[ $now == "$prev" && $queued == 0 ]]; then stable=$((stable + 1)); else stable=0; fi
		((stable >= 5)) && return 0
		prev=$now
		sleep 0.2
	done
}

run() { # label N listeners...: name=cmd pairs
	local label=$1 n=$2 name pid
	shift 2
	in_ns "$REF" -F >/dev/null 2>&1 || true
	in_ns node dist/bench/fill.js "$NS" "$n" 2>"$TMP/fill.err" || { cat "$TMP/fill.err" >&2; exit 1; }
	local names=()
	for spec in "$@"; do
		name=${spec%%=*}
		names+=("$name")
		# shellcheck disable=SC2086
		start_listener "$name" ${spec#*=}
	done
	wait_subscribed "${names[@]}"
	local t0 t1
	t0=$(date +%s.%N)
	in_ns "$REF" -F >/dev/null 2>&1
	t1=$(date +%s.%N)
	wait_drained "${names[@]}"
	for name in "${names[@]}"; do
		pid=$(cat "$TMP/$name.pid")
		read -r _ drops <<<"$(socket_row "$pid")"
		kill -INT "$pid"
		wait "$pid" || true
		rm -f "$TMP/$name.pid"
		local received lost enobufs
		received=$(grep -c DESTROY "$TMP/$name.out" || true)
		lost=$(sed -n 's/.*: \([0-9]*\) flow events have been lost\./\1/p' "$TMP/$name.err")
		enobufs=$(grep -c ENOBUFS "$TMP/$name.err" || true)
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.1f%%\t%.2f\n' "$n" "$label" "$name" "$received" "${lost:-0}" "${drops:-NA}" "$enobufs" \
			"$([[ $((received + ${drops:-0})) == "$n" ]] && echo yes || echo NO)" "$(python3 -c "print(100*$received/$n)")" \
			"$(python3 -c "print($t1-$t0)")"
	done
}

printf 'N\trun\tlistener\treceived\treported_lost\tkernel_drops\tenobufs\trecv+drops=N\treceived%%\tflush_s\n'
for n in $N_LIST; do
	want_max=$((n * 2 > 262144 ? n * 2 : 262144))
	buckets=262144
	while ((buckets < n)); do buckets=$((buckets * 2)); done
	(($(cat $SYS/nf_conntrack_max) < want_max)) && echo "$want_max" >$SYS/nf_conntrack_max
	echo "$buckets" >$SYS/nf_conntrack_buckets
	ip netns del "$NS" 2>/dev/null || true
	ip netns add "$NS"
	# Events for entries made without a listener present, too (the default 2 would not).
	in_ns sh -c "echo 1 >$SYS/nf_conntrack_events"
	for r in $RUNS; do
		log "N=$n: $r"
		case $r in
		together) run together "$n" "ours=${OURS[*]}" "ref=$REF" ;;
		ours) run alone "$n" "ours=${OURS[*]}" ;;
		ref) run alone "$n" "ref=$REF" ;;
		tiny) run "-b 100000" "$n" "ours=${OURS[*]} -b 100000" ;;
		esac
	done
	ip netns del "$NS"
done
