/* The outcome of the decision for one packet (struct pw_action), its constructors, and the
 * counters it is accounted to. Shared by the XDP and the tc program. */
#pragma once

#include "lib/clock.h"
#include "lib/pkt.h"
#include "lib/stats.h"

enum pw_act {
	PW_ACT_PASS = 0,   /* not ours: leave the packet exactly as it is */
	PW_ACT_DROP,       /* count `reason`, drop */
	PW_ACT_NAT,        /* rewrite to the new addresses/ports below, then forward */
	PW_ACT_REPLY_RST,  /* answer with a TCP reset from the frontend, count `reason` */
	PW_ACT_REPLY_ICMP, /* answer with ICMP icmp_type/icmp_code, count `reason` */
};

#define PW_NAT_HAIRPIN 0x1 /* goes back out of the sandbox interface it came from */
#define PW_NAT_ICMP 0x2    /* an ICMP error: the quoted packet is rewritten as well */
#define PW_NAT_REPLY 0x4   /* backend -> client: not counted */

struct pw_action {
	__u32 kind;        /* enum pw_act */
	__u32 reason;      /* enum pw_drop_reason for DROP and REPLY_* */
	__u32 frontend_id; /* PW_NO_ID when none */
	__u32 backend_id;  /* PW_NO_ID when none */
	__u32 flags;       /* PW_NAT_* */
	__u32 new_flow;
	__u16 mtu;         /* REPLY_ICMP fragmentation needed: next-hop MTU (host order) */
	__u8 icmp_type;
	__u8 icmp_code;
	/* NAT: the outer header after translation (equal to the packet's = unchanged) */
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	/* NAT of an ICMP error: the quoted header after translation */
	__be32 in_saddr;
	__be32 in_daddr;
	__be16 in_sport;
	__be16 in_dport;
	__u64 now;         /* pw_now_ns() once read for this packet, else 0 */
};

static __always_inline void pw_nat_init(struct pw_action *a, const struct pw_pkt *p)
{
	a->kind = PW_ACT_NAT;
	a->saddr = p->saddr;
	a->daddr = p->daddr;
	a->sport = p->sport;
	a->dport = p->dport;
	a->in_saddr = p->in_saddr;
	a->in_daddr = p->in_daddr;
	a->in_sport = p->in_sport;
	a->in_dport = p->in_dport;
}

static __always_inline void pw_drop(struct pw_action *a, __u32 reason)
{
	a->kind = PW_ACT_DROP;
	a->reason = reason;
}

/* Answers go to the packet's source; never to an address that is not a single host (RFC 1122
 * 3.2.2 and 4.2.3.10: no errors about broadcast/multicast), and never a reset for a reset. */
static __always_inline int pw_may_answer(const struct pw_pkt *p)
{
	__u32 src = bpf_ntohl(p->saddr);

	if (src == 0 || src == 0xffffffff || (src >> 28) == 0xe || (src >> 24) == 127)
		return 0;
	if (p->proto == IPPROTO_TCP && (p->tcp_flags & PW_TCP_RST))
		return 0;
	return 1;
}

static __always_inline void pw_reject(struct pw_action *a, const struct pw_pkt *p, __u32 reason,
				      __u32 frontend_id)
{
	a->reason = reason;
	a->frontend_id = frontend_id;
	if (!pw_may_answer(p)) {
		a->kind = PW_ACT_DROP;
		return;
	}
	if (p->proto == IPPROTO_TCP) {
		a->kind = PW_ACT_REPLY_RST;
	} else {
		a->kind = PW_ACT_REPLY_ICMP;
		a->icmp_type = ICMP_DEST_UNREACH;
		a->icmp_code = ICMP_PORT_UNREACH;
	}
}

/* TTL <= 1 on a packet we would forward: ICMP time exceeded from the frontend address, as the
 * router it stands for; only for the first fragment (RFC 1812 4.3.2.7: no errors about later
 * fragments). */
static __always_inline void pw_ttl_expired(struct pw_action *a, const struct pw_pkt *p)
{
	a->reason = PW_DROP_TTL_EXPIRED;
	if (p->later_frag || p->proto == IPPROTO_ICMP || !pw_may_answer(p)) {
		a->kind = PW_ACT_DROP;
		return;
	}
	a->kind = PW_ACT_REPLY_ICMP;
	a->icmp_type = ICMP_TIME_EXCEEDED;
	a->icmp_code = ICMP_EXC_TTL;
}

/* Counters for the final outcome (after the program may have turned a NAT into a reply), the
 * same for both families (pw_action, pw_action6). */
static __always_inline void pw_account_outcome(__u32 kind, __u32 flags, __u32 reason,
					       __u32 frontend_id, __u32 backend_id, __u32 new_flow,
					       __u32 frame_len)
{
	switch (kind) {
	case PW_ACT_NAT:
		if (flags & PW_NAT_REPLY)
			return;
		pw_count_traffic(&pw_frontend_stats, frontend_id, frame_len, new_flow, 0);
		pw_count_traffic(&pw_backend_stats, backend_id, frame_len, new_flow, 0);
		return;
	case PW_ACT_DROP:
		pw_count_drop(reason);
		return;
	case PW_ACT_REPLY_RST:
	case PW_ACT_REPLY_ICMP:
		pw_count_drop(reason);
		if (reason == PW_DROP_NO_BACKEND || reason == PW_DROP_BACKEND_GONE)
			pw_count_traffic(&pw_frontend_stats, frontend_id, 0, 0, 1);
		return;
	default:
		return;
	}
}

static __always_inline void pw_account(const struct pw_action *a, __u32 frame_len)
{
	pw_account_outcome(a->kind, a->flags, a->reason, a->frontend_id, a->backend_id, a->new_flow,
			   frame_len);
}
