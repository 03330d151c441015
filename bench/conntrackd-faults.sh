#!/usr/bin/env bash
# Faults on the sync link of a conntrackd pair (FTFW), ours and the C
# conntrackd 1.4.7, each pair on two fresh namespaces joined by a veth. Per
# scenario, N flows are created on the primary (bench/fill.ts) while:
#   plain                nothing goes wrong (the baseline; with LINK=TCP, C 1.4.7's TCP loss)
#   loss1 loss10 loss30  nft drops that % of the sync datagrams, both ways
#   restart              the backup is SIGKILLed mid-burst and started again 1 s later
#   linkdown             the sync link is down for LINKDOWN seconds mid-burst
#   overrun              the primary's event socket has 4 KiB (max 8 KiB), resync after 5 s
#   fuzz                 FUZZ hostile datagrams (tools/sync-fuzz.ts) from the peer's address
#                        and FUZZ/10 from another one, then the burst
# and the backup's external cache is polled (C client `-e`, both pairs) until
# it holds the primary's kernel table, by key. Nobody runs `-n` or `-B`.
# Prints one Markdown row per run: seconds from the burst's start until equal
# (or "never" within DEADLINE), flows missing at the end, messages resent
# (ours: `-s network` JSON), sequence gaps seen by the backup, malformed and
# foreign counts (fuzz), the daemons' CPU seconds (user+sys), and UDP
# receive-buffer errors in the backup's namespace.
#
#   sudo bash bench/conntrackd-faults.sh                       (N=100000, both pairs, all scenarios)
#   N=20000 IMPLS=ours SCENARIOS="loss10 restart" sudo bash bench/conntrackd-faults.sh
#   LINK=TCP ...  (FTFW over TCP)   FUZZ=1000000 (default) DEADLINE=120 LINKDOWN=10 RUNS=1
#
# Needs root and a built tree. Traffic stays in the two namespaces; they,
# the daemons and the files are removed on any exit. Not part of CI.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
N="${N:-100000}"
IMPLS="${IMPLS:-ours c}"
SCENARIOS="${SCENARIOS:-loss1 loss10 loss30 restart linkdown overrun fuzz}"
LINK="${LINK:-UDP}"
FUZZ="${FUZZ:-1000000}"
DEADLINE="${DEADLINE:-120}"
LINKDOWN="${LINKDOWN:-10}"
RUNS="${RUNS:-1}"
REF_D="${CTD_REFERENCE:-/usr/sbin/conntrackd}"
OURS_D="node $ROOT/bin/conntrackd.js"
A=192.168.79.1 B=192.168.79.2 FOREIGN=192.168.79.3 PORT=3790

bench_init bench/conntrackd-faults.sh ctfaults dist/bench/fill.js dist/tools/sync-fuzz.js bin/conntrackd.js
bench_save_limits
NSA="$NS-a" NSB="$NS-b"
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  ip netns del "$NSA" 2>/dev/null || true
  ip netns del "$NSB" 2>/dev/null || true
  bench_cleanup
}
trap cleanup EXIT INT TERM
(($(cat $SYS/nf_conntrack_max) >= 2 * N + 10000)) || echo $((2 * N + 10000)) >$SYS/nf_conntrack_max

now() { date +%s.%N; }
secs() { echo "$1 $2" | awk '{ printf "%.2f", $2 - $1 }'; }

# The Debian example's buffers, FTFW; GENERAL adds lines to General.
config() { # node-dir self peer dev extra-general
  cat <<EOF
Sync {
  Mode FTFW { ResendQueueSize 131072 }
  $LINK { IPv4_address $2 IPv4_Destination_Address $3 Port $PORT Interface $4 Checksum on SndSocketBuffer 1249280 RcvSocketBuffer 1249280 }
}
General {
  HashSize 32768
  HashLimit $((4 * N + 65536))
  LogFile $1/log
  LockFile $1/lock
  UNIX { Path $1/ctl }
  NetlinkBufferSize 2097152
  NetlinkBufferSizeMaxGrowth 8388608
  $5
  Filter From Userspace { Address Ignore { IPv4_address 127.0.0.1 IPv4_address $A IPv4_address $B IPv4_address $FOREIGN } }
}
EOF
}

