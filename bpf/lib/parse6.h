/* One parse of an Ethernet/IPv6 frame into plain values (struct pw_pkt6), shared by the XDP
 * and the tc program; the IPv6 counterpart of pkt.h. As there, header problems are recorded,
 * not acted on: a malformed packet is dropped only when it turns out to be addressed to a
 * service address (or a node-port frontend), and passed untouched otherwise.
 *
 * Offsets are kept as scalars from the start of the frame and every access re-derives its
 * pointer as data + (offset & mask) followed by its own bounds check: the verifier then sees
 * a bounded variable offset on each access, which a cursor advanced by variable lengths in a
 * loop would not give it (its range would grow with every iteration). */
#pragma once

#include "lib/parse.h"
#include <linux/ipv6.h>

#include "lib/pkt.h"
#include "portway/lb_abi.h"

#ifndef ETH_P_IPV6
#define ETH_P_IPV6 0x86DD
#endif

#define PW_IP6_HLEN 40

/* Next-header values (IANA): the extension headers the walk knows, and the upper layers. */
#define PW_NEXTHDR_HOP 0
#define PW_NEXTHDR_ROUTING 43
#define PW_NEXTHDR_FRAGMENT 44
#define PW_NEXTHDR_DEST 60
#define PW_NEXTHDR_ICMP6 58

/* The walk reads at most this many extension headers; a longer chain to a service address is
 * dropped (PW_DROP_IP6_EXT_CHAIN). Real traffic carries one or two (RFC 8200 4.1 recommends
 * each at most once, destination options twice); the bound keeps the verifier's work fixed. */
#define PW_IP6_MAX_EXT 8
/* An extension header is at most (255 + 1) * 8 bytes; the walk's offsets stay below this. */
#define PW_IP6_OFF_MASK 0x3fff

/* ICMPv6 (RFC 4443). */
#define PW_ICMP6_DEST_UNREACH 1
#define PW_ICMP6_PKT_TOOBIG 2
#define PW_ICMP6_TIME_EXCEED 3
#define PW_ICMP6_PARAMPROB 4
#define PW_ICMP6_PORT_UNREACH 4 /* code of PW_ICMP6_DEST_UNREACH */
#define PW_ICMP6_EXC_HOPLIMIT 0 /* code of PW_ICMP6_TIME_EXCEED */
#define PW_ICMP6_HLEN 8
/* Neighbour discovery (RFC 4861): router/neighbour solicitation/advertisement, redirect. */
#define PW_ICMP6_ND_FIRST 133
#define PW_ICMP6_ND_LAST 137

struct pw_pkt6 {
	__u32 frame_len;   /* the whole frame: XDP frags / skb paged data included */
	__u32 l4_off;      /* from the start of the frame, after the extension headers */
	__u32 l4_len;      /* payload_len minus the extension headers */
	__u32 tcp_seq;     /* host order */
	__u32 tcp_ack;     /* host order */
	__u32 tcp_seg_len; /* payload + SYN + FIN */
	__u32 in_l3_off;   /* ICMPv6 error: the quoted IPv6 header */
	__u32 in_l4_off;   /* ICMPv6 error: the quoted TCP/UDP header */
	__be32 frag_id;    /* fragment header's identification */
	struct pw_in6 saddr;
	struct pw_in6 daddr;
	struct pw_in6 in_saddr;
	struct pw_in6 in_daddr;
	__be16 sport;
	__be16 dport;
	__be16 in_sport;
	__be16 in_dport;
	__u16 payload_len; /* host order */
	__u8 proto;        /* upper-layer protocol after the extension headers */
	__u8 hop_limit;
	__u8 tcp_flags;
	__u8 l3_err;       /* pw_drop_reason, 0: the IPv6 header and its extensions are sound */
	__u8 l4_err;       /* pw_drop_reason, 0: the TCP/UDP header is sound */
	__u8 has_ports;
	__u8 later_frag;   /* fragment offset > 0: no upper-layer header */
	__u8 first_frag;   /* offset 0 with M: the upper-layer header, not the whole datagram */
	__u8 unknown_ext;  /* the walk stopped at a next header it does not know */
	__u8 icmp_type;
	__u8 icmp_code;
	__u8 inner;        /* enum pw_inner */
	__u8 in_proto;
	__u8 in_has_csum;
	__u8 dst;          /* enum pw_dst, filled by the caller that classifies */
	__u8 pad[3];
};

