// SPDX-License-Identifier: GPL-2.0
/* The L4 load balancer: XDP on the uplinks, tc on the host side of sandbox veths. Semantics:
 * docs/xdp-dataplane.md and docs/parity.md (one table for both dataplanes); maps: include/portway/lb_abi.h.
 *
 *   pw_xdp_uplink  clients -> frontends: DNAT to a backend, rejects, ICMP errors about
 *                  translated flows, fragments; forwarded by FIB lookup + redirect.
 *   pw_tc_uplink   tc ingress of the uplinks: redirects what pw_xdp_uplink handed off, or
 *                  without XDP metadata forwards what it passed translated (lib/tc_forward.h).
 *   pw_tc_sandbox  tc ingress of a sandbox's host-side veth (= packets leaving the sandbox):
 *                  reverse NAT of replies, the same DNAT for sandbox -> frontend, hairpin.
 *   pw_sock_*      cgroup socket hooks: processes on the node reach frontends (lib/sock_lb.h).
 *   pw_conn_ctl4/6 never attached: the controller's writes into the connection tables, run
 *                  with BPF_PROG_TEST_RUN (lib/conn_ctl.h). */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "lib/clock.h"
#include "lib/conn_ctl.h"
#include "lib/decide.h"
#include "lib/decide_reply.h"
#include "lib/delivery.h"
#include "lib/nat.h"
#include "lib/prefilter.h"
#include "lib/reply.h"
#include "lib/sock_lb.h"
#include "lib/tc_forward.h"
#include "lib/tc6.h"
#include "lib/xdp6.h"

/* PORTWAY_BUILD_MARK: a build whose programs differ in their instructions (one stack store
 * nothing reads) and in nothing else, maps included. The upgrade tests build portway a second
 * time with it (tests/integration/CMakeLists.txt) to swap really different programs in under
 * load. The default build has no such store. */
#ifdef PORTWAY_BUILD_MARK
#define PW_BUILD_MARK()                                      \
	do {                                                 \
		volatile __u32 pw_mark = PORTWAY_BUILD_MARK; \
		(void)pw_mark;                               \
	} while (0)
#else
#define PW_BUILD_MARK() do { } while (0)
#endif

/* ---- XDP -------------------------------------------------------------------------------- */

static __always_inline int pw_xdp_reply(struct xdp_md *ctx, const struct pw_pkt *p,
					const struct pw_action *a)
{
	void *data, *end;
	int len;

	if (a->kind == PW_ACT_REPLY_RST) {
		data = (void *)(long)ctx->data;
		end = (void *)(long)ctx->data_end;
		if (pw_build_rst(data, end, p))
			return -1;
		len = PW_RST_FRAME_LEN;
	} else {
		if (bpf_xdp_adjust_head(ctx, -(int)PW_ICMP_REPLY_GROWTH))
			return -1;
		data = (void *)(long)ctx->data;
		end = (void *)(long)ctx->data_end;
		len = pw_build_icmp_reply(data, end, p, a);
		if (len < 0)
			return -1;
	}
	/* Trim what follows the reply (payload, options; frags of a multi-buffer frame). Against
	 * the buffer's exact length, not p->frame_len, which is the linear part alone when the IP
	 * packet fit in it (pw_xdp_uplink); an answer is rare enough to ask for it. */
	if (bpf_xdp_adjust_tail(ctx, len - (int)bpf_xdp_get_buff_len(ctx)))
		return -1;
	return 0;
}

/* bpf_fib_lookup for the translated packet, answered from pw_nexthops while the cached answer
 * for this backend is fresh (see lb_abi.h). Returns a BPF_FIB_LKUP_RET_* code; on success
 * fib->ifindex, smac and dmac are set, and *ready tells whether the egress device takes
 * XDP_REDIRECTed frames (PW_IF_XDP_READY), cached in the same entry: a cache hit costs no
 * pw_interfaces lookup. */
