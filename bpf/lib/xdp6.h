/* The IPv6 path of pw_xdp_uplink: parse, L2 check, decide, then forward (FIB + pw_nexthops6),
 * answer (XDP_TX) or pass, exactly as the IPv4 path does (docs/xdp-dataplane.md "One packet"). */
#pragma once

#include "lib/clock.h"
#include "lib/decide6.h"
#include "lib/delivery.h"
#include "lib/nat6.h"
#include "lib/prefilter.h"
#include "lib/reply6.h"
#include "lib/scratch6.h"

static __always_inline int pw_xdp6_reply(struct xdp_md *ctx, const struct pw_pkt6 *p,
					 const struct pw_action6 *a)
{
	void *data, *end;
	int len;

	if (a->kind == PW_ACT_REPLY_RST) {
		data = (void *)(long)ctx->data;
		end = (void *)(long)ctx->data_end;
		if (pw_build_rst6(data, end, p))
			return -1;
		len = PW_RST6_FRAME_LEN;
	} else {
		if (bpf_xdp_adjust_head(ctx, -(int)PW_ICMP6_REPLY_GROWTH))
			return -1;
		data = (void *)(long)ctx->data;
		end = (void *)(long)ctx->data_end;
		len = pw_build_icmp6_reply(data, end, p, a);
		if (len < 0)
			return -1;
		len -= PW_ICMP6_REPLY_GROWTH; /* compared with the frame as it was, below */
	}
	if (bpf_xdp_adjust_tail(ctx, len - (int)p->frame_len))
		return -1;
	return 0;
}

/* bpf_fib_lookup (AF_INET6) for the translated packet, answered from pw_nexthops6 while the
 * cached answer for this backend is fresh (lb_abi.h, pw_nexthop6). *ready: whether the egress
 * device takes XDP_REDIRECTed frames, cached in the same entry as for IPv4 (pw_xdp_route), so a
 * cache hit costs no pw_interfaces lookup. */
static __always_inline int pw_xdp6_route(struct xdp_md *ctx, const struct pw_pkt6 *p,
					 const struct pw_action6 *a, struct bpf_fib_lookup *fib,
					 int *ready)
{
	__u32 in_ifindex = ctx->ingress_ifindex;
	__u16 pkt_len = PW_IP6_HLEN + p->payload_len;
	__u16 max_len = pkt_len;
	struct pw_nexthop6 *nh = NULL;
	__u64 now = 0;
	int rc;

	if (a->backend_id != PW_NO_ID) {
		nh = bpf_map_lookup_elem(&pw_nexthops6, &a->backend_id);
		if (nh) {
			now = a->now ? a->now : pw_now_ns();
			if (nh->expires_ns > now && pw_in6_eq(&nh->daddr, &a->daddr) &&
			    nh->in_ifindex == in_ifindex) {
				if (pkt_len <= nh->max_len) {
					fib->ifindex = nh->ifindex;
					__builtin_memcpy(fib->dmac, nh->dmac, ETH_ALEN);
					__builtin_memcpy(fib->smac, nh->smac, ETH_ALEN);
					*ready = nh->flags & PW_NEXTHOP_XDP_READY;
					return BPF_FIB_LKUP_RET_SUCCESS;
				}
				max_len = nh->max_len;
			}
		}
	}
	rc = pw_fib6_lookup(ctx, p, a, in_ifindex, pkt_len, fib);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return rc;
	*ready = pw_xdp_ready(fib->ifindex);
	if (nh) {
		/* Racing refills write the same answer (see pw_xdp_route for IPv4). */
		nh->daddr = a->daddr;
		nh->ifindex = fib->ifindex;
		nh->in_ifindex = in_ifindex;
		nh->max_len = pkt_len > max_len ? pkt_len : max_len;
		nh->flags = *ready ? PW_NEXTHOP_XDP_READY : 0;
		__builtin_memcpy(nh->dmac, fib->dmac, ETH_ALEN);
		__builtin_memcpy(nh->smac, fib->smac, ETH_ALEN);
		nh->expires_ns = now + PW_NEXTHOP_TTL_NS;
	}
	return rc;
}

/* A subprogram: its frame (the FIB answer, the rewrite's temporaries) is never on the stack
 * together with the decision's. */
static __noinline int pw_xdp6_execute(struct xdp_md *ctx, const struct pw_pkt6 *p,
					   struct pw_action6 *a)
{
	struct bpf_fib_lookup fib;
	void *data, *end;
	int rc, ready = 0;

	switch (a->kind) {
	case PW_ACT_NAT:
		rc = pw_xdp6_route(ctx, p, a, &fib, &ready);
		/* IPv6 routers never fragment: a packet above the path MTU gets packet too big,
		 * about the address the client used, built from the untranslated packet. */
		if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED && !p->later_frag &&
		    !(a->flags & PW_NAT_ICMP) && pw_may_answer6(p)) {
			a->kind = PW_ACT_REPLY_ICMP;
			a->reason = PW_DROP_OVERSIZE;
			a->icmp_type = PW_ICMP6_PKT_TOOBIG;
			a->icmp_code = 0;
			a->mtu = fib.mtu_result;
			break;
		}
		data = (void *)(long)ctx->data;
		end = (void *)(long)ctx->data_end;
		if (pw_nat6_apply(data, end, p, a, 0))
			goto internal;
		if (rc != BPF_FIB_LKUP_RET_SUCCESS) {
			pw_count_event(PW_EV_XDP_STACK);
			return XDP_PASS;
		}
		if (!ready && pw_xdp_handoff(ctx, fib.ifindex)) {
			pw_count_event(PW_EV_XDP_STACK);
			return XDP_PASS;
		}
		data = (void *)(long)ctx->data;
		end = (void *)(long)ctx->data_end;
		if (pw_fwd6_rewrite(data, end, &fib))
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
	if (pw_xdp6_reply(ctx, p, a))
		goto internal;
	return XDP_TX;
internal:
	pw_drop6(a, PW_DROP_INTERNAL);
	return XDP_DROP;
}

/* The whole IPv6 path of pw_xdp_uplink; its caller checked the ethertype. A BPF subprogram
 * (not inlined): its stack frame is its own, next to the IPv4 path's, and the two together
 * stay within the 512 bytes the verifier allows along one call chain; packet and action live in
 * the per-CPU scratch slot (lib/scratch6.h). */
static __noinline int pw_xdp6_uplink(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct pw_scratch6 *s = pw_scratch6_get(PW_SCRATCH6_XDP);
	__u32 foreign;
	int verdict;

	if (!s)
		return XDP_PASS;
	if (pw_parse6(data, end, (__u32)bpf_xdp_get_buff_len(ctx), &s->p) || pw_is_nd(&s->p))
		return XDP_PASS;
	if (data + ETH_HLEN > end)
		return XDP_PASS;
	/* Not a destination that may be portway's: untouched, before any hash lookup. */
	if (!pw_prefilter_v6(&s->p.daddr))
		return XDP_PASS;
	foreign = pw_l2_foreign(data, ctx->ingress_ifindex);
	if (foreign) {
		pw_count_event(foreign);
		return XDP_PASS;
	}
	pw_decide6(&s->a, &s->p, 0);
	verdict = pw_xdp6_execute(ctx, &s->p, &s->a);
	pw_account6(&s->a, s->p.frame_len);
	return verdict;
}
