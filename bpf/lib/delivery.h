/* What the XDP program may take (frames addressed to the node at L2) and how a translated frame
 * leaves it: XDP_REDIRECT into interfaces known to accept XDP frames, otherwise a hand-off to
 * pw_tc_uplink through the XDP metadata (struct pw_handoff; docs/xdp-dataplane.md, "Delivery"). */
#pragma once

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>

#include "lib/maps.h"
#include "lib/stats.h"

/* The ingress uplink's entry: pw_uplinks when the controller wrote one there (an inlined ARRAY
 * read; out-of-range ifindexes come back NULL from the lookup itself), else pw_interfaces
 * (an uplink whose ifindex does not fit, or pins whose controller has not filled pw_uplinks
 * yet, as right after an upgrade from layout 2). */
static __always_inline const struct pw_interface *pw_uplink_entry(__u32 ifindex)
{
	const struct pw_interface *u = bpf_map_lookup_elem(&pw_uplinks, &ifindex);

	if (u && (u->flags & PW_IF_UPLINK))
		return u;
	return bpf_map_lookup_elem(&pw_interfaces, &ifindex);
}

/* 0 when the frame's destination MAC is the ingress uplink's own; otherwise the pw_event it
 * is passed under. The caller checked that the Ethernet header is in the frame. */
static __always_inline __u32 pw_l2_foreign(const struct ethhdr *eth, __u32 ingress_ifindex)
{
	const struct pw_interface *iface;
	__u8 diff;
	int i;

	/* The group bit: broadcast and multicast are never "the node's" at L2 for a unicast
	 * service, and the stack delivers them as it would without portway. */
	if (eth->h_dest[0] & 1)
		return PW_EV_L2_MULTICAST;
	iface = pw_uplink_entry(ingress_ifindex);
	if (!iface || !(iface->flags & PW_IF_UPLINK))
		return PW_EV_L2_UNKNOWN_UPLINK;
	diff = 0;
#pragma unroll
	for (i = 0; i < ETH_ALEN; i++)
		diff |= eth->h_dest[i] ^ iface->mac[i];
	if (diff)
		return PW_EV_L2_OTHER_HOST;
	return 0;
}

static __always_inline int pw_xdp_ready(__u32 ifindex)
{
	const struct pw_interface *iface = bpf_map_lookup_elem(&pw_interfaces, &ifindex);

	return iface && (iface->flags & PW_IF_XDP_READY);
}

/* 0 when the kernel refuses bpf_xdp_adjust_meta to XDP programs (some kernels are built that
 * way; the loader asks the kernel before each load: loader/xdp_features.h). Every hand-off
 * then fails and its frames go to the stack. A frozen read-only constant: the verifier never
 * walks the helper call when it is 0, so the program loads on such a kernel. */
const volatile __u32 pw_handoff_by_metadata = 1;

/* Puts a pw_handoff in front of the frame. -1 when the driver keeps no metadata room
 * (bpf_xdp_adjust_meta fails) or the kernel has no metadata for XDP: the caller then leaves
 * the frame to the stack. Invalidates every packet pointer. */
static __always_inline int pw_xdp_handoff(struct xdp_md *ctx, __u32 ifindex)
{
	struct pw_handoff *h;
	void *data;

	if (!pw_handoff_by_metadata)
		return -1;
	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(*h)))
		return -1;
	h = (void *)(long)ctx->data_meta;
	data = (void *)(long)ctx->data;
	if ((void *)(h + 1) > data)
		return -1;
	h->magic = PW_HANDOFF_MAGIC;
	h->ifindex = ifindex;
	return 0;
}
