/* tc only: IPv6 packets leaving a sandbox that answer a translated flow, rewritten back to the
 * frontend the client used (decide_reply.h for IPv4). */
#pragma once

#include "lib/clock.h"
#include "lib/decide6.h"

static __always_inline void pw_reply6_from_reverse(struct pw_action6 *a, const struct pw_pkt6 *p,
						   const struct pw_reverse6 *r, __u32 extra_flags)
{
	pw_nat6_init(a, p);
	a->flags |= PW_NAT_REPLY | extra_flags;
	a->frontend_id = PW_NO_ID;
	a->backend_id = PW_NO_ID;
	a->saddr = r->frontend_addr;
	if (r->flags & PW_FLOW_HAIRPIN) {
		a->daddr = r->client_addr;
		a->flags |= PW_NAT_HAIRPIN;
	}
}

/* Returns 1 when the packet was a reply (or an ICMPv6 error about a client's packet). A
 * subprogram for the stack, as pw_decide6_new_flow. */
static __noinline int pw_decide6_reply(struct pw_action6 *a, const struct pw_pkt6 *p)
{
	struct pw_reverse6 rev;
	struct pw_reverse6 *r = &rev;

	if (p->l3_err || p->later_frag || p->unknown_ext)
		return 0;
	if ((p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP) && p->has_ports && !p->l4_err) {
		if (!pw_reverse6_find(r, &p->saddr, &p->daddr, p->sport, p->dport, p->proto))
			return 0;
		pw_reply6_from_reverse(a, p, r, 0);
		a->sport = r->frontend_port;
		if (p->first_frag) {
			struct pw_fragment6 rec = {};

			rec.new_saddr = a->saddr;
			rec.new_daddr = a->daddr;
			rec.frontend_id = PW_NO_ID;
			rec.backend_id = PW_NO_ID;
			rec.flags = PW_FRAGMENT_REPLY |
				    ((a->flags & PW_NAT_HAIRPIN) ? PW_FRAGMENT_HAIRPIN : 0);
			rec.created_ns = pw_now_ns();
			pw_fragment6_record(p, &rec);
		}
		return 1;
	}
	/* An ICMPv6 error from the backend about a packet it got from the client (port
	 * unreachable, packet too big, ...): the client must see it from the frontend, about
	 * the frontend. */
	if (p->proto == PW_NEXTHDR_ICMP6 && p->inner == PW_INNER_OK &&
	    pw_in6_eq(&p->in_daddr, &p->saddr)) {
		if (!pw_reverse6_find(r, &p->in_daddr, &p->in_saddr, p->in_dport, p->in_sport,
				      p->in_proto))
			return 0;
		/* The quote's addresses follow the outer ones (pw_nat6_icmp_quote). */
		pw_reply6_from_reverse(a, p, r, PW_NAT_ICMP);
		a->in_dport = r->frontend_port;
		return 1;
	}
	return 0;
}
