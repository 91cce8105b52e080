/* IPv6 rewrites by direct packet access (nat.h for IPv4): addresses, ports, the quoted packet
 * of ICMPv6 errors, and the L2/hop-limit step of forwarding. IPv6 has no header checksum;
 * TCP, UDP and ICMPv6 checksums cover a pseudo-header with both 128-bit addresses (RFC 8200
 * 8.1), so an address change is folded into them (RFC 1624, four 32-bit words). */
#pragma once

#include "lib/decide6.h"
#include "lib/nat.h"
#include "lib/reply.h"

#ifndef AF_INET6
#define AF_INET6 10 /* no libc headers in BPF programs */
#endif

/* RFC 1624 eqn. 3 for a 128-bit field: at most 16 additions before the fold, no overflow. */
static __always_inline void pw_csum_replace16(__sum16 *check, const struct pw_in6 *old,
					      const struct pw_in6 *new)
{
	__u32 sum = (__u16)~*check;

#pragma unroll
	for (int i = 0; i < 4; i++) {
		sum = pw_csum_add32(sum, ~old->w[i]);
		sum = pw_csum_add32(sum, new->w[i]);
	}
	*check = (__sum16)~pw_csum_fold(sum);
}

/* UDP over IPv6 never carries 0 (parse6.h drops it on the way in); a computed 0 is 0xffff. */
static __always_inline void pw_l4_csum_replace16(__sum16 *check, int udp, const struct pw_in6 *old,
						 const struct pw_in6 *new)
{
	if (udp && *check == 0)
		return;
	pw_csum_replace16(check, old, new);
	if (udp && *check == 0)
		*check = (__sum16)0xffff;
}

/* One address of the quoted IPv6 header: its L4 checksum (pseudo-header) when quoted, and the
 * ICMPv6 checksum, which covers the address and that L4 checksum field. */
static __always_inline void pw_quote_addr6(__sum16 *icmp_csum, __sum16 *l4_csum, int udp,
					   struct in6_addr *field, const struct pw_in6 *old,
					   const struct pw_in6 *new)
{
	__u16 before;

	if (pw_in6_eq(old, new))
		return;
	if (l4_csum) {
		before = *l4_csum;
		pw_l4_csum_replace16(l4_csum, udp, old, new);
		pw_csum_replace2(icmp_csum, before, *l4_csum);
	}
	pw_csum_replace16(icmp_csum, old, new);
	__builtin_memcpy(field, new, sizeof(*new));
}

static __always_inline int pw_nat6_icmp_quote(void *data, void *end, const struct pw_pkt6 *p,
					      const struct pw_action6 *a)
{
	__u8 *icmp = data + (p->l4_off & PW_IP6_OFF_MASK);
	struct ipv6hdr *in = data + (p->in_l3_off & PW_IP6_OFF_MASK);
	struct pw_ports *ports = data + (p->in_l4_off & PW_IP6_OFF_MASK);
	int udp = p->in_proto == IPPROTO_UDP;
	__sum16 *icmp_csum = (__sum16 *)(icmp + 2);
	__sum16 *l4_csum = NULL;

	if ((void *)(icmp + PW_ICMP6_HLEN) > end || (void *)(in + 1) > end ||
	    (void *)ports + 8 > end)
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
	/* The quote went the other way: its source becomes what the outer destination became,
	 * its destination what the outer source became, each only if that one changed. */
	if (!pw_in6_eq(&a->daddr, &p->daddr))
		pw_quote_addr6(icmp_csum, l4_csum, udp, &in->saddr, &p->in_saddr, &a->daddr);
	if (!pw_in6_eq(&a->saddr, &p->saddr))
		pw_quote_addr6(icmp_csum, l4_csum, udp, &in->daddr, &p->in_daddr, &a->saddr);
	pw_quote_port(icmp_csum, l4_csum, udp, &ports->source, p->in_sport, a->in_sport);
	pw_quote_port(icmp_csum, l4_csum, udp, &ports->dest, p->in_dport, a->in_dport);
	return 0;
}

/* The checksum field of the upper-layer header the outer addresses are folded into: TCP, UDP
 * or (pseudo-header too) ICMPv6; NULL for later fragments and anything else. */
