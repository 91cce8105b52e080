/* The IPv6 path of pw_tc_sandbox (packets leaving a sandbox): reverse NAT of replies, the same
 * DNAT as XDP for sandbox -> frontend, hairpin, answers sent back into the sandbox. */
#pragma once

#include <linux/pkt_cls.h>

#include "lib/decide_reply6.h"
#include "lib/nat6.h"
#include "lib/prefilter.h"
#include "lib/reply6.h"
#include "lib/scratch6.h"

/* Ethernet + IPv6 + the extension headers the walk reads in practice + ICMPv6 + the quoted
 * IPv6 header + as many quoted extension headers + the quoted TCP header up to its checksum. */
#define PW_TC6_PULL_LEN (ETH_HLEN + PW_IP6_HLEN + 64 + PW_ICMP6_HLEN + PW_IP6_HLEN + 64 + 18)

static __always_inline int pw_tc6_reply(struct __sk_buff *skb, const struct pw_pkt6 *p,
					const struct pw_action6 *a)
{
	void *data, *end;
	int len;

	if (a->kind == PW_ACT_REPLY_RST) {
		if (bpf_skb_pull_data(skb, PW_RST6_FRAME_LEN))
			return -1;
		data = (void *)(long)skb->data;
		end = (void *)(long)skb->data_end;
		if (pw_build_rst6(data, end, p))
			return -1;
		len = PW_RST6_FRAME_LEN;
	} else {
		if (bpf_skb_change_head(skb, PW_ICMP6_REPLY_GROWTH, 0))
			return -1;
		if (bpf_skb_pull_data(skb, PW_ICMP6_REPLY_GROWTH + ETH_HLEN + pw_icmp6_quote_len(p)))
			return -1;
		data = (void *)(long)skb->data;
		end = (void *)(long)skb->data_end;
		len = pw_build_icmp6_reply(data, end, p, a);
		if (len < 0)
			return -1;
	}
	/* Full checksums, as for IPv4 (pw_tc_reply). */
	if (bpf_skb_change_tail(skb, len, 0))
		return -1;
	return 0;
}

/* A 128-bit address change folded into the TCP/UDP checksum through the skb helper, which
 * keeps a CHECKSUM_PARTIAL skb consistent (BPF_F_PSEUDO_HDR); the difference comes from
 * bpf_csum_diff over the two addresses (on the stack). */
static __always_inline int pw_tc6_l4_addr(struct __sk_buff *skb, __u32 off, struct pw_in6 *old,
					  struct pw_in6 *new, __u64 flags)
{
	__s64 diff;

	if (pw_in6_eq(old, new))
		return 0;
	diff = bpf_csum_diff((__be32 *)old, sizeof(*old), (__be32 *)new, sizeof(*new), 0);
	if (diff < 0)
		return -1;
	return bpf_l4_csum_replace(skb, off, 0, diff, BPF_F_PSEUDO_HDR | flags) ? -1 : 0;
}

static __always_inline int pw_tc6_nat(struct __sk_buff *skb, const struct pw_pkt6 *p,
				      struct pw_action6 *a)
{
	void *data, *end;

	if (!p->later_frag && (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP)) {
		__u32 off = p->l4_off + (p->proto == IPPROTO_TCP ? offsetof(struct tcphdr, check)
								   : offsetof(struct udphdr, check));
		__u64 mangled = p->proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;
		struct pw_in6 old_s = p->saddr, old_d = p->daddr;

		if (pw_tc6_l4_addr(skb, off, &old_s, &a->saddr, mangled) ||
		    pw_tc6_l4_addr(skb, off, &old_d, &a->daddr, mangled))
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
	return pw_nat6_apply(data, end, p, a, 1);
}

/* A subprogram for the stack, as pw_xdp6_execute. */
static __noinline int pw_tc6_execute(struct __sk_buff *skb, const struct pw_pkt6 *p,
					  struct pw_action6 *a)
{
	struct bpf_fib_lookup fib;
	void *data, *end;
	int rc;

	switch (a->kind) {
	case PW_ACT_NAT:
		if (pw_tc6_nat(skb, p, a))
			goto internal;
		data = (void *)(long)skb->data;
		end = (void *)(long)skb->data_end;
		/* Hairpin: back into the sandbox it came from, not through the stack. */
		if (a->flags & PW_NAT_HAIRPIN) {
			if (pw_fwd6_rewrite(data, end, NULL))
				goto internal;
			return bpf_redirect(skb->ifindex, 0);
		}
		rc = pw_fib6_lookup(skb, p, a, skb->ingress_ifindex, 0, &fib);
		if (rc != BPF_FIB_LKUP_RET_SUCCESS)
			return TC_ACT_OK;
		data = (void *)(long)skb->data;
		end = (void *)(long)skb->data_end;
		if (pw_fwd6_rewrite(data, end, &fib))
			goto internal;
		return bpf_redirect(fib.ifindex, 0);
	case PW_ACT_DROP:
		return TC_ACT_SHOT;
	case PW_ACT_REPLY_RST:
	case PW_ACT_REPLY_ICMP:
		if (pw_tc6_reply(skb, p, a))
			goto internal;
		return bpf_redirect(skb->ifindex, 0);
	default:
		return TC_ACT_OK;
	}
internal:
	pw_drop6(a, PW_DROP_INTERNAL);
	return TC_ACT_SHOT;
}

/* The whole IPv6 path of pw_tc_sandbox; its caller checked the ethertype. A BPF subprogram,
 * for the stack (see pw_xdp6_uplink); packet and action in the scratch slot (lib/scratch6.h). */
static __noinline int pw_tc6_sandbox(struct __sk_buff *skb)
{
	struct pw_scratch6 *s = pw_scratch6_get(PW_SCRATCH6_TC);
	__u32 want = skb->len < PW_TC6_PULL_LEN ? skb->len : PW_TC6_PULL_LEN;
	void *data, *end;
	int verdict;

	if (!s)
		return TC_ACT_OK;
	if (skb->data_end - skb->data < want)
		bpf_skb_pull_data(skb, want);
	data = (void *)(long)skb->data;
	end = (void *)(long)skb->data_end;
	if (pw_parse6(data, end, skb->len, &s->p) || pw_is_nd(&s->p))
		return TC_ACT_OK;

	if (s->p.later_frag && !s->p.l3_err) {
		/* Reply fragments are not addressed to a frontend: the record comes first. */
		pw_classify6(&s->p);
		pw_decide6_later_fragment(&s->a, &s->p);
	} else if (!pw_decide6_reply(&s->a, &s->p) && pw_prefilter_v6(&s->p.daddr)) {
		pw_decide6(&s->a, &s->p, 1);
	}
	verdict = pw_tc6_execute(skb, &s->p, &s->a);
	pw_account6(&s->a, s->p.frame_len);
	return verdict;
}