static __always_inline int pw_xdp_route(struct xdp_md *ctx, const struct pw_pkt *p,
					const struct pw_action *a, struct bpf_fib_lookup *fib,
					int *ready)
{
	__u32 in_ifindex = ctx->ingress_ifindex;
	struct pw_nexthop *nh = NULL;
	__u64 now = 0;
	__u16 max_len = p->tot_len;
	int rc;

	if (a->backend_id != PW_NO_ID) {
		nh = bpf_map_lookup_elem(&pw_nexthops, &a->backend_id);
		if (nh) {
			/* Read by pw_decide_flow already for most packets: one helper call less. */
			now = a->now ? a->now : pw_now_ns();
			if (nh->expires_ns > now && nh->daddr == a->daddr &&
			    nh->in_ifindex == in_ifindex) {
				if (p->tot_len <= nh->max_len) {
					fib->ifindex = nh->ifindex;
					__builtin_memcpy(fib->dmac, nh->dmac, ETH_ALEN);
					__builtin_memcpy(fib->smac, nh->smac, ETH_ALEN);
					*ready = nh->flags & PW_NEXTHOP_XDP_READY;
					return BPF_FIB_LKUP_RET_SUCCESS;
				}
				max_len = nh->max_len; /* grows below if this bigger one passes */
			}
		}
	}
	rc = pw_fib_lookup(ctx, p, a, in_ifindex, p->tot_len, fib);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return rc;
	*ready = pw_xdp_ready(fib->ifindex);
	if (nh) {
		/* Several CPUs may refill one entry at once; they write the same answer, and a
		 * torn mix of two answers during a neighbour change costs one misdirected frame. */
		nh->daddr = a->daddr;
		nh->ifindex = fib->ifindex;
		nh->in_ifindex = in_ifindex;
		nh->max_len = p->tot_len > max_len ? p->tot_len : max_len;
		nh->flags = *ready ? PW_NEXTHOP_XDP_READY : 0;
		__builtin_memcpy(nh->dmac, fib->dmac, ETH_ALEN);
		__builtin_memcpy(nh->smac, fib->smac, ETH_ALEN);
		nh->expires_ns = now + PW_NEXTHOP_TTL_NS;
	}
	return rc;
}

static __always_inline int pw_xdp_execute(struct xdp_md *ctx, const struct pw_pkt *p,
					  struct pw_action *a)
{
	struct bpf_fib_lookup fib;
	void *data, *end;
	int rc, ready = 0;

	switch (a->kind) {
	case PW_ACT_NAT:
		rc = pw_xdp_route(ctx, p, a, &fib, &ready);
		/* Too big for the path to the backend with DF set: the client must hear it about
		 * the address it used, so the answer is ours, built from the untranslated packet
		 * (the kernel would quote the translated one). Without DF the stack fragments. */
		if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED && p->df && !p->later_frag &&
		    !(a->flags & PW_NAT_ICMP) && pw_may_answer(p)) {
			a->kind = PW_ACT_REPLY_ICMP;
			a->reason = PW_DROP_OVERSIZE;
			a->icmp_type = ICMP_DEST_UNREACH;
			a->icmp_code = ICMP_FRAG_NEEDED;
			a->mtu = fib.mtu_result;
			break;
		}
		data = (void *)(long)ctx->data;
		end = (void *)(long)ctx->data_end;
		if (pw_nat_apply(data, end, p, a, 0))
			goto internal;
		if (rc != BPF_FIB_LKUP_RET_SUCCESS) {
			/* No neighbour yet, a local route, ...: the stack knows. */
			pw_count_event(PW_EV_XDP_STACK);
			return XDP_PASS;
		}
		/* Without metadata room the frame must keep the node's MACs, or the stack would
		 * drop it as another host's: it is routed by the stack instead. */
		if (!ready && pw_xdp_handoff(ctx, fib.ifindex)) {
			pw_count_event(PW_EV_XDP_STACK);
			return XDP_PASS;
		}
		data = (void *)(long)ctx->data;
		end = (void *)(long)ctx->data_end;
		if (pw_fwd_rewrite(data, end, &fib))
			goto internal;
		if (!ready) {
			pw_count_event(PW_EV_XDP_TC_HANDOFF);
			return XDP_PASS;
		}
		pw_count_event(PW_EV_XDP_REDIRECT);
		return bpf_redirect(fib.ifindex, 0);
	case PW_ACT_DROP:
		return XDP_DROP;
	case PW_ACT_REPLY_RST:
	case PW_ACT_REPLY_ICMP:
		break;
	default:
		return XDP_PASS;
	}
	if (pw_xdp_reply(ctx, p, a))
		goto internal;
	return XDP_TX;