daemon_of() { [[ $1 == c ]] && echo "$REF_D" || echo "$OURS_D"; }

start_daemon() { # impl ns dir
  rm -f "$3/lock"
  # shellcheck disable=SC2046
  ip netns exec "$2" $(daemon_of "$1") -C "$3/conf" >"$3/out" 2>&1 &
  PIDS+=($!)
  eval "PID_$(basename "$3")=$!"
  local i
  for i in $(seq 100); do ip netns exec "$2" "$REF_D" -C "$3/conf" -s >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "daemon $1 in $2 did not start: $(cat "$3/out")" >&2
  return 1
}

cpu_of() { # pid → user+sys seconds
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# Keys of flows (proto, original tuple) in `conntrack -L` or `conntrackd -e` text.
keys() { perl -ne 'print "$1 $2\n" if /^(\w+)\s.*?(src=\S+ dst=\S+(?: sport=\d+ dport=\d+| type=\d+ code=\d+ id=\d+)?)/' | sort; }
kernel_keys() { { ip netns exec "$NSA" "$REF" -L -f ipv4 2>/dev/null; ip netns exec "$NSA" "$REF" -L -f ipv6 2>/dev/null; } | grep -v "src=192.168.79" | keys; }
external_keys() { ip netns exec "$NSB" "$REF_D" -C "$TMP/b/conf" -e 2>/dev/null | grep -v "src=198.18." | keys || true; }

json_stat() { # ns dir kind jq-ish-path (node evaluates it); ours only
  ip netns exec "$1" $OURS_D -C "$2/conf" -s "$3" --json 2>/dev/null | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{try{const j=JSON.parse(s);console.log($4)}catch{console.log('-')}})"
}
c_lost() { ip netns exec "$NSB" "$REF_D" -C "$TMP/b/conf" -s network 2>/dev/null | awk '/Packets lost/ { print $3 }'; }
c_malformed() { ip netns exec "$NSB" "$REF_D" -C "$TMP/b/conf" -s network 2>/dev/null | awk '/Malformed messages/ { print $3; exit }'; }
rcvbuf_errors() { ip netns exec "$NSB" awk '/^Udp: [0-9]/ { print $6 }' /proc/net/snmp; }

setup_pair() { # impl extra-general-for-primary
  ip netns del "$NSA" 2>/dev/null || true
  ip netns del "$NSB" 2>/dev/null || true
  ip netns add "$NSA"
  ip netns add "$NSB"
  ip link add fw-a netns "$NSA" type veth peer name fw-b netns "$NSB"
  ip netns exec "$NSA" ip addr add $A/24 dev fw-a
  ip netns exec "$NSB" ip addr add $B/24 dev fw-b
  ip netns exec "$NSA" ip link set fw-a up
  ip netns exec "$NSB" ip link set fw-b up
  ip netns exec "$NSA" ip link set lo up
  ip netns exec "$NSB" ip link set lo up
  rm -rf "$TMP/a" "$TMP/b"
  mkdir -p "$TMP/a" "$TMP/b"
  config "$TMP/a" $A $B fw-a "$2" >"$TMP/a/conf"
  config "$TMP/b" $B $A fw-b "" >"$TMP/b/conf"
  start_daemon "$1" "$NSA" "$TMP/a"
  start_daemon "$1" "$NSB" "$TMP/b"
  sleep 1
}

# Waits until the primary's table holds a third of the burst.
mid_burst() {
  while (($(ip netns exec "$NSA" "$REF" -C 2>/dev/null || echo 0) < N / 3)); do sleep 0.05; done
}

lossy() { # percent
  local ns
  for ns in "$NSA" "$NSB"; do
    ip netns exec "$ns" nft -f - <<EOF
table inet synclink {
  chain out {
    type filter hook output priority 0;
    udp dport $PORT numgen random mod 100 < $1 drop
    tcp dport $PORT numgen random mod 100 < $1 drop
  }
}
EOF
  done
}