/* 1 for an Ethernet frame carrying IPv6 (the programs' dispatch). */
static __always_inline int pw_is_ipv6(void *data, void *end)
{
	struct ethhdr *eth = data;

	return (void *)(eth + 1) <= end && eth->h_proto == bpf_htons(ETH_P_IPV6);
}

static __always_inline int pw_icmp6_is_error(__u8 type)
{
	return type == PW_ICMP6_DEST_UNREACH || type == PW_ICMP6_PKT_TOOBIG ||
	       type == PW_ICMP6_TIME_EXCEED || type == PW_ICMP6_PARAMPROB;
}

static __always_inline int pw_in6_eq(const struct pw_in6 *a, const struct pw_in6 *b)
{
	return ((a->w[0] ^ b->w[0]) | (a->w[1] ^ b->w[1]) | (a->w[2] ^ b->w[2]) |
		(a->w[3] ^ b->w[3])) == 0;
}

static __always_inline int pw_in6_is_zero(const struct pw_in6 *a)
{
	return (a->w[0] | a->w[1] | a->w[2] | a->w[3]) == 0;
}

/* Neighbour discovery is link-local business: never looked at, never counted. */
static __always_inline int pw_is_nd(const struct pw_pkt6 *p)
{
	return p->proto == PW_NEXTHDR_ICMP6 && p->icmp_type >= PW_ICMP6_ND_FIRST &&
	       p->icmp_type <= PW_ICMP6_ND_LAST;
}

static __always_inline int pw_ip6_is_ext(__u8 next)
{
	return next == PW_NEXTHDR_HOP || next == PW_NEXTHDR_ROUTING || next == PW_NEXTHDR_DEST ||
	       next == PW_NEXTHDR_FRAGMENT;
}

/* The quoted packet of an ICMPv6 error: its IPv6 header, the extension headers it carried and
 * the first 8 bytes of TCP/UDP. The extension headers are walked as pw_parse6 walks the outer
 * packet's (same bound, same masked offsets), but against the end of the quote instead of a
 * payload length: a quote is cut wherever the sender's 1280 bytes ran out, so a header that
 * does not fit is a short quote (PW_INNER_SHORT), not a malformed packet. A quote of a later
 * fragment has no ports and a chain longer than the walk or an unknown next header cannot be
 * matched to a flow: both are PW_INNER_NONE (passed on).
 *
 * A subprogram: inlined, its walk would be verified once for every way out of the outer walk
 * (each with its own offset range), a product the verifier's 1M-instruction budget does not
 * hold. Called, it starts from the offsets in *p (a map value: unknown, masked scalars) and
 * the verifier prunes its states across callers. Returns 0. */
