#!/usr/bin/env bash
# conntrack-ts on real connections: a throw-away network namespace with a stateful
# nftables ruleset, real TCP, UDP and ICMP traffic over its loopback device, then
# our `conntrack` listing what the kernel tracked. Nothing leaves the namespace;
# the namespace is deleted on exit. Run as root after `npm ci`:
#   sudo bash demo/demo.sh
# CONNTRACK=/usr/sbin/conntrack runs the same demo with the reference tool, for comparison;
# CONNTRACKD=/usr/sbin/conntrackd does the same for the daemon part.
set -euo pipefail
cd "$(dirname "$0")/.."

[ "$(id -u)" = 0 ] || { echo "demo: run as root (network namespaces): sudo bash demo/demo.sh" >&2; exit 1; }
NODE=$(command -v node)
if [ -n "${CONNTRACK:-}" ]; then
  read -r -a CT <<<"$CONNTRACK"
else
  CT=("$NODE" bin/conntrack.js)
  [ -f dist/src/cli/main.js ] || { echo "demo: build first: npm ci" >&2; exit 1; }
fi
if [ -n "${CONNTRACKD:-}" ]; then
  read -r -a CTD <<<"$CONNTRACKD"
else
  CTD=("$NODE" bin/conntrackd.js)
  [ -f bin/conntrackd.js ] || { echo "demo: bin/conntrackd.js missing: build first: npm ci" >&2; exit 1; }
fi
[ -f dist/test/kernel/netns.js ] || { echo "demo: build first: npm ci" >&2; exit 1; }

NS="ctts-demo-$$"
WORK=$(mktemp -d -t ctts-demo.XXXXXX)
HOLDER=""
DAEMON=""

cleanup() {
  if [ -n "$HOLDER" ]; then kill "$HOLDER" 2>/dev/null || true; wait "$HOLDER" 2>/dev/null || true; fi
  if [ -n "$DAEMON" ]; then kill "$DAEMON" 2>/dev/null || true; wait "$DAEMON" 2>/dev/null || true; fi
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -t 1 ]; then BOLD=$'\033[1m' PLAIN=$'\033[0m'; else BOLD="" PLAIN=""; fi
show() { printf '\n%s$ %s%s\n' "$BOLD" "$*" "$PLAIN"; "$@"; }

echo "== a network namespace of our own, loopback up"
show ip netns add "$NS"
show ip -n "$NS" link set lo up

echo
echo "== a stateful ruleset: without a rule that uses \`ct', a namespace tracks nothing"
ip netns exec "$NS" nft -f - <<'RULES'
table inet demo {
  chain in {
    type filter hook input priority 0; policy accept;
    ct state established,related accept
    ct state new accept
  }
  chain out {
    type filter hook output priority 0; policy accept;
    ct state established,related,new accept
  }
}
RULES
show ip netns exec "$NS" nft list ruleset

echo
echo "== real traffic inside the namespace: TCP (one connection closed, one held open) and UDP"
echo "   over 127.0.0.1 and ::1, made by a Node process started inside the namespace"
# makeTraffic (test/kernel/netns.ts) runs the exchanges inside the namespace and keeps the
# open connections until this holder process ends.
"$NODE" -e '
const { Netns, makeTraffic } = require("./dist/test/kernel/netns.js");
makeTraffic(new Netns(process.argv[1]), { keepOpen: true, icmp: false, ruleset: false }).then((t) => {
  for (const f of t.flows) {
    const addr = (a) => (a.includes(":") ? `[${a}]` : a);
    console.log(`   ${f.proto} ${addr(f.src)}:${f.sport} -> ${addr(f.dst)}:${f.dport} ${f.open ? "(held open)" : "(closed)"}`);
  }
  console.log("READY");
  process.on("SIGTERM", () => t.close().then(() => process.exit(0)));
}, (e) => { console.error(e.message); process.exit(1); });
' "$NS" >"$WORK/flows" 2>&1 &
HOLDER=$!
for _ in $(seq 100); do
  grep -q '^READY$' "$WORK/flows" && break
  kill -0 "$HOLDER" 2>/dev/null || { cat "$WORK/flows" >&2; exit 1; }
  sleep 0.1
done
grep -q '^READY$' "$WORK/flows" || { echo "demo: traffic generator did not finish" >&2; cat "$WORK/flows" >&2; exit 1; }
grep -v '^READY$' "$WORK/flows"
show ip netns exec "$NS" ping -n -q -c 1 127.0.0.1
show ip netns exec "$NS" ping -n -q -6 -c 1 ::1

echo
echo "== what the kernel tracked, as ${CT[*]} shows it"
show ip netns exec "$NS" "${CT[@]}" -L
show ip netns exec "$NS" "${CT[@]}" -L -o extended
show ip netns exec "$NS" "${CT[@]}" -L -p tcp --state ESTABLISHED
show ip netns exec "$NS" "${CT[@]}" -C

echo
echo "== conntrackd in Stats mode: a cache of the live flows, a log of the destroyed ones"
# The config the differential tests use (test/diff/conntrackd-harness.ts), its files under $WORK.
"$NODE" -e '
const { configText } = require("./dist/test/diff/conntrackd-harness.js");
const dir = process.argv[1];
const p = (f) => `${dir}/${f}`;
process.stdout.write(configText({ dir, config: p("conntrackd.conf"), lock: p("lock"), socket: p("ctl.sock"), log: p("conntrackd.log"), statsLog: p("stats.log") }));
' "$WORK" >"$WORK/conntrackd.conf"
show cat "$WORK/conntrackd.conf"
CTDC=("${CTD[@]}" -C "$WORK/conntrackd.conf")
printf '\n%s$ %s &%s\n' "$BOLD" "ip netns exec $NS ${CTDC[*]}" "$PLAIN"
# In the foreground (no -d): it logs to its console as well as to its LogFile.
ip netns exec "$NS" "${CTDC[@]}" >"$WORK/console" 2>&1 &
DAEMON=$!
for _ in $(seq 100); do
  ip netns exec "$NS" "${CTDC[@]}" -s >/dev/null 2>&1 && break
  kill -0 "$DAEMON" 2>/dev/null || { cat "$WORK/console" >&2; exit 1; }
  sleep 0.1
done
echo "   the start-up dump put every flow the kernel tracks into its cache:"
show ip netns exec "$NS" "${CTDC[@]}" -i

echo
echo "== more traffic: the daemon follows the kernel's events"
"$NODE" -e '
const { Netns, makeTraffic } = require("./dist/test/kernel/netns.js");
makeTraffic(new Netns(process.argv[1]), { icmp: false, ipv6: false, ruleset: false }).then((t) => {
  for (const f of t.flows) console.log(`   new ${f.proto} 127.0.0.1:${f.sport} -> 127.0.0.1:${f.dport}`);
}, (e) => { console.error(e.message); process.exit(1); });
' "$NS"
sleep 0.3
show ip netns exec "$NS" "${CTDC[@]}" -i

echo
echo "== destroyed flows: the UDP ones deleted from the table leave the cache and go to the stats log"
show ip netns exec "$NS" "${CT[@]}" -D -p udp
sleep 0.3
show ip netns exec "$NS" "${CTDC[@]}" -i
show cat "$WORK/stats.log"
show ip netns exec "$NS" "${CTDC[@]}" -s
show ip netns exec "$NS" "${CTDC[@]}" -k
wait "$DAEMON" || true
DAEMON=""
echo "   what it logged:"
cat "$WORK/conntrackd.log"

echo
echo "== done; the namespace $NS is deleted on exit"