internal:
	pw_drop(a, PW_DROP_INTERNAL);
	return XDP_DROP;
}

/* The IPv4 path of pw_xdp_uplink. A BPF subprogram, as the IPv6 one (lib/xdp6.h): the
 * verifier allows 512 bytes of stack along one call chain, and the two paths' frames side by
 * side in one function would not fit. */
static __noinline int pw_xdp4_uplink(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct pw_pkt p = {};
	struct pw_action a = { .frontend_id = PW_NO_ID, .backend_id = PW_NO_ID };
	const struct iphdr *ip = data + ETH_HLEN;
	__u32 frame_len = end - data;
	int verdict;

	__u32 foreign;

	/* The frame's length: the linear part, unless the IP packet claims more, which only a
	 * multi-buffer frame (or a broken header) has; only then is bpf_xdp_get_buff_len (kernel
	 * >= 5.18, 7-24 ns measured) asked. A multi-buffer frame's fragments start where the head
	 * is full, so they hold IP payload: the packet claims more than the head. */
	if ((void *)(ip + 1) <= end && bpf_ntohs(ip->tot_len) > frame_len - ETH_HLEN)
		frame_len = bpf_xdp_get_buff_len(ctx);
	if (pw_parse(data, end, frame_len, &p))
		return XDP_PASS;
	if (data + ETH_HLEN > end)
		return XDP_PASS;
	/* Not a destination that may be portway's: untouched, before any hash lookup. */
	if (!pw_prefilter_v4(p.daddr))
		return XDP_PASS;
	/* Not addressed to the node at L2: the stack decides (and drops other hosts' unicast),
	 * exactly as without portway. Checked before any decision, which may record a flow, and
	 * only for what the prefix filter let through (one pw_interfaces lookup less for the
	 * rest). */
	foreign = pw_l2_foreign(data, ctx->ingress_ifindex);
	if (foreign) {
		pw_count_event(foreign);
		return XDP_PASS;
	}
	pw_decide_frontend(&a, &p, 0);
	verdict = pw_xdp_execute(ctx, &p, &a);
	pw_account(&a, p.frame_len);
	return verdict;
}

/* "xdp.frags": uplinks may run jumbo MTUs, whose frames come as a linear head plus fragments.
 * Only headers are read or written, and they are in the head. */
SEC("xdp.frags")
int pw_xdp_uplink(struct xdp_md *ctx)
{
	PW_BUILD_MARK();
	if (pw_is_ipv6((void *)(long)ctx->data, (void *)(long)ctx->data_end))
		return pw_xdp6_uplink(ctx); /* lib/xdp6.h */
	return pw_xdp4_uplink(ctx);
}

/* ---- tc --------------------------------------------------------------------------------- */

/* Enough for Ethernet + IPv4 with options + ICMP + the quoted IPv4 header with options + the
 * quoted TCP header up to its checksum. */
#define PW_TC_PULL_LEN (ETH_HLEN + 60 + 8 + 60 + 18)