static __noinline int pw_parse_icmp6_quote(void *data, void *end, struct pw_pkt6 *p)
{
	__u32 quote_len = p->l4_len - PW_ICMP6_HLEN;
	__u32 in_off = (p->l4_off + PW_ICMP6_HLEN) & PW_IP6_OFF_MASK;
	struct ipv6hdr *in = data + in_off;
	struct pw_ports *ports;
	__u32 off, limit;
	__u8 next;

	p->inner = PW_INNER_SHORT;
	if (quote_len < PW_IP6_HLEN || (void *)(in + 1) > end)
		return 0;
	if ((*(__u8 *)in >> 4) != 6)
		return 0;
	limit = in_off + quote_len;
	off = in_off + PW_IP6_HLEN;
	next = in->nexthdr;
	for (int i = 0; i < PW_IP6_MAX_EXT; i++) {
		__u8 *h;

		if (!pw_ip6_is_ext(next))
			break;
		h = data + (off & PW_IP6_OFF_MASK);
		if ((void *)(h + 8) > end || off + 8 > limit)
			return 0;
		if (next == PW_NEXTHDR_FRAGMENT) {
			if (((h[2] << 8) | h[3]) & 0xfff8) {
				p->inner = PW_INNER_NONE;
				return 0;
			}
			off += 8;
		} else {
			off += ((__u32)h[1] + 1) * 8;
		}
		next = h[0];
	}
	if (next != IPPROTO_TCP && next != IPPROTO_UDP) {
		p->inner = PW_INNER_NONE;
		return 0;
	}
	/* RFC 4443 2.4(c): as much of the packet as fits in 1280 bytes, so ports and the UDP
	 * checksum are there in any real error; TCP's checksum (bytes 16-17) in most. */
	ports = data + (off & PW_IP6_OFF_MASK);
	if (off + 8 > limit || (void *)ports + 8 > end)
		return 0;
	p->inner = PW_INNER_OK;
	p->in_proto = next;
	__builtin_memcpy(&p->in_saddr, &in->saddr, sizeof(p->in_saddr));
	__builtin_memcpy(&p->in_daddr, &in->daddr, sizeof(p->in_daddr));
	p->in_sport = ports->source;
	p->in_dport = ports->dest;
	p->in_l3_off = in_off;
	p->in_l4_off = off;
	if (next == IPPROTO_UDP)
		p->in_has_csum = 1;
	else if (off + 18 <= limit && (void *)ports + 18 <= end)
		p->in_has_csum = 1;
	return 0;
}

/* The upper-layer header at p->l4_off (TCP, UDP or ICMPv6), as pw_parse does for IPv4. */
static __always_inline void pw_parse6_l4(void *data, void *end, struct pw_pkt6 *p)
{
	void *l4 = data + (p->l4_off & PW_IP6_OFF_MASK);

	if (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP) {
		struct pw_ports *ports = l4;

		if (p->l4_len >= sizeof(*ports) && (void *)(ports + 1) <= end) {
			p->sport = ports->source;
			p->dport = ports->dest;
			p->has_ports = 1;
		}
	}
	if (p->proto == IPPROTO_TCP) {
		struct tcphdr *tcp = l4;
		__u32 doff_len;

		if (p->l4_len < sizeof(*tcp) || (void *)(tcp + 1) > end) {
			p->l4_err = PW_DROP_L4_TRUNCATED;
			return;
		}
		doff_len = tcp->doff * 4;
		if (doff_len < sizeof(*tcp) || doff_len > p->l4_len) {
			p->l4_err = PW_DROP_TCP_BAD_DOFF;
			return;
		}
		p->tcp_flags = ((__u8 *)tcp)[13];
		p->tcp_seq = bpf_ntohl(tcp->seq);
		p->tcp_ack = bpf_ntohl(tcp->ack_seq);
		p->tcp_seg_len = p->l4_len - doff_len + !!(p->tcp_flags & PW_TCP_SYN) +
				 !!(p->tcp_flags & PW_TCP_FIN);
	} else if (p->proto == IPPROTO_UDP) {
		struct udphdr *udp = l4;
		__u32 ulen;

		if (p->l4_len < sizeof(*udp) || (void *)(udp + 1) > end) {
			p->l4_err = PW_DROP_L4_TRUNCATED;
			return;
		}
		ulen = bpf_ntohs(udp->len);
		if (ulen < sizeof(*udp) || (!p->first_frag && ulen > p->l4_len)) {
			p->l4_err = PW_DROP_UDP_BAD_LEN;
			return;
		}
		/* RFC 8200 8.1: a zero UDP checksum is not "none" in IPv6; receivers discard it. */
		if (udp->check == 0)
			p->l4_err = PW_DROP_UDP6_ZERO_CHECKSUM;
	} else if (p->proto == PW_NEXTHDR_ICMP6) {
		__u8 *icmp = l4;

		if (p->l4_len < PW_ICMP6_HLEN || (void *)(icmp + PW_ICMP6_HLEN) > end)
			return;
		p->icmp_type = icmp[0];
		p->icmp_code = icmp[1];
		if (pw_icmp6_is_error(p->icmp_type) && !p->first_frag)
			(void)pw_parse_icmp6_quote(data, end, p);
	}
}