# One run: "| impl | scenario | converged s | missing | resent | gaps | malformed | foreign | CPU a | CPU b | rcvbuf errors |"
run_one() { # impl scenario
  local impl=$1 sc=$2 extra="" t0 t1 fill_pid missing=0 conv=never expected got
  [[ $sc == overrun ]] && extra="NetlinkBufferSize 4096
  NetlinkBufferSizeMaxGrowth 8192
  NetlinkOverrunResync 5"
  setup_pair "$impl" "$extra"
  [[ $sc == loss* ]] && lossy "${sc#loss}"
  if [[ $sc == fuzz ]]; then
    log "$impl: $FUZZ hostile inputs from the peer's address"
    local tcp=""
    [[ $LINK == TCP ]] && tcp=--tcp
    ip netns exec "$NSA" node "$ROOT/dist/tools/sync-fuzz.js" --to $B --port $PORT --count "$FUZZ" --seed 1 $tcp >&2
    ip netns exec "$NSA" ip addr add $FOREIGN/24 dev fw-a
    ip netns exec "$NSA" node "$ROOT/dist/tools/sync-fuzz.js" --to $B --port $PORT --count $((FUZZ / 10)) --seed 2 --from $FOREIGN $tcp >&2
    kill -0 "$PID_b" 2>/dev/null || { echo "| $impl | $sc | backup died | | | | | | | | |"; return; }
  fi
  t0=$(now)
  ip netns exec "$NSA" node "$ROOT/dist/bench/fill.js" "$NSA" "$N" 0 2>"$TMP/fill.err" &
  fill_pid=$!
  case $sc in
    restart)
      mid_burst
      kill -9 "$PID_b"
      wait "$PID_b" 2>/dev/null || true
      sleep 1
      start_daemon "$impl" "$NSB" "$TMP/b"
      ;;
    linkdown)
      mid_burst
      ip netns exec "$NSA" ip link set fw-a down
      sleep "$LINKDOWN"
      ip netns exec "$NSA" ip link set fw-a up
      ;;
  esac
  wait "$fill_pid"
  log "$impl $sc: $(cat "$TMP/fill.err")"
  kernel_keys >"$TMP/expected"
  expected=$(wc -l <"$TMP/expected")
  while :; do
    got=$(ip netns exec "$NSB" "$REF_D" -C "$TMP/b/conf" -s cache 2>/dev/null | awk '/^cache:external/ { print $NF; exit }')
    if [[ ${got:-0} -ge $expected ]]; then
      external_keys >"$TMP/got"
      # Mutated replays from the fuzzer leave flows of their own: there, every real one must be in.
      if { [[ $sc == fuzz ]] && [[ -z $(comm -23 "$TMP/expected" "$TMP/got") ]]; } || cmp -s "$TMP/expected" "$TMP/got"; then
        t1=$(now)
        conv=$(secs "$t0" "$t1")
        break
      fi
    fi
    (($(date +%s) - ${t0%.*} > DEADLINE)) && break
    sleep 0.5
  done
  external_keys >"$TMP/got"
  missing=$(comm -23 "$TMP/expected" "$TMP/got" | wc -l)
  local resent=- gaps malformed=- foreign=-
  if [[ $impl == ours ]]; then
    resent=$(json_stat "$NSA" "$TMP/a" network 'j.network.sendResent')
    gaps=$(json_stat "$NSB" "$TMP/b" network 'j.network.sequenceLost')
    malformed=$(json_stat "$NSB" "$TMP/b" network 'j.network.receiveMalformed')
    foreign=$(json_stat "$NSB" "$TMP/b" network 'j.link.traffic.receiveForeign')
  else
    gaps=$(c_lost)
    malformed=$(c_malformed)
  fi
  echo "| $impl | $LINK $sc | $conv | $missing of $expected | $resent | $gaps | $malformed | $foreign | $(cpu_of "$PID_a") | $(cpu_of "$PID_b") | $(rcvbuf_errors) |"
  kill -9 "$PID_a" "$PID_b" 2>/dev/null || true
  wait "$PID_a" "$PID_b" 2>/dev/null || true
}

echo "N=$N link=$LINK deadline=${DEADLINE}s linkdown=${LINKDOWN}s fuzz=$FUZZ ($(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))"
echo
echo "| pair | scenario | equal after (s) | missing | resent | gaps seen | malformed | foreign | CPU primary (s) | CPU backup (s) | UDP rcvbuf errors |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for sc in $SCENARIOS; do
  for impl in $IMPLS; do
    for _ in $(seq "$RUNS"); do run_one "$impl" "$sc"; done
  done
done
