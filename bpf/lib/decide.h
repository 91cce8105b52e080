/* What to do with a parsed packet addressed to a frontend address, shared by the XDP (uplink)
 * and tc (sandbox) programs: the rows of the semantics table (docs/dataplane.md "Semantics") as
 * code. The outcome is a struct pw_action (lib/action.h); the programs carry it out with their own
 * packet-rewriting means (direct writes + RFC 1624 for XDP, skb checksum helpers for tc). */
#pragma once

#include "lib/clock.h"
#include "lib/action.h"
#include "lib/conntrack.h"
#include "lib/hairpin.h"
#include "lib/maglev.h"

static __always_inline void pw_classify(struct pw_pkt *p)
{
	if (bpf_map_lookup_elem(&pw_service_addrs, &p->daddr))
		p->dst = PW_DST_SERVICE;
	else if (bpf_map_lookup_elem(&pw_node_addrs, &p->daddr))
		p->dst = PW_DST_NODE;
	else
		p->dst = PW_DST_NONE;
}

/* A fragment with offset > 0: it follows its first fragment, or is dropped when addressed to
 * a service address (see docs: without the first fragment there is no port to pick a backend
 * by, and a service address has no other destination). */
static __always_inline void pw_decide_later_fragment(struct pw_action *a, const struct pw_pkt *p)
{
	struct pw_fragment *rec;

	if (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP)
		return;
	rec = pw_fragment_find(p->saddr, p->daddr, p->ip_id, p->proto);
	if (!rec) {
		if (p->dst == PW_DST_SERVICE)
			pw_drop(a, PW_DROP_FRAGMENT_UNKNOWN);
		return;
	}
	if (p->ttl <= 1 && !(rec->flags & PW_FRAGMENT_REPLY)) {
		pw_drop(a, PW_DROP_TTL_EXPIRED);
		return;
	}
	pw_nat_init(a, p);
	a->saddr = rec->new_saddr;
	a->daddr = rec->new_daddr;
	a->frontend_id = rec->frontend_id;
	a->backend_id = rec->backend_id;
	if (rec->flags & PW_FRAGMENT_HAIRPIN)
		a->flags |= PW_NAT_HAIRPIN;
	if (rec->flags & PW_FRAGMENT_REPLY)
		a->flags |= PW_NAT_REPLY;
}

/* An ICMP error sent to a frontend address about a packet that left from it (a reply of a
 * translated flow): goes to the backend, with the quoted reply translated back to what the
 * backend sent. */
static __always_inline void pw_decide_icmp_to_frontend(struct pw_action *a, const struct pw_pkt *p)
{
	struct pw_flow_key k;
	struct pw_flow *f;
	__u32 at;

	if (p->inner == PW_INNER_SHORT) {
		/* A service address only has translated flows, so this was about one of them; a
		 * node address has its own traffic too, which the kernel judges. */
		if (p->dst == PW_DST_SERVICE)
			pw_drop(a, PW_DROP_ICMP_TRUNCATED);
		return;
	}
	if (p->inner != PW_INNER_OK || p->in_saddr != p->daddr)
		return;
	pw_flow_key_init(&k, p->in_daddr, p->in_saddr, p->in_dport, p->in_sport, p->in_proto);
	f = pw_flow_find(&k, &at);
	/* Hairpinned flows never leave the node, so nobody outside sends errors about them. */
	if (!f || (f->flags & PW_FLOW_HAIRPIN) || !pw_flow_frontend_current(f))
		return;
	if (p->ttl <= 1) {
		pw_drop(a, PW_DROP_TTL_EXPIRED); /* never an ICMP error about an ICMP error */
		return;
	}
	pw_nat_init(a, p);
	a->flags |= PW_NAT_ICMP;
	a->daddr = f->backend_addr;
	a->in_saddr = f->backend_addr;
	a->in_sport = f->target_port;
	a->frontend_id = f->frontend_id;
	a->backend_id = f->backend_id;
}

static __always_inline void pw_nat_to_flow(struct pw_action *a, const struct pw_pkt *p,
					   const struct pw_flow *f)
{
	pw_nat_init(a, p);
	a->daddr = f->backend_addr;
	a->dport = f->target_port;
	a->frontend_id = f->frontend_id;
	a->backend_id = f->backend_id;
	if (f->flags & PW_FLOW_HAIRPIN) {
		a->saddr = f->snat_addr;
		a->flags |= PW_NAT_HAIRPIN;
	}
}

