// SPDX-License-Identifier: GPL-2.0
/* The packet rig's node without a dataplane (docs/performance.md "Packet rig"): the two
 * reference points every portway figure is read against, attached to the node's uplink.
 *   rig_drop      XDP_DROP: what the first hop itself can take (generator + uplink veth).
 *   rig_redirect  redirect into one of two sink links with no lookup and no rewrite: the
 *                 ceiling for any fast path that ends in a redirect. The slot is the source
 *                 port's lowest bit, so flows split over both sinks as a load balancer would.
 *   rig_pass      XDP_PASS: for the nftables variants, whose uplink has no XDP program of its
 *                 own, while the generator's XDP_TX into a veth needs one on the peer; and
 *                 the XDP half of the two tc ceilings below.
 *   rig_tc_redirect       tc ingress of the uplink, behind rig_pass: bpf_redirect of the skb
 *                 into one of the two sink links, no lookup. The cheapest way into a sandbox
 *                 veth at kernel defaults (no XDP program, no GRO on its peer), which drops
 *                 XDP_REDIRECTed frames: the ceiling of portway's tc hand-off.
 *   rig_tc_redirect_peer  the same with bpf_redirect_peer: the skb enters the sink's
 *                 namespace at its ingress directly, without the veth's transmit and the
 *                 per-CPU backlog (tc ingress only, veth/netkit targets only).
 *   rig_sink      not the node's: tc ingress of each sink's eth0 (in the sandbox namespace),
 *                 counts the generator's UDP frames (rig_sunk) and drops everything. A counter that leaves the sandbox veth at kernel
 *                 defaults (an XDP program there would give its peer NAPI) and that sees
 *                 skbs a tc program redirected, which generic XDP skips (skb_is_redirected).
 * Each node program counts the frames it saw (rig_seen), the node's side of "offered vs
 * delivered". */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

/* Slots 0 and 1: the node-side ends of the two sink links. The kernel resolves a devmap's
 * ifindex in the network namespace of the process that writes it, so user space writes it
 * from the node's namespace. */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} rig_ports SEC(".maps");

/* The same two links for the tc programs (a devmap is XDP's alone): node-side ifindexes. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} rig_tc_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} rig_seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} rig_sunk SEC(".maps");

static __always_inline void count_in(void *counter)
{
	__u32 key = 0;
	__u64 *n = bpf_map_lookup_elem(counter, &key);

	if (n)
		*n += 1; /* per-CPU slot, one frame at a time: no atomics needed */
}

static __always_inline void count(void)
{
	count_in(&rig_seen);
}

SEC("xdp")
int rig_drop(struct xdp_md *ctx)
{
	(void)ctx;
	count();
	return XDP_DROP;
}

SEC("xdp")
int rig_pass(struct xdp_md *ctx)
{
	(void)ctx;
	count();
	return XDP_PASS;
}

SEC("xdp")
int rig_redirect(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	/* The source port of IPv4 without options (what the rig sends); anything else goes to
	 * slot 0. Reading it is not a lookup: two bounds checks and one load. */
	struct udphdr *uh = data + ETH_HLEN + sizeof(struct iphdr);
	__u32 slot = 0;

	count();
	if ((void *)(uh + 1) <= data_end)
		slot = ((__u8 *)&uh->source)[1] & 1;
	return (int)bpf_redirect_map(&rig_ports, slot, 0);
}

/* The slot of an skb at tc ingress (data at the Ethernet header), as rig_redirect's. */
static __always_inline __u32 *tc_port(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct udphdr *uh = data + ETH_HLEN + sizeof(struct iphdr);
	__u32 slot = 0;

	if ((void *)(uh + 1) <= data_end)
		slot = ((__u8 *)&uh->source)[1] & 1;
	return bpf_map_lookup_elem(&rig_tc_ports, &slot);
}

SEC("tc")
int rig_tc_redirect(struct __sk_buff *skb)
{
	__u32 *ifindex = tc_port(skb);

	return ifindex ? (int)bpf_redirect(*ifindex, 0) : TC_ACT_OK;
}

SEC("tc")
int rig_tc_redirect_peer(struct __sk_buff *skb)
{
	__u32 *ifindex = tc_port(skb);

	return ifindex ? (int)bpf_redirect_peer(*ifindex, 0) : TC_ACT_OK;
}

/* Counts the generator's frames only (UDP over IPv4 or IPv6, what the rig sends), not the
 * node's own IPv6 neighbour discovery and MLD reports; drops everything. */
SEC("tc")
int rig_sink(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	__u8 proto = 0;

	if ((void *)(eth + 1) > data_end)
		return TC_ACT_SHOT;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) <= data_end)
			proto = ip->protocol;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) <= data_end)
			proto = ip6->nexthdr;
	}
	if (proto == IPPROTO_UDP)
		count_in(&rig_sunk);
	return TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "GPL";
