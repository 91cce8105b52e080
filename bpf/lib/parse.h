/* Header parsing with a bounded cursor (xdp-tutorial style): one parse_<hdr> per header, each
 * checks its own bytes against the end of the linear packet data before reading, and moves the
 * cursor only after the check. The verifier tracks `pos` as a packet pointer with a (possibly
 * variable) offset, so every access after an adjust must be re-checked against `end`, which
 * is why no helper trusts a length it did not check itself. */
#pragma once

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

/* linux/icmp.h pulls in libc's socket headers, which a BPF compile cannot take (no 32-bit
 * glibc stubs); the ICMP header and the few constants used are spelled out here. */
struct icmphdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	union {
		__be32 gateway;
		struct {
			__be16 unused;
			__be16 mtu;
		} frag;
	} un;
};

#define ICMP_DEST_UNREACH 3
#define ICMP_TIME_EXCEEDED 11
#define ICMP_PARAMETERPROB 12
#define ICMP_PORT_UNREACH 3 /* code of ICMP_DEST_UNREACH */
#define ICMP_FRAG_NEEDED 4  /* code of ICMP_DEST_UNREACH */
#define ICMP_EXC_TTL 0      /* code of ICMP_TIME_EXCEEDED */

struct pw_cursor {
	void *pos;
	void *end;
};

/* Returns the ethertype in network order, or -1 for a frame shorter than an Ethernet header.
 * VLAN tags are not looked through: a tagged frame reports 0x8100/0x88a8 and is not ours. */
static __always_inline int parse_ethhdr(struct pw_cursor *c, struct ethhdr **eth)
{
	struct ethhdr *h = c->pos;

	if ((void *)(h + 1) > c->end)
		return -1;
	c->pos = h + 1;
	*eth = h;
	return h->h_proto;
}

/* The fixed 20 bytes of an IPv4 header, without moving the cursor: enough to read the
 * addresses before deciding whether the packet is ours at all. Returns 0 or -1. */
static __always_inline int peek_iphdr(struct pw_cursor *c, struct iphdr **iph)
{
	struct iphdr *h = c->pos;

	if ((void *)(h + 1) > c->end)
		return -1;
	*iph = h;
	return 0;
}

/* Moves the cursor over the whole IPv4 header (options included). `ihl_len` is ihl * 4, already
 * checked to be in [20, 60] by the caller. Returns 0, or -1 if the options run past the end. */
static __always_inline int parse_iphdr(struct pw_cursor *c, __u32 ihl_len)
{
	/* Masking gives the verifier an upper bound it can see (clang may otherwise hand it a
	 * register whose range was lost across a spill). */
	ihl_len &= 0x3c;
	if (c->pos + ihl_len > c->end)
		return -1;
	c->pos += ihl_len;
	return 0;
}

static __always_inline int parse_udphdr(struct pw_cursor *c, struct udphdr **udp)
{
	struct udphdr *h = c->pos;

	if ((void *)(h + 1) > c->end)
		return -1;
	c->pos = h + 1;
	*udp = h;
	return 0;
}

/* The fixed 20 bytes; the options (doff) are checked by the caller against the IP payload
 * length, which the frame end alone cannot tell (Ethernet padding). */
static __always_inline int parse_tcphdr(struct pw_cursor *c, struct tcphdr **tcp)
{
	struct tcphdr *h = c->pos;

	if ((void *)(h + 1) > c->end)
		return -1;
	c->pos = h + 1;
	*tcp = h;
	return 0;
}

static __always_inline int parse_icmphdr(struct pw_cursor *c, struct icmphdr **icmp)
{
	struct icmphdr *h = c->pos;

	if ((void *)(h + 1) > c->end)
		return -1;
	c->pos = h + 1;
	*icmp = h;
	return 0;
}

/* Source and destination port: the first 4 bytes of TCP and UDP alike. */
struct pw_ports {
	__be16 source;
	__be16 dest;
};

static __always_inline int parse_ports(struct pw_cursor *c, struct pw_ports **ports)
{
	struct pw_ports *h = c->pos;

	if ((void *)(h + 1) > c->end)
		return -1;
	*ports = h;
	return 0;
}
