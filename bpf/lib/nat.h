/* Rewrites by direct packet access: addresses, ports, the quoted packet of ICMP errors, and
 * the L2/TTL step of forwarding. Used as is by XDP; tc runs its TCP/UDP checksum updates
 * through the skb helpers first (CHECKSUM_PARTIAL) and then calls this with l4csum_done. */
#pragma once

#include "lib/csum.h"
#include "lib/action.h"

/* Offsets are masked so the verifier sees a bound on the variable part of each pointer: l4 is
 * at most 14 + 60, the quoted headers at most 14 + 60 + 8 + 60. */
#define PW_L4_OFF_MASK 0x7f
#define PW_QUOTE_OFF_MASK 0xff

static __always_inline void pw_l4_csum_replace4(__sum16 *csum, int udp, __be32 old, __be32 new)
{
	if (udp)
		pw_udp_csum_replace4(csum, old, new);
	else
		pw_csum_replace4(csum, old, new);
}

static __always_inline void pw_l4_csum_replace2(__sum16 *csum, int udp, __be16 old, __be16 new)
{
	if (udp)
		pw_udp_csum_replace2(csum, old, new);
	else
		pw_csum_replace2(csum, old, new);
}

/* One address of the quoted header: its IP checksum, its L4 checksum (pseudo-header) when
 * quoted, and the ICMP checksum, which covers all three fields. */
static __always_inline void pw_quote_addr(__sum16 *icmp_csum, __sum16 *ip_csum, __sum16 *l4_csum,
					  int udp, __be32 *field, __be32 old, __be32 new)
{
	__u16 before;

	if (old == new)
		return;
	before = *ip_csum;
	pw_csum_replace4(ip_csum, old, new);
	pw_csum_replace2(icmp_csum, before, *ip_csum);
	if (l4_csum) {
		before = *l4_csum;
		pw_l4_csum_replace4(l4_csum, udp, old, new);
		pw_csum_replace2(icmp_csum, before, *l4_csum);
	}
	pw_csum_replace4(icmp_csum, old, new);
	*field = new;
}

static __always_inline void pw_quote_port(__sum16 *icmp_csum, __sum16 *l4_csum, int udp,
					  __be16 *field, __be16 old, __be16 new)
{
	__u16 before;

	if (old == new)
		return;
	if (l4_csum) {
		before = *l4_csum;
		pw_l4_csum_replace2(l4_csum, udp, old, new);
		pw_csum_replace2(icmp_csum, before, *l4_csum);
	}
	pw_csum_replace2(icmp_csum, old, new);
	*field = new;
}

static __always_inline int pw_nat_icmp_quote(void *data, void *end, const struct pw_pkt *p,
					     const struct pw_action *a)
{
	struct icmphdr *icmp = data + (p->l4_off & PW_L4_OFF_MASK);
	struct iphdr *in = data + (p->in_l3_off & PW_QUOTE_OFF_MASK);
	struct pw_ports *ports = data + (p->in_l4_off & PW_QUOTE_OFF_MASK);
	int udp = p->in_proto == IPPROTO_UDP;
	__sum16 *l4_csum = NULL;

	if ((void *)(icmp + 1) > end || (void *)(in + 1) > end || (void *)ports + 8 > end)
		return -1;
	if (p->in_has_csum) {
		if (udp) {
			l4_csum = (void *)ports + 6;
		} else {
			if ((void *)ports + 18 > end)
				return -1;
			l4_csum = (void *)ports + 16;
		}
	}
	pw_quote_addr(&icmp->checksum, &in->check, l4_csum, udp, &in->saddr, p->in_saddr,
		      a->in_saddr);
	pw_quote_addr(&icmp->checksum, &in->check, l4_csum, udp, &in->daddr, p->in_daddr,
		      a->in_daddr);
	pw_quote_port(&icmp->checksum, l4_csum, udp, &ports->source, p->in_sport, a->in_sport);
	pw_quote_port(&icmp->checksum, l4_csum, udp, &ports->dest, p->in_dport, a->in_dport);
	return 0;
}

/* Applies the NAT of `a` to the outer headers (and the quote of an ICMP error). Returns 0, or
 * -1 if a header is no longer where parsing found it (cannot happen without a bug). */
