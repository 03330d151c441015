#!/bin/bash
# Creates conntrack entries in a throw-away network namespace (no packet is
# sent anywhere) and captures the reference tool's output formats into OUT
# (list-*.txt, flows.json). Usage: capture.sh OUT   (as root)
set -euo pipefail
OUT=$1
NS=ctts-fmt-$$
ETC=$(mktemp -d)
cleanup() { ip netns del "$NS" 2>/dev/null || true; rm -rf "$ETC"; }
trap cleanup EXIT
ip netns add "$NS"
# Label names come from /etc/xtables/connlabel.conf; provide one in a private
# mount namespace instead of touching the machine's /etc.
cp -a /etc/. "$ETC"/
mkdir -p "$ETC/xtables"
printf '0 zero\n1 one\n5 five-5\n70 seventy\n' > "$ETC/xtables/connlabel.conf"
run() { unshare -m sh -c 'mount --bind "$0" /etc && ns=$1 && shift && exec ip netns exec "$ns" "$@"' "$ETC" "$NS" "$@"; }
run sysctl -qw net.netfilter.nf_conntrack_acct=1 net.netfilter.nf_conntrack_timestamp=1
# Any rule using "ct label" enables the connlabel extension in the namespace.
run nft add table inet ctts
run nft add chain inet ctts out '{ type filter hook output priority 0; }'
run nft add rule inet ctts out meta mark 0x7fffffff ct label set 70
while read -r line; do
  [ -z "$line" ] && continue
  echo "conntrack $line" >> "$OUT/commands.txt"
  run conntrack $line 2>>"$OUT/insert-stderr.txt"
done < "$(dirname "$0")/entries.txt"
for try in 1 2 3 4 5 6 7 8 9 10; do
  before=$(date +%s)
  run conntrack -L > "$OUT/list.txt" 2>/dev/null
  run conntrack -L -o extended,id > "$OUT/list-extended-id.txt" 2>/dev/null
  run conntrack -L -o xml > "$OUT/list-xml.txt" 2>/dev/null
  run conntrack -L -o save > "$OUT/list-save.txt" 2>/dev/null
  run conntrack -L -o ktimestamp,labels > "$OUT/list-ktimestamp-labels.txt" 2>/dev/null
  run conntrack -L -o xml,ktimestamp,labels > "$OUT/list-xml-ktimestamp-labels.txt" 2>/dev/null
  run python3 "$(dirname "$0")/rawdump.py" > "$OUT/raw.json"
  after=$(date +%s)
  # One wall-clock second for all captures, and the same timeouts everywhere.
  t1=$(grep -o '^[a-z0-9]* *[0-9]* [0-9]*' "$OUT/list.txt" | awk '{print $3}' | tr '\n' ' ')
  t2=$(grep -o '<timeout>[0-9]*' "$OUT/list-xml-ktimestamp-labels.txt" | tr -dc '0-9\n' | tr '\n' ' ')
  t3=$(python3 -c 'import json,sys; print(" ".join(str(e["timeout"]) for e in json.load(open(sys.argv[1]))), end=" ")' "$OUT/raw.json")
  echo "try $try: $before-$after [$t1] [$t2] [$t3]" | cut -c1-200 >&2
  if [ "$before" = "$after" ] && [ "$t1" = "$t2" ] && [ "$t2" = "$t3" ]; then
    echo "$before" > "$OUT/now.txt"
    python3 "$(dirname "$0")/assemble.py" "$OUT"
    exit 0
  fi
  sleep 0.3
done
echo "could not capture a consistent snapshot" >&2; exit 1