/* Returns -1 when the frame is not IPv6 or too short to show its addresses (passed on
 * unchanged), 0 otherwise with *p filled as far as the headers allow. */
static __always_inline int pw_parse6(void *data, void *end, __u32 frame_len, struct pw_pkt6 *p)
{
	struct ethhdr *eth = data;
	struct ipv6hdr *ip6 = data + ETH_HLEN;
	__u32 off, limit;
	__u8 next;

	if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IPV6))
		return -1;
	if ((void *)(ip6 + 1) > end)
		return -1;

	p->frame_len = frame_len;
	__builtin_memcpy(&p->saddr, &ip6->saddr, sizeof(p->saddr));
	__builtin_memcpy(&p->daddr, &ip6->daddr, sizeof(p->daddr));
	p->hop_limit = ip6->hop_limit;
	p->payload_len = bpf_ntohs(ip6->payload_len);

	if ((*(__u8 *)ip6 >> 4) != 6) {
		p->l3_err = PW_DROP_IP_BAD_VERSION;
		return 0;
	}
	/* payload_len 0 announces a jumbogram (RFC 2675), which needs a hop-by-hop option this
	 * dataplane does not read; the frame may be longer than the packet (Ethernet padding),
	 * never shorter. */
	if (p->payload_len == 0 || p->payload_len > frame_len - ETH_HLEN - PW_IP6_HLEN) {
		p->l3_err = PW_DROP_IP6_BAD_PAYLOAD_LEN;
		return 0;
	}
	limit = ETH_HLEN + PW_IP6_HLEN + p->payload_len;
	off = ETH_HLEN + PW_IP6_HLEN;
	next = ip6->nexthdr;

	/* The bounded extension-header walk. A fixed trip count the verifier can see; every
	 * header is checked against the frame (readable) and against payload_len (part of
	 * this packet) before its length is used. */
	for (int i = 0; i < PW_IP6_MAX_EXT; i++) {
		__u8 *h;
		__u32 len;

		if (!pw_ip6_is_ext(next))
			goto upper;
		h = data + (off & PW_IP6_OFF_MASK);
		if ((void *)(h + 8) > end || off + 8 > limit) {
			p->l3_err = PW_DROP_IP6_TRUNCATED;
			return 0;
		}
		if (next == PW_NEXTHDR_FRAGMENT) {
			__u16 frag = ((__u16)h[2] << 8) | h[3];

			__builtin_memcpy(&p->frag_id, h + 4, sizeof(p->frag_id));
			p->later_frag = !!(frag & 0xfff8);
			/* An atomic fragment (offset 0, no M: RFC 6946) is a whole datagram. */
			p->first_frag = !p->later_frag && (frag & 1);
			len = 8;
		} else {
			/* A routing header with segments left (byte 3) names a later destination:
			 * this address is a waypoint, not where the packet ends, and the transport
			 * checksum covers the final address (RFC 8200 8.1). Not ours to translate:
			 * passed like an unknown header, to the kernel's routing-header policy. */
			if (next == PW_NEXTHDR_ROUTING && h[3]) {
				p->proto = next;
				p->l4_off = off;
				p->l4_len = limit - off;
				p->unknown_ext = 1;
				return 0;
			}
			len = ((__u32)h[1] + 1) * 8;
		}
		next = h[0];
		off += len;
		if (off > limit) {
			p->l3_err = PW_DROP_IP6_TRUNCATED;
			return 0;
		}
		/* A later fragment's payload is the middle of a datagram: nothing to parse. */
		if (p->later_frag) {
			p->proto = next;
			p->l4_off = off;
			p->l4_len = limit - off;
			return 0;
		}
	}
	/* Still an extension header after the bound: the chain is longer than the walk. */
	if (pw_ip6_is_ext(next)) {
		p->l3_err = PW_DROP_IP6_EXT_CHAIN;
		return 0;
	}
upper:
	p->proto = next;
	p->l4_off = off;
	p->l4_len = limit - off;
	if (next != IPPROTO_TCP && next != IPPROTO_UDP && next != PW_NEXTHDR_ICMP6) {
		p->unknown_ext = 1;
		return 0;
	}
	pw_parse6_l4(data, end, p);
	return 0;
}
