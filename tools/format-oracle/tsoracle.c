/* Feeds a hand-built CT_NEW message (IPv4 udp + CTA_TIMESTAMP/CTA_SECCTX/CTA_USE/
 * counters) to nfct_nlmsg_parse so read-only attributes get real values. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <endian.h>
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

static char buf[4096]; static size_t off;
static size_t put(int type, const void *d, int len) {
	struct nlattr *a = (void *)(buf + off); size_t at = off;
	a->nla_type = type; a->nla_len = NLA_HDRLEN + len; memcpy(buf + off + NLA_HDRLEN, d, len);
	off += NLA_ALIGN(a->nla_len); return at;
}
static size_t nest(int type) { size_t at = off; struct nlattr *a = (void *)(buf + off); a->nla_type = type | NLA_F_NESTED; off += NLA_HDRLEN; return at; }
static void end(size_t at) { ((struct nlattr *)(buf + at))->nla_len = off - at; }
static void tuple(int type, const char *s, const char *d, uint16_t sp, uint16_t dp) {
	size_t t = nest(type), ip = nest(CTA_TUPLE_IP); struct in_addr a;
	inet_pton(AF_INET, s, &a); put(CTA_IP_V4_SRC, &a, 4); inet_pton(AF_INET, d, &a); put(CTA_IP_V4_DST, &a, 4); end(ip);
	size_t p = nest(CTA_TUPLE_PROTO); uint8_t n = 17; put(CTA_PROTO_NUM, &n, 1);
	sp = htons(sp); dp = htons(dp); put(CTA_PROTO_SRC_PORT, &sp, 2); put(CTA_PROTO_DST_PORT, &dp, 2); end(p); end(t);
}
int main(int argc, char **argv) {
	/* argv: start stop (decimal ns, "-" = absent) secctx ("-" = absent) flags */
	struct nlmsghdr *nlh = (void *)buf; struct nfgenmsg *g;
	off = NLMSG_HDRLEN + sizeof(*g);
	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW;
	g = (void *)(buf + NLMSG_HDRLEN); g->nfgen_family = AF_INET;
	tuple(CTA_TUPLE_ORIG, "10.0.0.1", "10.0.0.2", 5000, 5001);
	tuple(CTA_TUPLE_REPLY, "10.0.0.2", "10.0.0.1", 5001, 5000);
	uint32_t st = htonl(2); put(CTA_STATUS, &st, 4);
	size_t c = nest(CTA_COUNTERS_ORIG); uint64_t v = htobe64(18446744073709551615ULL); put(CTA_COUNTERS_PACKETS, &v, 8); v = htobe64(33); put(CTA_COUNTERS_BYTES, &v, 8); end(c);
	c = nest(CTA_COUNTERS_REPLY); v = htobe64(1); put(CTA_COUNTERS_PACKETS, &v, 8); v = htobe64(34); put(CTA_COUNTERS_BYTES, &v, 8); end(c);
	if (strcmp(argv[3], "-")) { c = nest(CTA_SECCTX); put(CTA_SECCTX_NAME, argv[3], strlen(argv[3]) + 1); end(c); }
	uint32_t use = htonl(3); put(CTA_USE, &use, 4);
	if (strcmp(argv[1], "-") || strcmp(argv[2], "-")) {
		c = nest(CTA_TIMESTAMP);
		if (strcmp(argv[1], "-")) { v = htobe64(strtoull(argv[1], 0, 10)); put(CTA_TIMESTAMP_START, &v, 8); }
		if (strcmp(argv[2], "-")) { v = htobe64(strtoull(argv[2], 0, 10)); put(CTA_TIMESTAMP_STOP, &v, 8); }
		end(c);
	}
	nlh->nlmsg_len = off;
	struct nf_conntrack *ct = nfct_new();
	if (nfct_nlmsg_parse(nlh, ct) < 0) { perror("parse"); return 1; }
	char out[4096];
	unsigned flags = strstr(argv[4], "ts") ? NFCT_OF_TIMESTAMP : 0;
	nfct_snprintf(out, sizeof out, ct, NFCT_T_UNKNOWN, NFCT_O_DEFAULT, flags); printf("T:%s|\n", out);
	nfct_snprintf(out, sizeof out, ct, NFCT_T_UNKNOWN, NFCT_O_XML, flags); printf("X:%s|\n", out);
	return 0;
}
