// SPDX-License-Identifier: GPL-2.0
/* Frame generator of `portway pktgen send` (docs/performance.md "Packet rig"): user space runs
 * it with BPF_PROG_RUN and BPF_F_TEST_XDP_LIVE_FRAMES on one end of a veth pair, and every
 * XDP_TX sends the frame to the peer (which needs an XDP program of its own for the kernel to
 * kick its NAPI).
 *
 * The kernel's page pool for live frames copies the buffer user space gave into a page once
 * and then recycles the page without resetting it, and frames come back after a dataplane has
 * rewritten their headers (DNAT, MACs, TTL). So every header byte is written here on every
 * frame, never assumed. Only the payload after the timestamp is left alone: nobody downstream
 * writes it, so it stays the zeros user space started with, and the L4 checksum below adds
 * the headers and the timestamp only (zeros add nothing to a one's complement sum). */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "lib/csum.h"
#include "portway/pktgen_abi.h"

/* Set through the skeleton between open and load; frozen at load, so the verifier knows every
 * field (frame_len included: the bounds below are checked against a constant). */
const volatile struct portway_pktgen_config pktgen_config = {};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PORTWAY_PKTGEN_COUNTERS_ENTRIES);
	__type(key, __u32);
	__type(value, struct portway_pktgen_counters);
} pktgen_counters SEC(".maps");

#define PKTGEN_TCP_SYN 0x02
#define PKTGEN_TCP_ACK 0x10

/* Sum of `words` 16-bit words at p, as loaded (network order), for a constant `words`. */
static __always_inline __u32 sum_words(const __u16 *p, const int words, __u32 sum)
{
#pragma unroll
	for (int i = 0; i < words; i++)
		sum += p[i];
	return sum;
}

static __always_inline __u16 finish(__u32 sum)
{
	return (__u16)~pw_csum_fold(sum);
}

/* Writes the L4 header (UDP or TCP without options) and the stamp at l4, returns its checksum
 * over `pseudo` (the pseudo-header's sum) plus header and stamp. */
static __always_inline void write_l4(void *l4, void *data_end, __u16 sport, __u16 l4_len,
				     __u32 pseudo, int stamped)
{
	const int tcp = pktgen_config.l4 != PORTWAY_PKTGEN_UDP;
	const int hdr = tcp ? (int)sizeof(struct tcphdr) : (int)sizeof(struct udphdr);
	__u32 sum = pseudo;

	if (l4 + hdr + sizeof(struct portway_pktgen_stamp) > data_end && stamped)
		return;
	if (l4 + sizeof(struct tcphdr) > data_end && tcp)
		return;
	if (l4 + sizeof(struct udphdr) > data_end)
		return;

	if (stamped) {
		struct portway_pktgen_stamp *s = l4 + hdr;

		s->magic = PORTWAY_PKTGEN_MAGIC;
		s->cpu = bpf_get_smp_processor_id();
		s->sent_ns = bpf_ktime_get_ns();
		sum = sum_words((const __u16 *)s, sizeof(*s) / 2, sum);
	}

	if (tcp) {
		struct tcphdr *th = l4;
		const int syn = pktgen_config.l4 == PORTWAY_PKTGEN_TCP_SYN;

		th->source = bpf_htons(sport);
		th->dest = bpf_htons(pktgen_config.dst_port);
		th->seq = bpf_htonl(1);
		th->ack_seq = syn ? 0 : bpf_htonl(1);
		/* data offset 5 words, no options; the flag byte is the low byte of this word */
		((__u16 *)th)[6] = bpf_htons(5 << 12 | (syn ? PKTGEN_TCP_SYN : PKTGEN_TCP_ACK));
		th->window = bpf_htons(65535);
		th->check = 0;
		th->urg_ptr = 0;
		th->check = finish(sum_words((const __u16 *)th, sizeof(*th) / 2, sum));
	} else {
		struct udphdr *uh = l4;
		__u16 check;

		uh->source = bpf_htons(sport);
		uh->dest = bpf_htons(pktgen_config.dst_port);
		uh->len = bpf_htons(l4_len);
		uh->check = 0;
		check = finish(sum_words((const __u16 *)uh, sizeof(*uh) / 2, sum));
		/* a computed 0 goes out as 0xffff: 0 means "no checksum" (RFC 768) */
		uh->check = check ? check : 0xffff;
	}
}

