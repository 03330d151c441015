#!/usr/bin/env bash
# The fail-over drill: N live TCP connections (default 10 000) from a LAN
# host to a WAN host through the primary firewall (SNAT to the WAN VIP), the
# primary's conntrackd killed with SIGKILL and its LAN/WAN legs cut, the VIPs
# moved to the backup, `examples/primary-backup.sh primary` run there, and
# one more echo on every connection. Our pair, then the C 1.4.7 pair, on the
# same bed (test/kernel/conntrackd-sync-bed.ts `drill`; FTFW over UDP, the
# Debian example's netlink buffers). Prints one Markdown table.
#
#   sudo bash bench/failover-drill.sh [N]
#
# Needs root and a built tree (npm run build). Everything runs in network
# namespaces the drill creates and removes. Wall times are indicative on a
# shared machine. Not part of CI (test/kernel/conntrackd-failover-drill.test.ts
# is the short version).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N="${1:-10000}"
DRILL="$ROOT/dist/bench/failover-drill.js"
[[ -f $DRILL ]] || { echo "bench/failover-drill.sh: $DRILL missing (npm run build)" >&2; exit 1; }

echo "| pair | connections | in the backup's cache at the kill | lost on the sync link | survived | reset | silent | primary-backup.sh primary (s) | its -c, logged (s) | kill → all echoed (s) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for impl in ours c; do
  # A pair that fails (its message is on stderr) still leaves the other's row.
  { node "$DRILL" "$N" "$impl" || echo '{"failed":true}'; } | node -e '
    const r = JSON.parse(require("fs").readFileSync(0, "utf8"));
    if (r.failed) console.log(`| ${process.argv[1]} | failed (see above) |`);
    else console.log(`| ${r.impls.join("/")} | ${r.connections} | ${r.replicated} | ${r.lostOnLink} | ${r.survived} | ${r.closed} | ${r.silent} | ${r.notifySeconds.toFixed(2)} | ${r.commitSeconds.toFixed(2)} | ${r.recoverySeconds.toFixed(2)} |`);
  ' "$impl"
done
