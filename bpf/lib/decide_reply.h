/* tc only: packets leaving a sandbox that answer a translated flow, rewritten back to the
 * frontend the client used. */
#pragma once

#include "lib/clock.h"
#include "lib/action.h"
#include "lib/conntrack.h"

/* tc only: a packet leaving a sandbox that is a reply of a translated flow (or an ICMP error
 * about one), to be rewritten back to the frontend the client used. Returns 1 when it was. */
static __always_inline int pw_decide_reply(struct pw_action *a, const struct pw_pkt *p)
{
	struct pw_reverse rev;
	struct pw_reverse *r = &rev;

	if (p->l3_err || p->later_frag)
		return 0;
	if ((p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP) && p->has_ports && !p->l4_err) {
		if (!pw_reverse_find(r, p->saddr, p->daddr, p->sport, p->dport, p->proto))
			return 0;
		pw_nat_init(a, p);
		a->flags |= PW_NAT_REPLY;
		a->frontend_id = PW_NO_ID;
		a->backend_id = PW_NO_ID;
		a->saddr = r->frontend_addr;
		a->sport = r->frontend_port;
		if (r->flags & PW_FLOW_HAIRPIN) {
			a->daddr = r->client_addr;
			a->flags |= PW_NAT_HAIRPIN;
		}
		if (p->first_frag) {
			struct pw_fragment rec = {};

			rec.new_saddr = a->saddr;
			rec.new_daddr = a->daddr;
			rec.frontend_id = PW_NO_ID;
			rec.backend_id = PW_NO_ID;
			rec.flags = PW_FRAGMENT_REPLY |
				    ((a->flags & PW_NAT_HAIRPIN) ? PW_FRAGMENT_HAIRPIN : 0);
			rec.created_ns = pw_now_ns();
			pw_fragment_record(p->saddr, p->daddr, p->ip_id, p->proto, &rec);
		}
		return 1;
	}
	/* An ICMP error from the backend about a packet it got from the client (e.g. UDP port
	 * unreachable): the client must see it come from the frontend, about the frontend. */
	if (p->proto == IPPROTO_ICMP && p->inner == PW_INNER_OK && p->in_daddr == p->saddr) {
		if (!pw_reverse_find(r, p->in_daddr, p->in_saddr, p->in_dport, p->in_sport,
				     p->in_proto))
			return 0;
		pw_nat_init(a, p);
		a->flags |= PW_NAT_REPLY | PW_NAT_ICMP;
		a->frontend_id = PW_NO_ID;
		a->backend_id = PW_NO_ID;
		a->saddr = r->frontend_addr;
		a->in_daddr = r->frontend_addr;
		a->in_dport = r->frontend_port;
		if (r->flags & PW_FLOW_HAIRPIN) {
			a->daddr = r->client_addr;
			a->in_saddr = r->client_addr;
			a->flags |= PW_NAT_HAIRPIN;
		}
		return 1;
	}
	return 0;
}