/* Writes the next frame of counters c over the buffer: 0, or -1 (counted in c->bad_length)
 * when the buffer is not frame_len long. */
static __always_inline int write_frame(struct xdp_md *ctx, struct portway_pktgen_counters *c)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	const __u32 len = pktgen_config.frame_len;
	const int v6 = pktgen_config.family == 6;
	const int l3 = v6 ? (int)sizeof(struct ipv6hdr) : (int)sizeof(struct iphdr);
	const int l4_hdr = pktgen_config.l4 != PORTWAY_PKTGEN_UDP ? (int)sizeof(struct tcphdr)
								 : (int)sizeof(struct udphdr);
	const __u8 proto = pktgen_config.l4 != PORTWAY_PKTGEN_UDP ? IPPROTO_TCP : IPPROTO_UDP;
	const __u16 l4_len = (__u16)(len - ETH_HLEN - l3);
	const int stamped = pktgen_config.stamp &&
			    len >= ETH_HLEN + l3 + l4_hdr + sizeof(struct portway_pktgen_stamp);
	struct ethhdr *eth = data;
	__u32 addr_idx, pseudo;
	__u16 sport;
	__u64 f;

	/* Exactly frame_len bytes: comparisons only (no arithmetic on data_end). */
	if (data + len > data_end || data + len + 1 <= data_end ||
	    data + ETH_HLEN + l3 + l4_hdr > data_end) {
		c->bad_length++;
		return -1;
	}

	/* Which flow: a cycle over `flows`, or with new_flow_per_frame a sequence interleaved by
	 * thread so that no two threads make the same 5-tuple (until the whole space wraps). */
	f = portway_pktgen_next_flow(c, pktgen_config.flows, pktgen_config.new_flow_per_frame);
	sport = portway_pktgen_flow_port(f, pktgen_config.src_port_min, pktgen_config.src_port_count);
	addr_idx = portway_pktgen_flow_addr_offset(f, pktgen_config.src_port_count,
						   pktgen_config.src_addr_count);

#pragma unroll
	for (int i = 0; i < ETH_ALEN; i++) {
		eth->h_dest[i] = pktgen_config.dst_mac[i];
		eth->h_source[i] = pktgen_config.src_mac[i];
	}

	if (v6) {
		struct ipv6hdr *ip6 = data + ETH_HLEN;
		__u32 *src = (__u32 *)&ip6->saddr, *dst = (__u32 *)&ip6->daddr;
		const volatile __u32 *cfg_src = (const volatile __u32 *)pktgen_config.src_addr;
		const volatile __u32 *cfg_dst = (const volatile __u32 *)pktgen_config.dst_addr;

		eth->h_proto = bpf_htons(ETH_P_IPV6);
		*(__u32 *)ip6 = bpf_htonl(0x60000000); /* version 6, traffic class 0, flow label 0 */
		ip6->payload_len = bpf_htons(l4_len);
		ip6->nexthdr = proto;
		ip6->hop_limit = 64;
#pragma unroll
		for (int i = 0; i < 3; i++) {
			src[i] = cfg_src[i];
			dst[i] = cfg_dst[i];
		}
		src[3] = bpf_htonl(bpf_ntohl(cfg_src[3]) + addr_idx);
		dst[3] = cfg_dst[3];
		pseudo = sum_words((const __u16 *)src, 16, 0);
		pseudo += bpf_htons(l4_len) + bpf_htons(proto);
		write_l4(data + ETH_HLEN + sizeof(*ip6), data_end, sport, l4_len, pseudo, stamped);
	} else {
		struct iphdr *ip = data + ETH_HLEN;
		const __u32 cfg_src = *(const volatile __u32 *)pktgen_config.src_addr;

		eth->h_proto = bpf_htons(ETH_P_IP);
		*(__u16 *)ip = bpf_htons(0x4500); /* version 4, IHL 5, TOS 0 */
		ip->tot_len = bpf_htons((__u16)(len - ETH_HLEN));
		ip->id = 0;
		ip->frag_off = bpf_htons(0x4000); /* DF */
		ip->ttl = 64;
		ip->protocol = proto;
		ip->check = 0;
		ip->saddr = bpf_htonl(bpf_ntohl(cfg_src) + addr_idx);
		ip->daddr = *(const volatile __u32 *)pktgen_config.dst_addr;
		ip->check = finish(sum_words((const __u16 *)ip, sizeof(*ip) / 2, 0));
		pseudo = pw_csum_add32(0, ip->saddr);
		pseudo = pw_csum_add32(pseudo, ip->daddr);
		pseudo += bpf_htons(l4_len) + bpf_htons(proto);
		write_l4(data + ETH_HLEN + sizeof(*ip), data_end, sport, l4_len, pseudo, stamped);
	}
	return 0;
}