static __always_inline __sum16 *pw_nat6_l4_csum(void *data, void *end, const struct pw_pkt6 *p)
{
	void *l4 = data + (p->l4_off & PW_IP6_OFF_MASK);

	if (p->later_frag)
		return NULL;
	if (p->proto == IPPROTO_UDP) {
		struct udphdr *uh = l4;

		return (void *)(uh + 1) <= end ? &uh->check : NULL;
	}
	if (p->proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;

		return (void *)(th + 1) <= end ? &th->check : NULL;
	}
	if (p->proto == PW_NEXTHDR_ICMP6) {
		__u8 *ih = l4;

		return (void *)(ih + PW_ICMP6_HLEN) <= end ? (__sum16 *)(ih + 2) : NULL;
	}
	return NULL;
}

/* Applies the NAT of `a` to the outer headers (and the quote of an ICMPv6 error). tc has
 * already updated the TCP/UDP checksum through the skb helpers (l4csum_done). Returns 0, or -1
 * if a header is no longer where parsing found it (cannot happen without a bug). */
static __always_inline int pw_nat6_apply(void *data, void *end, const struct pw_pkt6 *p,
					 const struct pw_action6 *a, int l4csum_done)
{
	struct ipv6hdr *ip6 = data + ETH_HLEN;
	int udp = p->proto == IPPROTO_UDP;
	int tcp_udp = !p->later_frag && (udp || p->proto == IPPROTO_TCP);
	__sum16 *csum;

	if ((void *)(ip6 + 1) > end)
		return -1;
	csum = pw_nat6_l4_csum(data, end, p);
	if (tcp_udp && !csum)
		return -1;
	if (l4csum_done && tcp_udp)
		csum = NULL;
	if (csum) {
		if (!pw_in6_eq(&a->saddr, &p->saddr))
			pw_l4_csum_replace16(csum, udp, &p->saddr, &a->saddr);
		if (!pw_in6_eq(&a->daddr, &p->daddr))
			pw_l4_csum_replace16(csum, udp, &p->daddr, &a->daddr);
		if (tcp_udp && a->sport != p->sport)
			pw_l4_csum_replace2(csum, udp, p->sport, a->sport);
		if (tcp_udp && a->dport != p->dport)
			pw_l4_csum_replace2(csum, udp, p->dport, a->dport);
	}
	if (tcp_udp) {
		struct pw_ports *ports = data + (p->l4_off & PW_IP6_OFF_MASK);

		if ((void *)(ports + 1) > end)
			return -1;
		ports->source = a->sport;
		ports->dest = a->dport;
	}
	__builtin_memcpy(&ip6->saddr, &a->saddr, sizeof(a->saddr));
	__builtin_memcpy(&ip6->daddr, &a->daddr, sizeof(a->daddr));
	if (a->flags & PW_NAT_ICMP)
		return pw_nat6_icmp_quote(data, end, p, a);
	return 0;
}

/* Forwarding as a router would: next-hop MACs from the FIB (or swapped, when going back out
 * of the interface the frame came from), hop limit - 1 (no header checksum to patch). */
static __always_inline int pw_fwd6_rewrite(void *data, void *end, const struct bpf_fib_lookup *fib)
{
	struct ethhdr *eth = data;
	struct ipv6hdr *ip6 = data + ETH_HLEN;

	if ((void *)(ip6 + 1) > end)
		return -1;
	if (fib) {
		__builtin_memcpy(eth->h_dest, fib->dmac, ETH_ALEN);
		__builtin_memcpy(eth->h_source, fib->smac, ETH_ALEN);
	} else {
		pw_swap_macs(eth);
	}
	ip6->hop_limit--;
	return 0;
}

/* Route lookup for the translated packet. tot_len 0 lets the tc flavour check the skb itself
 * against the egress MTU (GSO aware); XDP passes the IPv6 packet length. */
static __always_inline int pw_fib6_lookup(void *ctx, const struct pw_pkt6 *p,
					  const struct pw_action6 *a, __u32 ifindex, __u16 tot_len,
					  struct bpf_fib_lookup *fib)
{
	__builtin_memset(fib, 0, sizeof(*fib));
	fib->family = AF_INET6;
	fib->l4_protocol = p->proto;
	fib->sport = a->sport;
	fib->dport = a->dport;
	fib->tot_len = tot_len;
	__builtin_memcpy(fib->ipv6_src, &a->saddr, sizeof(a->saddr));
	__builtin_memcpy(fib->ipv6_dst, &a->daddr, sizeof(a->daddr));
	fib->ifindex = ifindex;
	return bpf_fib_lookup(ctx, fib, sizeof(*fib), 0);
}
