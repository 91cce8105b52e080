/* One parse of an Ethernet/IPv4 frame into plain values (struct pw_pkt), shared by the XDP and
 * the tc program. Header problems are recorded, not acted on: whether a malformed packet is
 * dropped (addressed to a frontend) or passed on untouched (anything else) is decided later,
 * once the destination is known. Rewrites re-derive their pointers from the offsets here,
 * since tc helpers that change the packet invalidate every packet pointer. */
#pragma once

#include "lib/parse.h"
#include "portway/lb_abi.h"

#define PW_IP_DF 0x4000
#define PW_IP_MF 0x2000
#define PW_IP_OFFSET 0x1fff

#define PW_TCP_FIN 0x01
#define PW_TCP_SYN 0x02
#define PW_TCP_RST 0x04
#define PW_TCP_ACK 0x10

enum pw_dst {
	PW_DST_NONE = 0,
	PW_DST_SERVICE = 1, /* a service address: everything to it is ours */
	PW_DST_NODE = 2,    /* a node address: only (node_port, proto) frontends are ours */
};

enum pw_inner {
	PW_INNER_NONE = 0,  /* not an ICMP error, or one about something we never translate */
	PW_INNER_OK = 1,    /* quoted IPv4 header and the first 8 bytes of TCP/UDP are there */
	PW_INNER_SHORT = 2, /* an ICMP error whose quote is cut short or malformed */
};

struct pw_pkt {
	__u32 frame_len;   /* the whole frame: XDP frags / skb paged data included */
	__u32 l4_off;      /* from the start of the frame */
	__u32 l4_len;      /* IP payload: tot_len - ihl * 4 */
	__u32 tcp_seq;     /* host order */
	__u32 tcp_ack;     /* host order */
	__u32 tcp_seg_len; /* payload + SYN + FIN: what acknowledging the segment adds */
	__u32 in_l3_off;   /* ICMP error: the quoted IPv4 header */
	__u32 in_l4_off;   /* ICMP error: the quoted TCP/UDP header */
	__be32 saddr;
	__be32 daddr;
	__be32 in_saddr;
	__be32 in_daddr;
	__be16 sport;
	__be16 dport;
	__be16 in_sport;
	__be16 in_dport;
	__be16 ip_id;
	__u16 frag;        /* host order flags + offset */
	__u16 tot_len;     /* host order */
	__u8 proto;
	__u8 ttl;
	__u8 tos;
	__u8 ihl_len;      /* ihl * 4 */
	__u8 tcp_flags;
	__u8 l3_err;       /* pw_drop_reason, 0: the IPv4 header is sound */
	__u8 l4_err;       /* pw_drop_reason, 0: the TCP/UDP header is sound */
	__u8 has_ports;    /* sport/dport readable (even if the rest of the header is not) */
	__u8 later_frag;   /* fragment offset > 0: no L4 header */
	__u8 first_frag;   /* offset 0 with MF: the L4 header, but not the whole datagram */
	__u8 df;
	__u8 icmp_type;
	__u8 icmp_code;
	__u8 inner;        /* enum pw_inner */
	__u8 in_proto;
	__u8 in_has_csum;  /* the quoted L4 checksum field lies inside the quote */
	__u8 dst;          /* enum pw_dst, filled by the caller that classifies */
};

/* ICMP types whose quoted packet we translate (RFC 792): destination unreachable (incl.
 * fragmentation needed), time exceeded, parameter problem. */
static __always_inline int pw_icmp_is_error(__u8 type)
{
	return type == ICMP_DEST_UNREACH || type == ICMP_TIME_EXCEEDED || type == ICMP_PARAMETERPROB;
}

static __always_inline void pw_parse_icmp_quote(struct pw_cursor *c, struct pw_pkt *p)
{
	__u32 quote_len = p->l4_len - sizeof(struct icmphdr);
	struct iphdr *in;
	struct pw_ports *ports;
	__u32 in_ihl;

	p->inner = PW_INNER_SHORT;
	if (quote_len < sizeof(struct iphdr) || peek_iphdr(c, &in))
		return;
	in_ihl = in->ihl * 4;
	if (in->version != 4 || in_ihl < sizeof(struct iphdr))
		return;
	/* Every router quotes at least the IP header and 8 bytes (RFC 792), so ports and, for
	 * UDP, the checksum are always there; TCP's checksum (bytes 16-17) only in longer
	 * quotes (RFC 1812 routers send up to 576 bytes). */
	if (quote_len < in_ihl + 8 || parse_iphdr(c, in_ihl) || parse_ports(c, &ports))
		return;
	if ((void *)ports + 8 > c->end)
		return;
	if (in->protocol != IPPROTO_TCP && in->protocol != IPPROTO_UDP) {
		p->inner = PW_INNER_NONE;
		return;
	}
	/* About a later fragment: no ports to match a flow with. */
	if (bpf_ntohs(in->frag_off) & PW_IP_OFFSET) {
		p->inner = PW_INNER_NONE;
		return;
	}
	p->inner = PW_INNER_OK;
	p->in_proto = in->protocol;
	p->in_saddr = in->saddr;
	p->in_daddr = in->daddr;
	p->in_sport = ports->source;
	p->in_dport = ports->dest;
	p->in_l3_off = p->l4_off + sizeof(struct icmphdr);
	p->in_l4_off = p->in_l3_off + in_ihl;
	if (in->protocol == IPPROTO_UDP)
		p->in_has_csum = 1;
	else if (quote_len >= in_ihl + 18 && (void *)ports + 18 <= c->end)
		p->in_has_csum = 1;
}

