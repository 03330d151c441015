"""Raw ctnetlink dump (IPCTNL_MSG_CT_GET, NLM_F_DUMP) decoded independently of
the project's codec: prints one JSON object per entry with the attribute
values exactly as the kernel sent them (numbers host-order, u64 as strings)."""
import json, socket, struct, sys, ipaddress  # inet_ntop: the same glibc text conntrack prints

NETLINK_NETFILTER = 12
def attrs(buf):
    out, off = {}, 0
    while off + 4 <= len(buf):
        ln, typ = struct.unpack_from('=HH', buf, off)
        if ln < 4: break
        out[typ & 0x3fff] = buf[off + 4: off + ln]
        off += (ln + 3) & ~3
    return out
be16 = lambda b: struct.unpack('>H', b)[0]
be32 = lambda b: struct.unpack('>I', b)[0]
be64 = lambda b: str(struct.unpack('>Q', b)[0])

def tuple_(b):
    a, t = attrs(b), {}
    if 1 in a:
        ip = attrs(a[1])
        for k, name in ((1, 'src'), (2, 'dst')):
            if k in ip: t[name] = str(ipaddress.IPv4Address(ip[k]))
        for k, name in ((3, 'src'), (4, 'dst')):
            if k in ip: t[name] = socket.inet_ntop(socket.AF_INET6, ip[k])
    if 2 in a:
        p = attrs(a[2])
        if 1 in p: t['proto'] = p[1][0]
        if 2 in p: t['sport'] = be16(p[2])
        if 3 in p: t['dport'] = be16(p[3])
        for base in (4, 7):
            if base in p: t['icmpId'] = be16(p[base])
            if base + 1 in p: t['icmpType'] = p[base + 1][0]
            if base + 2 in p: t['icmpCode'] = p[base + 2][0]
    if 3 in a: t['zone'] = be16(a[3])
    return t

def counters(b):
    a = attrs(b)
    return {'packets': be64(a[1]), 'bytes': be64(a[2])}

def entry(family, b):
    a, f = attrs(b), {'family': family}
    f['orig'] = tuple_(a[1]); f['reply'] = tuple_(a[2])
    if 3 in a: f['status'] = be32(a[3])
    if 4 in a:
        pi = attrs(a[4])
        if 1 in pi:
            t = attrs(pi[1]); f['tcp'] = {}
            if 1 in t: f['tcp']['state'] = t[1][0]
            if 2 in t: f['tcp']['wscaleOrig'] = t[2][0]
            if 3 in t: f['tcp']['wscaleReply'] = t[3][0]
            if 4 in t: f['tcp']['flagsOrig'] = {'flags': t[4][0], 'mask': t[4][1]}
            if 5 in t: f['tcp']['flagsReply'] = {'flags': t[5][0], 'mask': t[5][1]}
        if 3 in pi:
            s = attrs(pi[3]); f['sctp'] = {}
            if 1 in s: f['sctp']['state'] = s[1][0]
            if 2 in s: f['sctp']['vtagOrig'] = be32(s[2])
            if 3 in s: f['sctp']['vtagReply'] = be32(s[3])
        if 2 in pi:
            d = attrs(pi[2]); f['dccp'] = {}
            if 1 in d: f['dccp']['state'] = d[1][0]
            if 2 in d: f['dccp']['role'] = d[2][0]
    if 5 in a: f['helper'] = attrs(a[5])[1].rstrip(b'\0').decode()
    if 7 in a: f['timeout'] = be32(a[7])
    if 8 in a: f['mark'] = be32(a[8])
    if 9 in a: f['countersOrig'] = counters(a[9])
    if 10 in a: f['countersReply'] = counters(a[10])
    if 11 in a: f['use'] = be32(a[11])
    if 12 in a: f['id'] = be32(a[12])
    if 17 in a: f['secmark'] = be32(a[17])
    if 18 in a: f['zone'] = be16(a[18])
    if 19 in a: f['secctx'] = attrs(a[19])[1].rstrip(b'\0').decode()
    if 20 in a:
        ts = attrs(a[20]); f['timestamp'] = {}
        if 1 in ts: f['timestamp']['start'] = be64(ts[1])
        if 2 in ts: f['timestamp']['stop'] = be64(ts[2])
    if 22 in a: f['labels'] = a[22].hex()
    return f

s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
s.bind((0, 0))
req = struct.pack('=IHHII', 20, (1 << 8) | 1, 0x1 | 0x300, 1, 0) + struct.pack('=BBH', 0, 0, 0)
s.send(req)
out, done = [], False
while not done:
    data = s.recv(1 << 20)
    off = 0
    while off < len(data):
        ln, typ, flags, seq, pid = struct.unpack_from('=IHHII', data, off)
        if typ == 3: done = True; break
        if typ == 2: sys.exit('netlink error %d' % struct.unpack_from('=i', data, off + 16)[0])
        family = data[off + 16]
        out.append(entry(family, data[off + 20: off + ln]))
        off += (ln + 3) & ~3
print(json.dumps(out, indent=1))
