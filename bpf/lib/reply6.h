/* IPv6 reject answers written over the offending packet (reply.h for IPv4): a TCP reset, or an
 * ICMPv6 error (port unreachable, time exceeded, packet too big) quoting the packet's IPv6
 * header, its extension headers and the first 8 bytes of the upper layer. The headers are
 * built from struct pw_pkt6; the callers (XDP, tc) make room or trim with their own helpers. */
#pragma once

#include "lib/decide6.h"
#include "lib/reply.h"

#define PW_RST6_FRAME_LEN (ETH_HLEN + PW_IP6_HLEN + sizeof(struct tcphdr))
/* What an ICMPv6 error puts in front of the quoted IPv6 header. */
#define PW_ICMP6_REPLY_GROWTH (PW_IP6_HLEN + PW_ICMP6_HLEN)
/* RFC 4443 2.4(c) allows up to 1280 bytes; the headers the client needs to match the error
 * to its socket (addresses, ports) are in the first 48, and a bound keeps the checksum loop
 * short. Quotes of packets with extension headers longer than this end inside them. */
#define PW_ICMP6_QUOTE_MAX 128
#define PW_CSUM6_MAX_WORDS ((PW_ICMP6_HLEN + PW_ICMP6_QUOTE_MAX) / 2)

/* Sum of `len` bytes (even, at most 2 * PW_CSUM6_MAX_WORDS) of packet data from `start`. A
 * bounded loop (kernel >= 5.3) whose every word is checked against the packet end through the
 * same pointer it is read from, so the verifier carries the checked range to the read. */
static __always_inline int pw_csum6_bytes(void *start, void *end, __u32 len, __u32 *sum)
{
	__u32 acc = *sum;

	if (len > 2 * PW_CSUM6_MAX_WORDS)
		return -1;
	for (__u32 i = 0; i < PW_CSUM6_MAX_WORDS; i++) {
		__u16 *w;

		if (i * 2 >= len)
			break;
		w = start + i * 2;
		if ((void *)(w + 1) > end)
			return -1;
		acc += *w;
	}
	*sum = acc;
	return 0;
}

/* The pseudo-header sum (RFC 8200 8.1): both addresses, the upper-layer length and next
 * header, each as 32-bit words in network order. */
static __always_inline __u32 pw_pseudo6_sum(const struct pw_in6 *src, const struct pw_in6 *dst,
					    __u32 len, __u8 proto)
{
	__u32 sum = 0;

#pragma unroll
	for (int i = 0; i < 4; i++) {
		sum = pw_csum_add32(sum, src->w[i]);
		sum = pw_csum_add32(sum, dst->w[i]);
	}
	sum = pw_csum_add32(sum, bpf_htonl(len));
	sum += bpf_htons(proto);
	return sum;
}

static __always_inline void pw_build_ipv6(struct ipv6hdr *ip6, __u16 payload_len, __u8 proto,
					  const struct pw_in6 *saddr, const struct pw_in6 *daddr)
{
	*(__be32 *)ip6 = bpf_htonl(0x60000000); /* version 6, traffic class 0, flow label 0 */
	ip6->payload_len = bpf_htons(payload_len);
	ip6->nexthdr = proto;
	ip6->hop_limit = PW_REPLY_TTL;
	__builtin_memcpy(&ip6->saddr, saddr, sizeof(*saddr));
	__builtin_memcpy(&ip6->daddr, daddr, sizeof(*daddr));
}

