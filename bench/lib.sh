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