static __always_inline int pw_nat_apply(void *data, void *end, const struct pw_pkt *p,
					const struct pw_action *a, int l4csum_done)
{
	struct iphdr *ip = data + ETH_HLEN;

	if ((void *)(ip + 1) > end)
		return -1;
	if (!p->later_frag && (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP)) {
		void *l4 = data + (p->l4_off & PW_L4_OFF_MASK);
		struct pw_ports *ports = l4;
		int udp = p->proto == IPPROTO_UDP;
		__sum16 *csum;

		if (udp) {
			struct udphdr *uh = l4;

			if ((void *)(uh + 1) > end)
				return -1;
			csum = &uh->check;
		} else {
			struct tcphdr *th = l4;

			if ((void *)(th + 1) > end)
				return -1;
			csum = &th->check;
		}
		if (!l4csum_done) {
			if (a->saddr != p->saddr)
				pw_l4_csum_replace4(csum, udp, p->saddr, a->saddr);
			if (a->daddr != p->daddr)
				pw_l4_csum_replace4(csum, udp, p->daddr, a->daddr);
			if (a->sport != p->sport)
				pw_l4_csum_replace2(csum, udp, p->sport, a->sport);
			if (a->dport != p->dport)
				pw_l4_csum_replace2(csum, udp, p->dport, a->dport);
		}
		ports->source = a->sport;
		ports->dest = a->dport;
	}
	if (a->saddr != p->saddr) {
		pw_csum_replace4(&ip->check, p->saddr, a->saddr);
		ip->saddr = a->saddr;
	}
	if (a->daddr != p->daddr) {
		pw_csum_replace4(&ip->check, p->daddr, a->daddr);
		ip->daddr = a->daddr;
	}
	if (a->flags & PW_NAT_ICMP)
		return pw_nat_icmp_quote(data, end, p, a);
	return 0;
}

/* The (TTL, protocol) word is what the header checksum sees of the TTL. */
static __always_inline void pw_ip_decrease_ttl(struct iphdr *ip)
{
	__u16 *word = (__u16 *)&ip->ttl;
	__u16 before = *word;

	ip->ttl--;
	pw_csum_replace2(&ip->check, before, *word);
}

/* Forwarding as a router would: next-hop MACs from the FIB (or swapped, when going back out
 * of the interface the frame came from), TTL - 1. */
static __always_inline int pw_fwd_rewrite(void *data, void *end, const struct bpf_fib_lookup *fib)
{
	struct ethhdr *eth = data;
	struct iphdr *ip = data + ETH_HLEN;

	if ((void *)(ip + 1) > end)
		return -1;
	if (fib) {
		__builtin_memcpy(eth->h_dest, fib->dmac, ETH_ALEN);
		__builtin_memcpy(eth->h_source, fib->smac, ETH_ALEN);
	} else {
		__u8 tmp[ETH_ALEN];

		__builtin_memcpy(tmp, eth->h_dest, ETH_ALEN);
		__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
		__builtin_memcpy(eth->h_source, tmp, ETH_ALEN);
	}
	pw_ip_decrease_ttl(ip);
	return 0;
}

#ifndef AF_INET
#define AF_INET 2 /* no libc headers in BPF programs */
#endif

/* Route lookup for the translated packet. tot_len 0 lets the tc flavour check the skb itself
 * against the egress MTU (GSO aware); XDP passes the IP length. */
static __always_inline int pw_fib_lookup(void *ctx, const struct pw_pkt *p,
					 const struct pw_action *a, __u32 ifindex, __u16 tot_len,
					 struct bpf_fib_lookup *fib)
{
	__builtin_memset(fib, 0, sizeof(*fib));
	fib->family = AF_INET;
	fib->tos = p->tos;
	fib->l4_protocol = p->proto;
	fib->sport = a->sport;
	fib->dport = a->dport;
	fib->tot_len = tot_len;
	fib->ipv4_src = a->saddr;
	fib->ipv4_dst = a->daddr;
	fib->ifindex = ifindex;
	return bpf_fib_lookup(ctx, fib, sizeof(*fib), 0);
}