/* RFC 9293 3.10.7.1 reset, as pw_build_rst for IPv4; replies carry no extension headers. */
static __always_inline int pw_build_rst6(void *data, void *end, const struct pw_pkt6 *p)
{
	struct ethhdr *eth = data;
	struct ipv6hdr *ip6 = data + ETH_HLEN;
	struct tcphdr *tcp = data + ETH_HLEN + PW_IP6_HLEN;
	__u32 sum;

	if ((void *)(tcp + 1) > end)
		return -1;
	pw_swap_macs(eth);
	eth->h_proto = bpf_htons(ETH_P_IPV6);
	pw_build_ipv6(ip6, sizeof(*tcp), IPPROTO_TCP, &p->daddr, &p->saddr);

	__builtin_memset(tcp, 0, sizeof(*tcp));
	tcp->source = p->dport;
	tcp->dest = p->sport;
	if (p->tcp_flags & PW_TCP_ACK) {
		tcp->seq = bpf_htonl(p->tcp_ack);
		((__u8 *)tcp)[13] = PW_TCP_RST;
	} else {
		tcp->ack_seq = bpf_htonl(p->tcp_seq + p->tcp_seg_len);
		((__u8 *)tcp)[13] = PW_TCP_RST | PW_TCP_ACK;
	}
	((__u8 *)tcp)[12] = (sizeof(*tcp) / 4) << 4;

	sum = pw_pseudo6_sum(&p->daddr, &p->saddr, sizeof(*tcp), IPPROTO_TCP);
	if (pw_csum_bytes(tcp, end, sizeof(*tcp), &sum))
		return -1;
	tcp->check = (__sum16)~pw_csum_fold(sum);
	return 0;
}

/* How much of the packet an ICMPv6 error about it quotes: the IPv6 header, the extension
 * headers and 8 bytes of the upper layer, within the packet and PW_ICMP6_QUOTE_MAX. */
static __always_inline __u32 pw_icmp6_quote_len(const struct pw_pkt6 *p)
{
	__u32 quote = p->l4_off - ETH_HLEN + 8;
	__u32 packet = PW_IP6_HLEN + p->payload_len;

	if (quote > packet)
		quote = packet & ~1u;
	if (quote > PW_ICMP6_QUOTE_MAX)
		quote = PW_ICMP6_QUOTE_MAX;
	return quote;
}

/* The frame must already have PW_ICMP6_REPLY_GROWTH bytes in front of the original Ethernet
 * header, so the original IPv6 header ends up right after the new ICMPv6 header, where the
 * quote belongs. Returns the reply's length; the caller trims the frame to it. */
static __always_inline int pw_build_icmp6_reply(void *data, void *end, const struct pw_pkt6 *p,
						const struct pw_action6 *a)
{
	struct ethhdr *eth = data;
	struct ethhdr *old_eth = data + PW_ICMP6_REPLY_GROWTH;
	struct ipv6hdr *ip6 = data + ETH_HLEN;
	__u8 *icmp = data + ETH_HLEN + PW_IP6_HLEN;
	__u32 quote = pw_icmp6_quote_len(p);
	__u32 sum;

	if ((void *)(old_eth + 1) > end || (void *)(icmp + PW_ICMP6_HLEN) > end)
		return -1;
	/* The old Ethernet header overlaps the new IPv6 header: read it first. */
	__builtin_memcpy(eth->h_dest, old_eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, old_eth->h_dest, ETH_ALEN);
	eth->h_proto = bpf_htons(ETH_P_IPV6);
	pw_build_ipv6(ip6, PW_ICMP6_HLEN + quote, PW_NEXTHDR_ICMP6, &p->daddr, &p->saddr);
	icmp[0] = a->icmp_type;
	icmp[1] = a->icmp_code;
	*(__u16 *)(icmp + 2) = 0;
	/* Packet too big carries the MTU; the other errors 4 unused bytes (RFC 4443 3). */
	*(__be32 *)(icmp + 4) = a->icmp_type == PW_ICMP6_PKT_TOOBIG ? bpf_htonl(a->mtu) : 0;
	sum = pw_pseudo6_sum(&p->daddr, &p->saddr, PW_ICMP6_HLEN + quote, PW_NEXTHDR_ICMP6);
	if (pw_csum6_bytes(icmp, end, PW_ICMP6_HLEN + quote, &sum))
		return -1;
	*(__u16 *)(icmp + 2) = (__u16)~pw_csum_fold(sum);
	return ETH_HLEN + PW_IP6_HLEN + PW_ICMP6_HLEN + quote;
}