static __always_inline int pw_tc_reply(struct __sk_buff *skb, const struct pw_pkt *p,
				       const struct pw_action *a)
{
	void *data, *end;
	int len;

	if (a->kind == PW_ACT_REPLY_RST) {
		if (bpf_skb_pull_data(skb, PW_RST_FRAME_LEN))
			return -1;
		data = (void *)(long)skb->data;
		end = (void *)(long)skb->data_end;
		if (pw_build_rst(data, end, p))
			return -1;
		len = PW_RST_FRAME_LEN;
	} else {
		/* Room in front, like XDP's adjust_head: the original frame keeps its place after
		 * the new headers and becomes the quote. */
		if (bpf_skb_change_head(skb, PW_ICMP_REPLY_GROWTH, 0))
			return -1;
		if (bpf_skb_pull_data(skb, PW_ICMP_REPLY_GROWTH + ETH_HLEN + p->ihl_len + 8))
			return -1;
		data = (void *)(long)skb->data;
		end = (void *)(long)skb->data_end;
		len = pw_build_icmp_reply(data, end, p, a);
		if (len < 0)
			return -1;
	}
	/* The headers carry full checksums. A CHECKSUM_PARTIAL skb keeps that mark, which veth
	 * delivers as "verified", so nothing recomputes (and breaks) them on the way in. */
	if (bpf_skb_change_tail(skb, len, 0))
		return -1;
	return 0;
}

/* TCP/UDP checksums through the skb helpers: a sandbox's TCP segments are usually
 * CHECKSUM_PARTIAL (the field holds only the pseudo-header sum), and BPF_F_PSEUDO_HDR makes
 * the helper update the field the way that state needs. The rest is done directly. */
static __always_inline int pw_tc_nat(struct __sk_buff *skb, const struct pw_pkt *p,
				     const struct pw_action *a)
{
	void *data, *end;

	if (!p->later_frag && (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP)) {
		__u32 off = p->l4_off + (p->proto == IPPROTO_TCP ? offsetof(struct tcphdr, check)
								   : offsetof(struct udphdr, check));
		__u64 mangled = p->proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;

		if (a->saddr != p->saddr &&
		    bpf_l4_csum_replace(skb, off, p->saddr, a->saddr, BPF_F_PSEUDO_HDR | mangled | 4))
			return -1;
		if (a->daddr != p->daddr &&
		    bpf_l4_csum_replace(skb, off, p->daddr, a->daddr, BPF_F_PSEUDO_HDR | mangled | 4))
			return -1;
		if (a->sport != p->sport &&
		    bpf_l4_csum_replace(skb, off, p->sport, a->sport, mangled | 2))
			return -1;
		if (a->dport != p->dport &&
		    bpf_l4_csum_replace(skb, off, p->dport, a->dport, mangled | 2))
			return -1;
	}
	data = (void *)(long)skb->data;
	end = (void *)(long)skb->data_end;
	return pw_nat_apply(data, end, p, a, 1);
}

static __always_inline int pw_tc_execute(struct __sk_buff *skb, const struct pw_pkt *p,
					 struct pw_action *a)
{
	struct bpf_fib_lookup fib;
	void *data, *end;
	int rc;

	switch (a->kind) {
	case PW_ACT_NAT:
		if (pw_tc_nat(skb, p, a))
			goto internal;
		data = (void *)(long)skb->data;
		end = (void *)(long)skb->data_end;
		/* Hairpin: back into the sandbox it came from. Not through the stack, which would
		 * drop a packet from a local address arriving on an interface as a martian. */
		if (a->flags & PW_NAT_HAIRPIN) {
			if (pw_fwd_rewrite(data, end, NULL))
				goto internal;
			return bpf_redirect(skb->ifindex, 0);
		}
		/* Straight to the egress device when the neighbour is known: also avoids
		 * reverse-path filtering of replies whose source is now a service address. */
		rc = pw_fib_lookup(skb, p, a, skb->ingress_ifindex, 0, &fib);
		if (rc != BPF_FIB_LKUP_RET_SUCCESS)
			return TC_ACT_OK;
		data = (void *)(long)skb->data;
		end = (void *)(long)skb->data_end;
		if (pw_fwd_rewrite(data, end, &fib))
			goto internal;
		return bpf_redirect(fib.ifindex, 0);
	case PW_ACT_DROP:
		return TC_ACT_SHOT;
	case PW_ACT_REPLY_RST:
	case PW_ACT_REPLY_ICMP:
		if (pw_tc_reply(skb, p, a))
			goto internal;
		/* Out of the host side = into the sandbox that sent the packet. */
		return bpf_redirect(skb->ifindex, 0);
	default:
		return TC_ACT_OK;
	}
internal:
	pw_drop(a, PW_DROP_INTERNAL);
	return TC_ACT_SHOT;
}

