/* Oracle: builds nf_conntrack objects with libnetfilter_conntrack 1.0.9 setters
 * from "key=value" tokens (one object per stdin line) and prints what its
 * printers produce: "T:" default text, "X:" xml, "N:" snat/dnat objopt. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

static void addr(struct nf_conntrack *ct, int l3, int a4, int a6, const char *v) {
	if (l3 == AF_INET6) { struct in6_addr x; inet_pton(AF_INET6, v, &x); nfct_set_attr(ct, a6, &x); }
	else { struct in_addr x; inet_pton(AF_INET, v, &x); nfct_set_attr_u32(ct, a4, x.s_addr); }
}

int main(void) {
	char line[4096];
	while (fgets(line, sizeof line, stdin)) {
		struct nf_conntrack *ct = nfct_new();
		struct nfct_labelmap *map = NULL;
		unsigned type = NFCT_T_UNKNOWN, flags = 0;
		int l3 = AF_INET;
		char *save, *tok;
		line[strcspn(line, "\n")] = 0;
		if (!*line) continue;
		for (tok = strtok_r(line, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
			char *v = strchr(tok, '='); if (!v) continue; *v++ = 0;
			unsigned long long n = strtoull(v, NULL, 0);
			if (!strcmp(tok, "l3")) { l3 = n; nfct_set_attr_u8(ct, ATTR_ORIG_L3PROTO, n); nfct_set_attr_u8(ct, ATTR_REPL_L3PROTO, n); }
			else if (!strcmp(tok, "src")) addr(ct, l3, ATTR_ORIG_IPV4_SRC, ATTR_ORIG_IPV6_SRC, v);
			else if (!strcmp(tok, "dst")) addr(ct, l3, ATTR_ORIG_IPV4_DST, ATTR_ORIG_IPV6_DST, v);
			else if (!strcmp(tok, "rsrc")) addr(ct, l3, ATTR_REPL_IPV4_SRC, ATTR_REPL_IPV6_SRC, v);
			else if (!strcmp(tok, "rdst")) addr(ct, l3, ATTR_REPL_IPV4_DST, ATTR_REPL_IPV6_DST, v);
			else if (!strcmp(tok, "proto")) { nfct_set_attr_u8(ct, ATTR_ORIG_L4PROTO, n); nfct_set_attr_u8(ct, ATTR_REPL_L4PROTO, n); }
			else if (!strcmp(tok, "sport")) nfct_set_attr_u16(ct, ATTR_ORIG_PORT_SRC, htons(n));
			else if (!strcmp(tok, "dport")) nfct_set_attr_u16(ct, ATTR_ORIG_PORT_DST, htons(n));
			else if (!strcmp(tok, "rsport")) nfct_set_attr_u16(ct, ATTR_REPL_PORT_SRC, htons(n));
			else if (!strcmp(tok, "rdport")) nfct_set_attr_u16(ct, ATTR_REPL_PORT_DST, htons(n));
			else if (!strcmp(tok, "itype")) nfct_set_attr_u8(ct, ATTR_ICMP_TYPE, n);
			else if (!strcmp(tok, "icode")) nfct_set_attr_u8(ct, ATTR_ICMP_CODE, n);
			else if (!strcmp(tok, "iid")) nfct_set_attr_u16(ct, ATTR_ICMP_ID, htons(n));
			else if (!strcmp(tok, "timeout")) nfct_set_attr_u32(ct, ATTR_TIMEOUT, n);
			else if (!strcmp(tok, "tcp")) nfct_set_attr_u8(ct, ATTR_TCP_STATE, n);
			else if (!strcmp(tok, "sctp")) nfct_set_attr_u8(ct, ATTR_SCTP_STATE, n);
			else if (!strcmp(tok, "dccp")) nfct_set_attr_u8(ct, ATTR_DCCP_STATE, n);
			else if (!strcmp(tok, "status")) nfct_set_attr_u32(ct, ATTR_STATUS, n);
			else if (!strcmp(tok, "mark")) nfct_set_attr_u32(ct, ATTR_MARK, n);
			else if (!strcmp(tok, "secmark")) nfct_set_attr_u32(ct, ATTR_SECMARK, n);
			else if (!strcmp(tok, "secctx")) nfct_set_attr(ct, ATTR_SECCTX, v);
			else if (!strcmp(tok, "zone")) nfct_set_attr_u16(ct, ATTR_ZONE, n);
			else if (!strcmp(tok, "ozone")) nfct_set_attr_u16(ct, ATTR_ORIG_ZONE, n);
			else if (!strcmp(tok, "rzone")) nfct_set_attr_u16(ct, ATTR_REPL_ZONE, n);
			else if (!strcmp(tok, "op")) nfct_set_attr_u64(ct, ATTR_ORIG_COUNTER_PACKETS, n);
			else if (!strcmp(tok, "ob")) nfct_set_attr_u64(ct, ATTR_ORIG_COUNTER_BYTES, n);
			else if (!strcmp(tok, "rp")) nfct_set_attr_u64(ct, ATTR_REPL_COUNTER_PACKETS, n);
			else if (!strcmp(tok, "rb")) nfct_set_attr_u64(ct, ATTR_REPL_COUNTER_BYTES, n);
			else if (!strcmp(tok, "use")) nfct_set_attr_u32(ct, ATTR_USE, n);
			else if (!strcmp(tok, "id")) nfct_set_attr_u32(ct, ATTR_ID, n);
			else if (!strcmp(tok, "tstart")) nfct_set_attr_u64(ct, ATTR_TIMESTAMP_START, n);
			else if (!strcmp(tok, "tstop")) nfct_set_attr_u64(ct, ATTR_TIMESTAMP_STOP, n);
			else if (!strcmp(tok, "helper")) nfct_set_attr(ct, ATTR_HELPER_NAME, v);
			else if (!strcmp(tok, "map")) map = nfct_labelmap_new(v);
			else if (!strcmp(tok, "labels")) { /* labels=MAXBIT:b,b,b */
				unsigned max = strtoul(v, &v, 0); struct nfct_bitmask *b = nfct_bitmask_new(max);
				while (*v == ':' || *v == ',') { v++; if (*v) nfct_bitmask_set_bit(b, strtoul(v, &v, 0)); }
				nfct_set_attr(ct, ATTR_CONNLABELS, b);
			}
			else if (!strcmp(tok, "type")) type = !strcmp(v, "new") ? NFCT_T_NEW : !strcmp(v, "update") ? NFCT_T_UPDATE : NFCT_T_DESTROY;
			else if (!strcmp(tok, "flags")) {
				if (strstr(v, "l3")) flags |= NFCT_OF_SHOW_LAYER3;
				if (strstr(v, "id")) flags |= NFCT_OF_ID;
				if (strstr(v, "ts")) flags |= NFCT_OF_TIMESTAMP;
				if (strstr(v, "time")) flags |= NFCT_OF_TIME;
			}
		}
		char buf[8192];
		nfct_snprintf_labels(buf, sizeof buf, ct, type, NFCT_O_DEFAULT, flags, map);
		printf("T:%s|\n", buf);
		nfct_snprintf_labels(buf, sizeof buf, ct, type, NFCT_O_XML, flags, map);
		printf("X:%s|\n", buf);
		printf("N:snat=%d dnat=%d\n", nfct_getobjopt(ct, NFCT_GOPT_IS_SNAT), nfct_getobjopt(ct, NFCT_GOPT_IS_DNAT));
		nfct_destroy(ct);
	}
	return 0;
}