/* The live-frames engine: BPF_PROG_RUN makes the frame, XDP_TX sends it. */
SEC("xdp")
int pktgen(struct xdp_md *ctx)
{
	struct portway_pktgen_counters *c;
	__u32 key = 0;

	c = bpf_map_lookup_elem(&pktgen_counters, &key);
	if (!c)
		return XDP_ABORTED;
	return write_frame(ctx, c) == 0 ? XDP_TX : XDP_DROP;
}

/* The XDP-loop engine (docs/performance.md "The XDP-loop engine"): attached to one end of an
 * auxiliary veth pair, it receives a frame, rewrites it as the next frame and broadcasts it to
 * both entries of pktgen_loop_ports: the other end of its own pair (the frame comes back here:
 * the loop) and the device towards the receiver (a copy: what is sent). A few seed frames
 * start it; each turn sends one frame until `limit` frames went, the deadline passed or user
 * space set `stop`, and then the turn drops its frame, which ends that strand of the loop.
 *
 * One program instance per loop (user space loads one per CPU), so the state is this
 * instance's .bss, not a per-CPU slot: veth runs one pair's receive in one NAPI context at a
 * time, so nothing here races, whichever CPU that context is on. */
struct portway_pktgen_loop pktgen_loop = {};

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, PORTWAY_PKTGEN_LOOP_PORTS);
	__type(key, __u32);
	__type(value, __u32);
} pktgen_loop_ports SEC(".maps");

SEC("xdp")
int pktgen_loop_turn(struct xdp_md *ctx)
{
	struct portway_pktgen_loop *l = &pktgen_loop;
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 now = 0;

	/* Only frames of the run's length are strands of the loop; anything else the pair carries
	 * (the stack's own traffic on the seeding end) is dropped here and counted, and ends
	 * nothing. */
	if (data + pktgen_config.frame_len > data_end || data + pktgen_config.frame_len + 1 <= data_end) {
		l->flow.bad_length++;
		return XDP_DROP;
	}
	l->turns++;
	if (*(volatile __u32 *)&l->stop || l->emitted >= l->limit)
		goto end;
	/* The clock costs 20-30 ns: without a rate, a deadline read every 64 turns is enough
	 * (64 turns are well under a millisecond). */
	if (l->interval_ns || !(l->turns & 63)) {
		now = bpf_ktime_get_ns();
		if (now >= l->deadline_ns)
			goto end;
	}
	if (l->interval_ns) {
		if (now < l->next_due_ns) {
			/* Not due yet: around the loop once more without sending. */
			l->idle_turns++;
			return bpf_redirect_map(&pktgen_loop_ports, PORTWAY_PKTGEN_LOOP_BACK, 0);
		}
		/* A loop that fell behind (the CPU was busy elsewhere) does not burst to catch up. */
		l->next_due_ns = now - l->next_due_ns > PORTWAY_PKTGEN_LOOP_MAX_LAG_NS
					 ? now + l->interval_ns
					 : l->next_due_ns + l->interval_ns;
	}
	if (write_frame(ctx, &l->flow) != 0)
		return XDP_DROP;
	l->emitted++;
	return bpf_redirect_map(&pktgen_loop_ports, 0, BPF_F_BROADCAST);
end:
	l->ended++;
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
