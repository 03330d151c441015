#!/bin/bash
# Captures the sync link between two C conntrackd 1.4.7 daemons (FTFW over
# UDP) while flows of every kind come and go on the primary, and writes the
# datagrams to test/fixtures/conntrackd/sync/ftfw-udp.pcap. Two throw-away
# network namespaces joined by a veth pair; nothing leaves them.
#
# Usage (root): tools/capture-sync-golden.sh [out.pcap]
set -euo pipefail
out=${1:-test/fixtures/conntrackd/sync/ftfw-udp.pcap}
root=$(cd "$(dirname "$0")/.." && pwd) # labels are made with our library: build it first (dist/)
a=ctsync-a-$$ b=ctsync-b-$$
dir=$(mktemp -d /tmp/ctsync.XXXXXX)
cleanup() {
  for n in $a $b; do
    [ -f "$dir/$n.pid" ] && kill "$(cat "$dir/$n.pid")" 2>/dev/null || true
    ip netns pids "$n" 2>/dev/null | xargs -r kill 2>/dev/null || true
    ip netns del "$n" 2>/dev/null || true
  done
  rm -rf "$dir"
}
trap cleanup EXIT

ip netns add $a; ip netns add $b
ip link add sync-a netns $a type veth peer name sync-b netns $b
ip -n $a addr add 192.168.77.1/24 dev sync-a; ip -n $a link set sync-a up; ip -n $a link set lo up
ip -n $b addr add 192.168.77.2/24 dev sync-b; ip -n $b link set sync-b up; ip -n $b link set lo up

# conf NAME SELF PEER IFACE: a FTFW/UDP config that ignores the sync link's
# own flows, so only the flows made below are replicated.
conf() {
  cat > "$dir/$1.conf" <<CONF
Sync {
  Mode FTFW { ResendQueueSize 131072 ACKWindowSize 300 }
  UDP { IPv4_address $2 IPv4_Destination_Address $3 Port 3780 Interface $4 Checksum on }
  Options { TCPWindowTracking on ExpectationSync on }
}
General {
  HashSize 8192
  HashLimit 65536
  LogFile $dir/$1.log
  LockFile $dir/$1.lock
  UNIX { Path $dir/$1.ctl }
  Scheduler { Type FIFO Priority 0 }
  Filter From Userspace {
    Address Ignore { IPv4_address 127.0.0.1 IPv4_address 192.168.77.1 IPv4_address 192.168.77.2 }
  }
}
CONF
}
conf $a 192.168.77.1 192.168.77.2 sync-a
conf $b 192.168.77.2 192.168.77.1 sync-b

# Make the conntrack table exist in both namespaces before the daemons dump it.
ip netns exec $a conntrack -L >/dev/null 2>&1 || true
ip netns exec $b conntrack -L >/dev/null 2>&1 || true

ip netns exec $a tcpdump -i sync-a -U -s 0 -w "$dir/cap.pcap" udp port 3780 2>"$dir/tcpdump.err" &
echo $! > "$dir/tcpdump.pid"
sleep 1
ip netns exec $a conntrackd -C "$dir/$a.conf" > "$dir/$a.out" 2>&1 & echo $! > "$dir/$a.pid"
sleep 0.5
ip netns exec $b conntrackd -C "$dir/$b.conf" > "$dir/$b.out" 2>&1 & echo $! > "$dir/$b.pid"
sleep 2.5

