/* Reject answers written over the offending packet: a TCP reset, or an ICMP error quoting the
 * packet's IP header and first 8 payload bytes (RFC 792). The headers are built here from the
 * values in struct pw_pkt, so it does not matter that they overwrite the original bytes; the
 * callers (XDP, tc) make room or trim with their own helpers. */
#pragma once

#include "lib/csum.h"
#include "lib/action.h"

#define PW_RST_FRAME_LEN (ETH_HLEN + sizeof(struct iphdr) + sizeof(struct tcphdr))
/* What an ICMP error puts in front of the quoted IP header. */
#define PW_ICMP_REPLY_GROWTH (sizeof(struct iphdr) + sizeof(struct icmphdr))
#define PW_ICMP_QUOTE_MAX (60 + 8)
#define PW_REPLY_TTL 64

/* Sum of `len` bytes (even, at most 8 + PW_ICMP_QUOTE_MAX) of packet data from `start` into
 * *sum; -1 if the packet is shorter. Spelled out word by word with a constant offset and its
 * own bounds check each, leaving as soon as one fails: a loop with early exits is not unrolled
 * by clang 14, and a failed check that falls through leaves the verifier treating the packet
 * pointers as beyond the end. */
#define PW_CSUM_WORD(i)                                   \
	if ((i) * 2 < len) {                              \
		if ((void *)(w + (i) + 1) > end)          \
			return -1;                        \
		acc += w[(i)];                            \
	}
#define PW_CSUM_WORDS4(i) PW_CSUM_WORD(i) PW_CSUM_WORD(i + 1) PW_CSUM_WORD(i + 2) PW_CSUM_WORD(i + 3)

static __always_inline int pw_csum_bytes(void *start, void *end, __u32 len, __u32 *sum)
{
	__u16 *w = start;
	__u32 acc = *sum;

	PW_CSUM_WORDS4(0) PW_CSUM_WORDS4(4) PW_CSUM_WORDS4(8) PW_CSUM_WORDS4(12)
	PW_CSUM_WORDS4(16) PW_CSUM_WORDS4(20) PW_CSUM_WORDS4(24) PW_CSUM_WORDS4(28)
	PW_CSUM_WORDS4(32) PW_CSUM_WORD(36) PW_CSUM_WORD(37)
	if (len > 2 * 38)
		return -1;
	*sum = acc;
	return 0;
}

static __always_inline void pw_build_ipv4(struct iphdr *ip, __u16 tot_len, __u8 proto,
					  __be32 saddr, __be32 daddr, __u16 frag_off)
{
	__u32 sum = 0;
	__u16 *w = (__u16 *)ip;

	*(__u8 *)ip = 0x45; /* version 4, ihl 5: replies carry no options */
	ip->tos = 0;
	ip->tot_len = bpf_htons(tot_len);
	ip->id = 0;
	ip->frag_off = bpf_htons(frag_off);
	ip->ttl = PW_REPLY_TTL;
	ip->protocol = proto;
	ip->check = 0;
	ip->saddr = saddr;
	ip->daddr = daddr;
#pragma clang loop unroll(full)
	for (int i = 0; i < 10; i++)
		sum += w[i];
	ip->check = (__sum16)~pw_csum_fold(sum);
}

static __always_inline void pw_swap_macs(struct ethhdr *eth)
{
	__u8 tmp[ETH_ALEN];

	__builtin_memcpy(tmp, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, tmp, ETH_ALEN);
}

/* RFC 793 (RFC 9293 3.10.7.1) reset for a segment to a closed port: if it carried an ACK, the
 * reset takes its sequence number from it; otherwise it acknowledges the segment. */
static __always_inline int pw_build_rst(void *data, void *end, const struct pw_pkt *p)
{
	struct ethhdr *eth = data;
	struct iphdr *ip = data + ETH_HLEN;
	struct tcphdr *tcp = data + ETH_HLEN + sizeof(*ip);
	__u32 sum = 0;

	if ((void *)(tcp + 1) > end)
		return -1;
	pw_swap_macs(eth);
	eth->h_proto = bpf_htons(ETH_P_IP);
	pw_build_ipv4(ip, sizeof(*ip) + sizeof(*tcp), IPPROTO_TCP, p->daddr, p->saddr, PW_IP_DF);

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

	sum = pw_csum_add32(sum, p->daddr);
	sum = pw_csum_add32(sum, p->saddr);
	sum += bpf_htons(IPPROTO_TCP);
	sum += bpf_htons(sizeof(*tcp));
	if (pw_csum_bytes(tcp, end, sizeof(*tcp), &sum))
		return -1;
	tcp->check = (__sum16)~pw_csum_fold(sum);
	return 0;
}

/* The frame must already have PW_ICMP_REPLY_GROWTH bytes in front of the original Ethernet
 * header (at data + PW_ICMP_REPLY_GROWTH), so the original IP header ends up right after the
 * new ICMP header, where the quote belongs. The caller trims the frame to the returned
 * length afterwards. */
static __always_inline int pw_build_icmp_reply(void *data, void *end, const struct pw_pkt *p,
					       const struct pw_action *a)
{
	struct ethhdr *eth = data;
	struct ethhdr *old_eth = data + PW_ICMP_REPLY_GROWTH;
	struct iphdr *ip = data + ETH_HLEN;
	struct icmphdr *icmp = data + ETH_HLEN + sizeof(*ip);
	__u32 quote = p->ihl_len + 8;
	__u32 sum;

	if ((void *)(old_eth + 1) > end)
		return -1;
	/* A plain runtime check (the verifier needs none for the unrolled sum below): the quote
	 * must really be there, or the checksum would be over fewer bytes than announced. */
	if ((void *)icmp + sizeof(*icmp) + quote > end)
		return -1;
	/* The old Ethernet header overlaps the new IP and ICMP headers: read it first. */
	__builtin_memcpy(eth->h_dest, old_eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, old_eth->h_dest, ETH_ALEN);
	eth->h_proto = bpf_htons(ETH_P_IP);
	pw_build_ipv4(ip, sizeof(*ip) + sizeof(*icmp) + quote, IPPROTO_ICMP, p->daddr, p->saddr, 0);
	icmp->type = a->icmp_type;
	icmp->code = a->icmp_code;
	icmp->checksum = 0;
	icmp->un.gateway = 0;
	if (a->icmp_type == ICMP_DEST_UNREACH && a->icmp_code == ICMP_FRAG_NEEDED)
		icmp->un.frag.mtu = bpf_htons(a->mtu);
	sum = 0;
	if (pw_csum_bytes(icmp, end, sizeof(*icmp) + quote, &sum))
		return -1;
	icmp->checksum = (__sum16)~pw_csum_fold(sum);
	return ETH_HLEN + sizeof(*ip) + sizeof(*icmp) + quote;
}
