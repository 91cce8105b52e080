/* The uplink's tc ingress finishing what the XDP program could not hand off (kernels without
 * XDP metadata: pw_handoff_by_metadata = 0, lib/delivery.h).
 *
 * There, a translated client frame for an interface that takes no XDP frames (a sandbox veth at
 * its defaults) leaves XDP with XDP_PASS, translated, with the node's MACs and its TTL as it came
 * (PW_EV_XDP_STACK), for the stack to route. pw_tc_uplink sees it first. When the frame is the
 * client side of a flow in pw_conns (source = the client's address and port, destination = the
 * flow's backend and target port) and pw_nexthops holds a fresh next hop for that backend,
 * filled from this uplink (by the XDP route of this very frame, nearly always), it forwards the
 * frame as XDP would have (TTL or hop limit - 1, the next hop's MACs) and redirects it to the
 * egress device: the stack's routing, netfilter and conntrack are skipped, as they are for every
 * frame XDP redirects or hands off on kernels with metadata (PW_EV_TC_STACK_FORWARD). Anything
 * else goes on to the stack unchanged (TC_ACT_OK), which routes it as before.
 *
 * Which frames may take this path, and why:
 * - only what matches a flow XDP made: the same client, backend and port the flow already joins,
 *   so nothing reaches a sandbox here that the flow's own translated frames do not;
 * - addressed to the uplink's own MAC (frames for other hosts stay the stack's to drop);
 * - TCP or UDP without IPv4 options, extension headers or fragmentation: later fragments carry
 *   no ports and go to the stack, and so must their first fragment (a stack that reassembles
 *   would otherwise wait for it in vain);
 * - TTL / hop limit > 1 (the stack answers the rest, as for any forward);
 * - within the path's MTU: the IP length against the largest the XDP route's FIB accepted for
 *   this next hop, or for a GRO-merged skb the length of each segment. Not bpf_check_mtu: without
 *   BPF_MTU_CHK_SEGS it passes every GSO skb, and with it the helper needs the skb's transport
 *   header, which BPF_PROG_TEST_RUN does not set, so no test could hold it. */
#pragma once

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "lib/clock.h"
#include "lib/conntrack.h"
#include "lib/conntrack6.h"
#include "lib/delivery.h"
#include "lib/nat.h"
#include "lib/parse6.h"
#include "lib/pkt.h"
#include "lib/stats.h"

/* 1 when the frame fits the path: `ip_len` (the IP packet) against `max_len`, the largest the
 * FIB accepted for this next hop; for a GRO-merged skb (gso_size set), whose length is many
 * segments', one segment: the IP and L4 headers (`hdr_len`) plus gso_size. XDP routed each of the
 * merged frames before GRO joined them, so a segment of the flow's own traffic is within
 * max_len. The segment's headers are read only then. For UDP, gso_size is taken as the payload
 * after the header (GRO's UDP_L4); where it includes the header the segment is counted 8 bytes
 * long, which errs towards the stack. A TCP header beyond the linear data fits nothing. */
static __always_inline int pw_tc_forward_fits(const struct __sk_buff *skb, __u32 ip_len,
					      __u16 max_len, void *l4, void *end, __u32 l3_len,
					      __u8 proto)
{
	struct tcphdr *th = l4;
	__u32 hdr_len;

	if (ip_len <= max_len)
		return 1;
	if (!skb->gso_size)
		return 0;
	if (proto == IPPROTO_UDP) {
		hdr_len = l3_len + sizeof(struct udphdr);
	} else {
		if ((void *)(th + 1) > end)
			return 0;
		hdr_len = l3_len + th->doff * 4;
	}
	return hdr_len + skb->gso_size <= max_len;
}

static __always_inline int pw_tc_forward4(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + ETH_HLEN;
	__be16 *ports = (void *)(ip + 1); /* no options: checked below before any use */
	const struct pw_nexthop *nh;
	const struct pw_conn *c;

	if ((void *)(ports + 2) > end)
		return TC_ACT_OK;
	if (ip->ihl != 5 || (ip->frag_off & bpf_htons(PW_IP_MF | PW_IP_OFFSET)) ||
	    (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP) || ip->ttl <= 1)
		return TC_ACT_OK;
	if (pw_l2_foreign(eth, skb->ingress_ifindex))
		return TC_ACT_OK;
	c = pw_conn_lookup(ip->saddr, ports[0], ip->protocol);
	if (!c || c->flow.backend_addr != ip->daddr || c->flow.target_port != ports[1])
		return TC_ACT_OK;
	nh = bpf_map_lookup_elem(&pw_nexthops, &c->flow.backend_id);
	if (!nh || nh->daddr != ip->daddr || nh->in_ifindex != skb->ingress_ifindex ||
	    nh->expires_ns <= pw_now_ns())
		return TC_ACT_OK;
	if (!pw_tc_forward_fits(skb, bpf_ntohs(ip->tot_len), nh->max_len, ports, end, sizeof(*ip),
				ip->protocol))
		return TC_ACT_OK;
	__builtin_memcpy(eth->h_dest, nh->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, nh->smac, ETH_ALEN);
	pw_ip_decrease_ttl(ip);
	pw_count_event(PW_EV_TC_STACK_FORWARD);
	return bpf_redirect(nh->ifindex, 0);
}

static __always_inline int pw_tc_forward6(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct ipv6hdr *ip6 = data + ETH_HLEN;
	__be16 *ports = (void *)(ip6 + 1); /* no extension header: checked below before any use */
	const struct pw_nexthop6 *nh;
	const struct pw_conn6 *c;
	struct pw_in6 saddr, daddr;

	if ((void *)(ports + 2) > end)
		return TC_ACT_OK;
	if ((ip6->nexthdr != IPPROTO_TCP && ip6->nexthdr != IPPROTO_UDP) || ip6->hop_limit <= 1)
		return TC_ACT_OK;
	if (pw_l2_foreign(eth, skb->ingress_ifindex))
		return TC_ACT_OK;
	__builtin_memcpy(&saddr, &ip6->saddr, sizeof(saddr));
	__builtin_memcpy(&daddr, &ip6->daddr, sizeof(daddr));
	c = pw_conn6_lookup(&saddr, ports[0], ip6->nexthdr);
	if (!c || !pw_in6_eq(&c->flow.backend_addr, &daddr) || c->flow.target_port != ports[1])
		return TC_ACT_OK;
	nh = bpf_map_lookup_elem(&pw_nexthops6, &c->flow.backend_id);
	if (!nh || !pw_in6_eq(&nh->daddr, &daddr) || nh->in_ifindex != skb->ingress_ifindex ||
	    nh->expires_ns <= pw_now_ns())
		return TC_ACT_OK;
	if (!pw_tc_forward_fits(skb, sizeof(*ip6) + bpf_ntohs(ip6->payload_len), nh->max_len, ports,
				end, sizeof(*ip6), ip6->nexthdr))
		return TC_ACT_OK;
	__builtin_memcpy(eth->h_dest, nh->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, nh->smac, ETH_ALEN);
	ip6->hop_limit--; /* no header checksum in IPv6 */
	pw_count_event(PW_EV_TC_STACK_FORWARD);
	return bpf_redirect(nh->ifindex, 0);
}

/* The frame's own protocol decides; everything else is the stack's. */
static __always_inline int pw_tc_forward(struct __sk_buff *skb)
{
	if (skb->protocol == bpf_htons(ETH_P_IP))
		return pw_tc_forward4(skb);
	if (skb->protocol == bpf_htons(ETH_P_IPV6))
		return pw_tc_forward6(skb);
	return TC_ACT_OK;
}