/* A first fragment: its later fragments get the same address rewrite (pw_fragments). */
static __always_inline void pw_record_first_fragment(const struct pw_action *a,
						     const struct pw_pkt *p, __u64 now)
{
	struct pw_fragment rec = {};

	rec.new_saddr = a->saddr;
	rec.new_daddr = a->daddr;
	rec.frontend_id = a->frontend_id;
	rec.backend_id = a->backend_id;
	rec.flags = (a->flags & PW_NAT_HAIRPIN) ? PW_FRAGMENT_HAIRPIN : 0;
	rec.created_ns = now;
	pw_fragment_record(p->saddr, p->daddr, p->ip_id, p->proto, &rec);
}

/* The per-packet checks between "this goes to a frontend" and using or making its flow: a
 * broken L4 header or port 0 is dropped, TTL <= 1 is answered. Nonzero when the packet was
 * decided here. */
static __always_inline int pw_frontend_packet_refused(struct pw_action *a, const struct pw_pkt *p)
{
	if (p->l4_err) {
		pw_drop(a, p->l4_err);
		return 1;
	}
	if (p->sport == 0 || p->dport == 0) {
		pw_drop(a, PW_DROP_PORT_ZERO);
		return 1;
	}
	if (p->ttl <= 1) {
		pw_ttl_expired(a, p);
		return 1;
	}
	return 0;
}

/* An established flow whose frontend is current and whose backend is alive. Tick resolution
 * (lib/clock.h) is plenty for idle timeouts and fragment expiry; last_seen_ns is
 * CLOCK_MONOTONIC ns (lb_abi.h), which the controller reads. */
static __always_inline void pw_use_flow(struct pw_action *a, const struct pw_pkt *p,
					struct pw_flow *f)
{
	__u64 now = pw_now_ns();

	a->now = now; /* the next-hop cache of the XDP program reuses it */
	/* Written only when the clock moved: fewer dirtied cache lines shared between CPUs on
	 * busy flows. */
	if (f->last_seen_ns != now)
		f->last_seen_ns = now;
	pw_nat_to_flow(a, p, f);
	if (p->first_frag)
		pw_record_first_fragment(a, p, now);
}

/* TCP/UDP to frontend fe without a usable flow: f is the flow found for the tuple whose backend
 * is gone (current frontend), or NULL; `at` where it is and where a new one may go
 * (pw_flow_find). */
static __always_inline void pw_decide_flow(struct pw_action *a, const struct pw_pkt *p,
					   const struct pw_frontend *fe, const struct pw_flow_key *k,
					   struct pw_flow *f, __u32 at, int from_sandbox)
{
	struct pw_flow nf = {};
	struct pw_backend *be = NULL;
	__u32 backend_id, hash;
	__u64 now;

	if (f) {
		/* The backend is gone. TCP: the connection cannot move, reset it (a fresh SYN on
		 * the same tuple is a new connection and is picked anew). UDP: pick again, so a
		 * stream re-balances on its next datagram instead of black-holing. */
		if (p->proto == IPPROTO_TCP &&
		    (p->tcp_flags & (PW_TCP_SYN | PW_TCP_ACK)) != PW_TCP_SYN) {
			__u32 frontend_id = f->frontend_id;

			pw_flow_forget(k, f, at);
			pw_reject(a, p, PW_DROP_BACKEND_GONE, frontend_id);
			return;
		}
	}

	hash = pw_flow_hash(p->saddr, p->daddr, p->sport, p->dport, p->proto, PW_FLOW_HASH_SEED);
	backend_id = pw_maglev_pick(fe->set_id, hash, &be);
	if (backend_id == PW_NO_ID || !be) {
		pw_reject(a, p, PW_DROP_NO_BACKEND, fe->id);
		return;
	}
	now = pw_now_ns();
	a->now = now;
	nf.backend_id = backend_id;
	nf.backend_addr = be->addr;
	nf.target_port = fe->target_port;
	nf.frontend_id = fe->id;
	nf.frontend_gen = fe->gen;
	nf.last_seen_ns = now;
	/* Hairpin: the sandbox reached its own service and was picked itself. Its reply would
	 * stay inside the sandbox unless the client looks like someone else: the node address. */
	if (from_sandbox && be->addr == p->saddr) {
		nf.snat_addr = pw_hairpin_addr();
		if (!nf.snat_addr) {
			pw_drop(a, PW_DROP_NO_HAIRPIN_ADDR);
			return;
		}
		nf.flags = PW_FLOW_HAIRPIN;
	}
	if (pw_flow_create(k, &nf, at))
		pw_count_drop(PW_DROP_MAP_FULL); /* forwarded anyway: the next packet picks the
						    same backend while the set is unchanged */
	a->new_flow = 1;
	pw_nat_to_flow(a, p, &nf);
	if (p->first_frag)
		pw_record_first_fragment(a, p, now);
}