/* Returns -1 when the frame is not IPv4 or too short to show its addresses (nobody's business
 * here: passed on unchanged), 0 otherwise with *p filled as far as the headers allow. */
static __always_inline int pw_parse(void *data, void *data_end, __u32 frame_len, struct pw_pkt *p)
{
	struct pw_cursor c = { .pos = data, .end = data_end };
	struct ethhdr *eth;
	struct iphdr *ip;
	struct pw_ports *ports;
	__u32 ihl_len, tot_len;

	if (parse_ethhdr(&c, &eth) != bpf_htons(ETH_P_IP))
		return -1;
	if (peek_iphdr(&c, &ip))
		return -1;

	p->frame_len = frame_len;
	p->saddr = ip->saddr;
	p->daddr = ip->daddr;
	p->proto = ip->protocol;
	p->ttl = ip->ttl;
	p->tos = ip->tos;
	p->ip_id = ip->id;
	p->frag = bpf_ntohs(ip->frag_off);
	p->df = !!(p->frag & PW_IP_DF);

	if (ip->version != 4) {
		p->l3_err = PW_DROP_IP_BAD_VERSION;
		return 0;
	}
	ihl_len = ip->ihl * 4;
	if (ihl_len < sizeof(struct iphdr)) {
		p->l3_err = PW_DROP_IP_BAD_IHL;
		return 0;
	}
	tot_len = bpf_ntohs(ip->tot_len);
	if (parse_iphdr(&c, ihl_len)) {
		p->l3_err = PW_DROP_IP_TRUNCATED;
		return 0;
	}
	/* The frame may be longer than tot_len (Ethernet pads to 60 bytes), never shorter. */
	if (tot_len < ihl_len || tot_len > frame_len - ETH_HLEN) {
		p->l3_err = PW_DROP_IP_BAD_TOTLEN;
		return 0;
	}
	p->ihl_len = ihl_len;
	p->tot_len = tot_len;
	p->l4_off = ETH_HLEN + ihl_len;
	p->l4_len = tot_len - ihl_len;
	p->later_frag = !!(p->frag & PW_IP_OFFSET);
	p->first_frag = !p->later_frag && (p->frag & PW_IP_MF);
	if (p->later_frag)
		return 0;

	if (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP) {
		if (p->l4_len >= sizeof(*ports) && !parse_ports(&c, &ports)) {
			p->sport = ports->source;
			p->dport = ports->dest;
			p->has_ports = 1;
		}
	}

	if (p->proto == IPPROTO_TCP) {
		struct tcphdr *tcp;
		__u32 doff_len;

		if (p->l4_len < sizeof(*tcp) || parse_tcphdr(&c, &tcp)) {
			p->l4_err = PW_DROP_L4_TRUNCATED;
			return 0;
		}
		doff_len = tcp->doff * 4;
		/* Against the IP payload, not the frame end: padding is not TCP options. A first
		 * fragment must hold the whole TCP header (RFC 1858, tiny fragments). */
		if (doff_len < sizeof(*tcp) || doff_len > p->l4_len) {
			p->l4_err = PW_DROP_TCP_BAD_DOFF;
			return 0;
		}
		p->tcp_flags = ((__u8 *)tcp)[13];
		p->tcp_seq = bpf_ntohl(tcp->seq);
		p->tcp_ack = bpf_ntohl(tcp->ack_seq);
		p->tcp_seg_len = p->l4_len - doff_len + !!(p->tcp_flags & PW_TCP_SYN) +
				 !!(p->tcp_flags & PW_TCP_FIN);
	} else if (p->proto == IPPROTO_UDP) {
		struct udphdr *udp;
		__u32 ulen;

		if (p->l4_len < sizeof(*udp) || parse_udphdr(&c, &udp)) {
			p->l4_err = PW_DROP_L4_TRUNCATED;
			return 0;
		}
		/* A first fragment carries the length of the whole datagram, which is longer. */
		ulen = bpf_ntohs(udp->len);
		if (ulen < sizeof(*udp) || (!p->first_frag && ulen > p->l4_len)) {
			p->l4_err = PW_DROP_UDP_BAD_LEN;
			return 0;
		}
	} else if (p->proto == IPPROTO_ICMP) {
		struct icmphdr *icmp;

		if (p->l4_len < sizeof(*icmp) || parse_icmphdr(&c, &icmp))
			return 0;
		p->icmp_type = icmp->type;
		p->icmp_code = icmp->code;
		/* A fragmented ICMP error is not something routers send; not translated. */
		if (pw_icmp_is_error(icmp->type) && !p->first_frag)
			pw_parse_icmp_quote(&c, p);
	}
	return 0;
}