ct() { ip netns exec $a conntrack "$@" >/dev/null 2>>"$dir/conntrack.err" || echo "conntrack $* failed" >&2; sleep 0.4; }
ct -I -p tcp -s 10.1.1.1 -d 10.2.2.2 --sport 1000 --dport 80 --state ESTABLISHED -u ASSURED -t 300 -m 7
ct -I -p udp -s 10.1.1.1 -d 10.2.2.2 --sport 5353 --dport 53 -t 30
ct -I -p icmp -s 10.1.1.1 -d 10.2.2.2 --icmp-type 8 --icmp-code 0 --icmp-id 4660 -t 30
ct -I -p tcp -s 10.1.1.1 -d 10.2.2.2 --sport 1001 --dport 80 --state ESTABLISHED -t 300 -w 5
ct -I -p tcp -s 10.1.1.1 -d 10.2.2.2 --sport 1002 --dport 443 --state ESTABLISHED -t 300 --src-nat 10.9.9.9:4000
ct -I -p tcp -s 10.1.1.1 -d 10.2.2.2 --sport 1003 --dport 80 --state ESTABLISHED -t 300 --dst-nat 10.8.8.8:8080
ct -I -p udp -s 10.1.1.1 -d 10.2.2.2 --sport 1004 --dport 53 -t 30 --src-nat 10.9.9.9 --dst-nat 10.8.8.8
ct -I -p sctp -s 10.1.1.1 -d 10.2.2.2 --sport 1005 --dport 5000 --state ESTABLISHED --orig-vtag 17 --reply-vtag 34 -t 300
ct -I -p dccp -s 10.1.1.1 -d 10.2.2.2 --sport 1006 --dport 5001 --state OPEN --role client -t 300
ct -I -p gre -s 10.1.1.1 -d 10.2.2.2 --srckey 1 --dstkey 2 -t 30
ct -I -p tcp -s 2001:db8::1 -d 2001:db8::2 --sport 1007 --dport 22 --state ESTABLISHED -t 300 -m 3
ct -I -p icmpv6 -s 2001:db8::1 -d 2001:db8::2 --icmpv6-type 128 --icmpv6-code 0 --icmpv6-id 77 -t 30
ct -I -p udp -s 2001:db8::1 -d 2001:db8::2 --sport 1008 --dport 53 -t 30 --src-nat 2001:db8::9
ct -I -p tcp -s 10.1.1.1 -d 10.2.2.2 --sport 1009 --dport 80 --state SYN_SENT -u SEEN_REPLY -t 60
# Updates and deletes.
ct -U -p tcp -s 10.1.1.1 -d 10.2.2.2 --sport 1000 --dport 80 -m 9
ct -D -p udp -s 10.1.1.1 -d 10.2.2.2 --sport 5353 --dport 53
sleep 2.5
# The backup asks for a resync: RESYNC, then a bulk of the primary's cache.
ip netns exec $b conntrackd -C "$dir/$b.conf" -n
sleep 2.5
# Every second datagram from the primary is lost: NACKs and retransmissions.
ip netns exec $a nft -f - <<NFT
table inet lossy {
  chain out {
    type filter hook output priority 0;
    udp dport 3780 numgen inc mod 2 == 0 drop
  }
}
NFT
for p in $(seq 2000 2009); do ct -I -p udp -s 10.1.1.1 -d 10.3.3.3 --sport $p --dport 53 -t 30; done
ip netns exec $a nft delete table inet lossy
sleep 3.5
# Labels (bits 3 and 70). A ruleset that sets labels makes the kernel keep
# them; conntrack 1.4.7 only takes label names from a connlabel.conf, so our
# library makes this flow.
ip netns exec $a nft -f - <<NFT
table inet labels {
  chain out {
    type filter hook output priority 0;
    meta mark 0x4242 ct label set 3
  }
}
NFT
ip netns exec $a node -e "
const { Conntrack } = require('$root/dist/src/api/conntrack.js');
const labels = Buffer.alloc(16);
labels[0] = 1 << 3;
labels[8] = 1 << 6;
const ct = Conntrack.open();
ct.create({ family: 2, orig: { l3: 2, src: '10.1.1.1', dst: '10.2.2.2', proto: 6, sport: 1010, dport: 80 },
  reply: { l3: 2, src: '10.2.2.2', dst: '10.1.1.1', proto: 6, sport: 80, dport: 1010 },
  timeout: 300, tcp: { state: 3 }, labels }).finally(() => ct.close());
"
sleep 1
# An expectation: the ftp helper sees a PORT command on a control
# connection over 10.7.7.1 (the primary's loopback device). The helper
# parses a direction from its second line on, hence USER first.
ip -n $a addr add 10.7.7.1/32 dev lo
ip netns exec $a nft -f - <<NFT
table inet ftp {
  ct helper ftp-standard { type "ftp" protocol tcp; l3proto inet; }
  chain out {
    type filter hook output priority 0;
    tcp dport 21 ct helper set "ftp-standard"
  }
}
NFT
ip netns exec $a python3 - <<'PY'
import socket, time
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(('10.7.7.1', 21)); srv.listen(1)
cli = socket.socket(); cli.bind(('10.7.7.1', 40000)); cli.connect(('10.7.7.1', 21))
conn, _ = srv.accept()
for line in (b'USER ftp\r\n', b'PORT 10,7,7,1,39,16\r\n'):
    cli.sendall(line); conn.recv(100); conn.sendall(b'200 ok\r\n'); cli.recv(100)
time.sleep(1.5)
PY
sleep 1.5
kill "$(cat "$dir/tcpdump.pid")"; wait "$(cat "$dir/tcpdump.pid")" 2>/dev/null || true
cp "$dir/cap.pcap" "$out"
cat "$dir/conntrack.err" >&2 || true
echo "captured $(stat -c %s "$out") bytes into $out"