/* The IPv4 path of pw_tc_sandbox, a subprogram for the stack (see pw_xdp4_uplink). */
static __noinline int pw_tc4_sandbox(struct __sk_buff *skb)
{
	struct pw_pkt p = {};
	struct pw_action a = { .frontend_id = PW_NO_ID, .backend_id = PW_NO_ID };
	__u32 want = skb->len < PW_TC_PULL_LEN ? skb->len : PW_TC_PULL_LEN;
	void *data, *end;
	int verdict;

	/* Headers of locally generated packets are linear, but nothing guarantees it. */
	if (skb->data_end - skb->data < want)
		bpf_skb_pull_data(skb, want);
	data = (void *)(long)skb->data;
	end = (void *)(long)skb->data_end;
	if (pw_parse(data, end, skb->len, &p))
		return TC_ACT_OK;

	if (p.later_frag && !p.l3_err) {
		/* Reply fragments are not addressed to a frontend, so the record comes first. */
		pw_classify(&p);
		pw_decide_later_fragment(&a, &p);
	} else if (!pw_decide_reply(&a, &p) && pw_prefilter_v4(p.daddr)) {
		pw_decide_frontend(&a, &p, 1);
	}
	verdict = pw_tc_execute(skb, &p, &a);
	pw_account(&a, p.frame_len);
	return verdict;
}

SEC("tc")
int pw_tc_sandbox(struct __sk_buff *skb)
{
	PW_BUILD_MARK();

	/* A VLAN tag the device took out of the frame: not a sandbox's plain traffic. */
	if (skb->vlan_present)
		return TC_ACT_OK;
	if (pw_is_ipv6((void *)(long)skb->data, (void *)(long)skb->data_end))
		return pw_tc6_sandbox(skb); /* lib/tc6.h */
	return pw_tc4_sandbox(skb);
}

/* tc ingress of each uplink: frames pw_xdp_uplink translated and handed off (struct
 * pw_handoff in the metadata) are redirected as an skb, which any device accepts (a veth
 * forwards it to its peer with netif_rx, no NAPI needed). Everything else: untouched. */
SEC("tc")
int pw_tc_uplink(struct __sk_buff *skb)
{
	const struct pw_handoff *h = (void *)(long)skb->data_meta;
	void *data = (void *)(long)skb->data;
	PW_BUILD_MARK();

	/* Without XDP metadata nothing is handed off, and translated frames XDP passed to the
	 * stack are forwarded from here where they can be (lib/tc_forward.h). A frozen constant:
	 * each kernel's program has one of the two branches only. */
	if (!pw_handoff_by_metadata)
		return pw_tc_forward(skb);
	if ((void *)(h + 1) > data || h->magic != PW_HANDOFF_MAGIC)
		return TC_ACT_OK;
	pw_count_event(PW_EV_TC_HANDOFF_DELIVERED);
	return bpf_redirect(h->ifindex, 0);
}

/* ---- the controller's writes into the connection tables ---------------------------------- */

/* The frame is an array of operations (at most PW_CONN_CTL_BATCH); each one's result is written
 * back into it. Copied to the stack and back with the xdp helpers: the frame's length is the
 * caller's, and an operation that does not fit whole ends the run. One operation per
 * bpf_loop callback, not a loop in the program: the verifier checks a callback once, where it
 * walked a bounded loop's 24 turns one by one (~350,000 instructions more on every load of
 * the object, for both programs). */
