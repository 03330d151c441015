# Shared by the bench scripts (sourced): where things are, what is compared,
# and the checks every script makes before touching the host.
#   bench_init NAME PREFIX FILE...   NAME for messages; PREFIX names the namespace ($NS)
#                                    and the scratch directory ($TMP); then files that must
#                                    exist (a built tree)
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REF="${REF:-/usr/sbin/conntrack}"
OURS="node $ROOT/bin/conntrack.js"
SYS=/proc/sys/net/netfilter

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

bench_init() {
  local name=$1 file
  NS="$2-$$"
  shift 2
  [[ $(id -u) == 0 ]] || { echo "$name: needs root" >&2; exit 1; }
  for file in "$@"; do
    [[ -f $ROOT/$file ]] || { echo "$name: build first (npm run build)" >&2; exit 1; }
  done
  modprobe nf_conntrack 2>/dev/null || true
  TMP="$(mktemp -d "/tmp/$NS.XXXXXX")"
}

# The host-wide table limits (nf_conntrack_max, _buckets), which a bench may
# raise for its table: saved here, put back by bench_cleanup with the
# namespace and the scratch directory.
bench_save_limits() {
  SAVED_MAX=$(cat $SYS/nf_conntrack_max)
  SAVED_BUCKETS=$(cat $SYS/nf_conntrack_buckets)
}

bench_cleanup() {
  ip netns del "$NS" 2>/dev/null || true
  echo "$SAVED_BUCKETS" >$SYS/nf_conntrack_buckets
  echo "$SAVED_MAX" >$SYS/nf_conntrack_max
  rm -rf "$TMP"
}

now() { date +%s.%N; }

# The two firewall namespaces of the conntrackd benches ($NS_A, $NS_B) and
# the daemons started in them (their pids in PIDS): all gone on exit, with
# the host's table limits put back.
bench_two_nodes() {
  NS_A="$NS-a"
  NS_B="$NS-b"
  PIDS=()
  bench_save_limits
  trap bench_two_nodes_cleanup EXIT INT TERM
}

bench_two_nodes_cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  ip netns del "$NS_A" 2>/dev/null || true
  ip netns del "$NS_B" 2>/dev/null || true
  bench_cleanup
}