/* The lookup of a node-port frontend, once the destination is known to be a node address. */
static __always_inline struct pw_frontend *pw_node_port_frontend(const struct pw_pkt *p)
{
	struct pw_frontend_key fk = {};

	fk.port = p->dport;
	fk.proto = p->proto;
	fk.kind = PW_FRONTEND_NODE_PORT;
	return bpf_map_lookup_elem(&pw_frontends, &fk);
}

/* Everything addressed to a frontend address (service address, or node address + node port).
 * Leaves a->kind == PW_ACT_PASS for what is not ours. The caller asked the prefix filter
 * (lib/prefilter.h) first.
 *
 * Flow first: a sound TCP/UDP packet of an established flow costs one hash lookup (pw_conns;
 * the gen, backend and next-hop reads are inlined array reads), not a frontend lookup before
 * it. A flow whose frontend gen moved on (the frontend was removed, or its id given to
 * another) is not used: the packet goes the way of a new one, whose flow takes the old one's
 * place in pw_conns (in pw_flows the old one is deleted first). */
static __always_inline void pw_decide_frontend_at(struct pw_action *a, struct pw_pkt *p,
						  int from_sandbox, int *stale_conn)
{
	struct pw_frontend *fe = NULL;
	struct pw_flow *f = NULL;
	struct pw_flow_key k;
	__u32 at = 0;

	/* Always initialised: the verifier cannot tell that every path reaching pw_decide_flow
	 * passed the condition below, and the stores are cheaper than a second key. */
	pw_flow_key_init(&k, p->saddr, p->daddr, p->sport, p->dport, p->proto);
	if (!p->l3_err && !p->later_frag && p->has_ports &&
	    (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP)) {
		struct pw_frontend_key fk = {};

		f = pw_flow_find(&k, &at);
		if (f && !pw_flow_frontend_current(f)) {
			pw_count_event(PW_EV_FLOW_STALE_FRONTEND);
			if (at & PW_FLOW_AT_FLOWS) {
				pw_flow_forget(&k, f, at);
				at &= ~PW_FLOW_AT_FLOWS;
			} else {
				*stale_conn = 1;
			}
			f = NULL;
		}
		if (f && pw_flow_backend_alive(f)) {
			if (!pw_frontend_packet_refused(a, p))
				pw_use_flow(a, p, f);
			return;
		}
		/* A service frontend is found with one more lookup, without first asking whose
		 * address it is (a service frontend's address is always a service address).
		 * Everything else classifies the destination first. */
		fk.addr = p->daddr;
		fk.port = p->dport;
		fk.proto = p->proto;
		fk.kind = PW_FRONTEND_SERVICE;
		fe = bpf_map_lookup_elem(&pw_frontends, &fk);
	}
	if (fe) {
		p->dst = PW_DST_SERVICE;
		goto frontend;
	}

	pw_classify(p);
	if (p->dst == PW_DST_NONE)
		return;
	/* A broken IPv4 header to a node address may be the node's own business; the kernel
	 * drops it and counts it in its IP MIB. To a service address it can only be ours. */
	if (p->l3_err) {
		if (p->dst == PW_DST_SERVICE)
			pw_drop(a, p->l3_err);
		return;
	}
	if (p->later_frag) {
		pw_decide_later_fragment(a, p);
		return;
	}
	if (p->proto == IPPROTO_ICMP) {
		pw_decide_icmp_to_frontend(a, p);
		return;
	}
	if (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP)
		return;
	if (!p->has_ports) {
		if (p->dst == PW_DST_SERVICE)
			pw_drop(a, p->l4_err);
		return;
	}
	if (p->dst == PW_DST_NODE)
		fe = pw_node_port_frontend(p);
	if (!fe) {
		if (p->dst == PW_DST_NODE)
			return; /* any other port of the node: the node's own */
		if (p->l4_err)
			pw_drop(a, p->l4_err);
		else if (p->sport == 0 || p->dport == 0)
			pw_drop(a, PW_DROP_PORT_ZERO);
		else
			pw_reject(a, p, PW_DROP_UNDECLARED_PORT, PW_NO_ID);
		return;
	}
frontend:
	if (pw_frontend_packet_refused(a, p))
		return;
	pw_decide_flow(a, p, fe, &k, f, at, from_sandbox);
}

/* pw_decide_frontend_at, and a stale flow left in pw_conns for the new flow to overwrite is
 * deleted when no new flow came (the frontend is gone, or the packet was refused): it would
 * otherwise stay listed until evicted. */
static __always_inline void pw_decide_frontend(struct pw_action *a, struct pw_pkt *p,
					       int from_sandbox)
{
	int stale_conn = 0;

	pw_decide_frontend_at(a, p, from_sandbox, &stale_conn);
	if (stale_conn && !a->new_flow)
		pw_conn_forget(p->saddr, p->sport, p->proto);
}