struct pw_conn_ctl_run {
	struct xdp_md *ctx;
};

static long pw_conn_ctl4_one(__u32 i, void *data)
{
	struct xdp_md *ctx = ((struct pw_conn_ctl_run *)data)->ctx;
	struct pw_conn_ctl op;

	if (bpf_xdp_load_bytes(ctx, i * sizeof(op), &op, sizeof(op)))
		return 1; /* the end of the frame */
	op.result = pw_conn_ctl4_do(&op);
	bpf_xdp_store_bytes(ctx, i * sizeof(op) + __builtin_offsetof(struct pw_conn_ctl, result),
			    &op.result, sizeof(op.result));
	return 0;
}

static long pw_conn_ctl6_one(__u32 i, void *data)
{
	struct xdp_md *ctx = ((struct pw_conn_ctl_run *)data)->ctx;
	struct pw_conn6_ctl op;

	if (bpf_xdp_load_bytes(ctx, i * sizeof(op), &op, sizeof(op)))
		return 1;
	op.result = pw_conn_ctl6_do(&op);
	bpf_xdp_store_bytes(ctx, i * sizeof(op) + __builtin_offsetof(struct pw_conn6_ctl, result),
			    &op.result, sizeof(op.result));
	return 0;
}

SEC("xdp")
int pw_conn_ctl4(struct xdp_md *ctx)
{
	struct pw_conn_ctl_run run = {.ctx = ctx};

	bpf_loop(PW_CONN_CTL_BATCH, pw_conn_ctl4_one, &run, 0);
	return XDP_PASS;
}

SEC("xdp")
int pw_conn_ctl6(struct xdp_md *ctx)
{
	struct pw_conn_ctl_run run = {.ctx = ctx};

	bpf_loop(PW_CONN_CTL_BATCH, pw_conn_ctl6_one, &run, 0);
	return XDP_PASS;
}

/* ---- cgroup socket hooks ---------------------------------------------------------------- */

SEC("cgroup/connect4")
int pw_sock_connect4(struct bpf_sock_addr *ctx)
{
	PW_BUILD_MARK();
	return pw_sock_to_backend(ctx);
}

/* Unconnected UDP: every datagram is looked at (connected sockets were handled at connect). */
SEC("cgroup/sendmsg4")
int pw_sock_sendmsg4(struct bpf_sock_addr *ctx)
{
	PW_BUILD_MARK();
	return pw_sock_to_backend(ctx);
}

SEC("cgroup/recvmsg4")
int pw_sock_recvmsg4(struct bpf_sock_addr *ctx)
{
	PW_BUILD_MARK();
	pw_sock_to_frontend(ctx);
	return 1; /* recvmsg hooks must return 1 */
}

SEC("cgroup/getpeername4")
int pw_sock_getpeername4(struct bpf_sock_addr *ctx)
{
	PW_BUILD_MARK();
	pw_sock_to_frontend(ctx);
	return 1;
}

/* IPv6 sockets (and IPv4-mapped destinations on them: lib/sock_lb.h). */
SEC("cgroup/connect6")
int pw_sock_connect6(struct bpf_sock_addr *ctx)
{
	PW_BUILD_MARK();
	return pw_sock_to_backend6(ctx);
}

SEC("cgroup/sendmsg6")
int pw_sock_sendmsg6(struct bpf_sock_addr *ctx)
{
	PW_BUILD_MARK();
	return pw_sock_to_backend6(ctx);
}

SEC("cgroup/recvmsg6")
int pw_sock_recvmsg6(struct bpf_sock_addr *ctx)
{
	PW_BUILD_MARK();
	pw_sock_to_frontend6(ctx);
	return 1; /* recvmsg hooks must return 1 */
}

SEC("cgroup/getpeername6")
int pw_sock_getpeername6(struct bpf_sock_addr *ctx)
{
	PW_BUILD_MARK();
	pw_sock_to_frontend6(ctx);
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
