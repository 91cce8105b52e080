/* What to do with a parsed IPv6 packet: the rows of the semantics table (docs/dataplane.md
 * "Semantics") for IPv6, shared by the XDP (uplink) and tc (sandbox) programs, as decide.h is
 * for IPv4. The outcome is a struct pw_action6; the action kinds, NAT flags and the counters
 * they are accounted to are the family-independent ones of lib/action.h. */
#pragma once

#include "lib/clock.h"
#include "lib/action.h"
#include "lib/conntrack6.h"
#include "lib/maglev.h"

struct pw_action6 {
	__u32 kind;        /* enum pw_act */
	__u32 reason;      /* enum pw_drop_reason for DROP and REPLY_* */
	__u32 frontend_id; /* PW_NO_ID when none */
	__u32 backend_id;  /* PW_NO_ID when none */
	__u32 flags;       /* PW_NAT_* */
	__u32 new_flow;
	__u32 mtu;         /* REPLY_ICMP packet too big: the path MTU (host order) */
	__u8 icmp_type;
	__u8 icmp_code;
	__u8 pad[2];
	/* NAT: the outer header after translation (equal to the packet's = unchanged) */
	struct pw_in6 saddr;
	struct pw_in6 daddr;
	__be16 sport;
	__be16 dport;
	/* NAT of an ICMPv6 error: the quoted ports after translation. The quoted addresses need
	 * no fields: the quote travelled the other way, so its source is the outer destination
	 * and its destination the outer source, and each changes exactly when that one does
	 * (pw_nat6_icmp_quote). Fewer bytes on a stack the verifier limits to 512. */
	__be16 in_sport;
	__be16 in_dport;
	__u64 now;         /* pw_now_ns() once read for this packet, else 0 */
	/* PW_ACT6_PICK: the frontend whose set a new flow picks from, and PW_NEW6_* */
	struct pw_frontend fe;
	__u32 pick_how;
	__u32 pad2;
};

/* An intermediate kind of pw_decide6_frontend: a new flow must be picked (a->fe). The pick
 * is its own subprogram, called after the decision returns rather than from inside it, so
 * that the two frames are never on the stack together (512 bytes for the whole chain). */
#define PW_ACT6_PICK 0x100

static __always_inline void pw_account6(const struct pw_action6 *a, __u32 frame_len)
{
	pw_account_outcome(a->kind, a->flags, a->reason, a->frontend_id, a->backend_id, a->new_flow,
			   frame_len);
}

static __always_inline void pw_nat6_init(struct pw_action6 *a, const struct pw_pkt6 *p)
{
	a->kind = PW_ACT_NAT;
	a->saddr = p->saddr;
	a->daddr = p->daddr;
	a->sport = p->sport;
	a->dport = p->dport;
	a->in_sport = p->in_sport;
	a->in_dport = p->in_dport;
}

static __always_inline void pw_drop6(struct pw_action6 *a, __u32 reason)
{
	a->kind = PW_ACT_DROP;
	a->reason = reason;
}

/* Answers go to the packet's source, never to an address that is not one host: the
 * unspecified address, loopback, multicast (RFC 4443 2.4(e)); never a reset for a reset. */
static __always_inline int pw_may_answer6(const struct pw_pkt6 *p)
{
	__u32 w0 = bpf_ntohl(p->saddr.w[0]);

	if ((w0 >> 24) == 0xff)
		return 0;
	if ((p->saddr.w[0] | p->saddr.w[1] | p->saddr.w[2]) == 0 &&
	    (p->saddr.w[3] == 0 || p->saddr.w[3] == bpf_htonl(1)))
		return 0;
	if (p->proto == IPPROTO_TCP && (p->tcp_flags & PW_TCP_RST))
		return 0;
	return 1;
}

static __always_inline void pw_reject6(struct pw_action6 *a, const struct pw_pkt6 *p,
				       __u32 reason, __u32 frontend_id)
{
	a->reason = reason;
	a->frontend_id = frontend_id;
	if (!pw_may_answer6(p)) {
		a->kind = PW_ACT_DROP;
		return;
	}
	if (p->proto == IPPROTO_TCP) {
		a->kind = PW_ACT_REPLY_RST;
	} else {
		a->kind = PW_ACT_REPLY_ICMP;
		a->icmp_type = PW_ICMP6_DEST_UNREACH;
		a->icmp_code = PW_ICMP6_PORT_UNREACH;
	}
}

/* Hop limit <= 1 on a packet we would forward: ICMPv6 time exceeded from the frontend
 * address, for the first fragment only (RFC 4443 2.4: none about later fragments' bodies). */
static __always_inline void pw_hop_limit_expired(struct pw_action6 *a, const struct pw_pkt6 *p)
{
	a->reason = PW_DROP_TTL_EXPIRED;
	if (p->later_frag || p->proto == PW_NEXTHDR_ICMP6 || !pw_may_answer6(p)) {
		a->kind = PW_ACT_DROP;
		return;
	}
	a->kind = PW_ACT_REPLY_ICMP;
	a->icmp_type = PW_ICMP6_TIME_EXCEED;
	a->icmp_code = PW_ICMP6_EXC_HOPLIMIT;
}

static __always_inline void pw_classify6(struct pw_pkt6 *p)
{
	if (bpf_map_lookup_elem(&pw_service_addrs6, &p->daddr))
		p->dst = PW_DST_SERVICE;
	else if (bpf_map_lookup_elem(&pw_node_addrs6, &p->daddr))
		p->dst = PW_DST_NODE;
	else
		p->dst = PW_DST_NONE;
}

struct pw_hairpin6_search {
	struct pw_in6 addr;
	__u32 found;
};

static long pw_find_hairpin_addr6(void *map, const void *key, void *value, void *ctx)
{
	const struct pw_node_addr *na = value;
	struct pw_hairpin6_search *s = ctx;

	(void)map;
	if (na->flags & PW_NODE_ADDR_HAIRPIN) {
		__builtin_memcpy(&s->addr, key, sizeof(s->addr));
		s->found = 1;
		return 1; /* stop */
	}
	return 0;
}

/* The IPv6 node address a hairpinned client is rewritten to (as lib/hairpin.h for IPv4).
 * Returns 0 and fills *out, or -1 when no IPv6 node address is flagged. */
static __always_inline int pw_hairpin_addr6(struct pw_in6 *out)
{
	struct pw_hairpin6_search s = {};

	bpf_for_each_map_elem(&pw_node_addrs6, pw_find_hairpin_addr6, &s, 0);
	if (!s.found)
		return -1;
	*out = s.addr;
	return 0;
}

/* A fragment with offset > 0 follows its first fragment, or is dropped when addressed to a
 * service address (without the first there is no port to pick a backend by). */
static __always_inline void pw_decide6_later_fragment(struct pw_action6 *a,
						      const struct pw_pkt6 *p)
{
	struct pw_fragment6 *rec;

	if (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP)
		return;
	rec = pw_fragment6_find(p);
	if (!rec) {
		if (p->dst == PW_DST_SERVICE)
			pw_drop6(a, PW_DROP_FRAGMENT_UNKNOWN);
		return;
	}
	if (p->hop_limit <= 1 && !(rec->flags & PW_FRAGMENT_REPLY)) {
		pw_drop6(a, PW_DROP_TTL_EXPIRED);
		return;
	}
	pw_nat6_init(a, p);
	a->saddr = rec->new_saddr;
	a->daddr = rec->new_daddr;
	a->frontend_id = rec->frontend_id;
	a->backend_id = rec->backend_id;
	if (rec->flags & PW_FRAGMENT_HAIRPIN)
		a->flags |= PW_NAT_HAIRPIN;
	if (rec->flags & PW_FRAGMENT_REPLY)
		a->flags |= PW_NAT_REPLY;
}

/* An ICMPv6 error sent to a frontend address about a reply of a translated flow (packet too
 * big above all: path MTU discovery depends on it): goes to the backend, with the quoted
 * reply translated back to what the backend sent. */
static __always_inline void pw_decide6_icmp_to_frontend(struct pw_action6 *a,
							const struct pw_pkt6 *p)
{
	struct pw_flow6_key k;
	struct pw_flow6 *f;
	__u32 at;

	if (!pw_icmp6_is_error(p->icmp_type))
		return; /* echo, neighbour discovery, ...: the node's */
	if (p->inner == PW_INNER_SHORT) {
		/* A service address only has translated flows, so this was about one of them and
		 * cannot be translated; a packet too big is passed all the same (never dropped:
		 * the kernel may still use it), any other error is dropped. */
		if (p->dst == PW_DST_SERVICE && p->icmp_type != PW_ICMP6_PKT_TOOBIG)
			pw_drop6(a, PW_DROP_ICMP_TRUNCATED);
		return;
	}
	if (p->inner != PW_INNER_OK || !pw_in6_eq(&p->in_saddr, &p->daddr))
		return;
	pw_flow6_key_init(&k, &p->in_daddr, &p->in_saddr, p->in_dport, p->in_sport, p->in_proto);
	f = pw_flow6_find(&k, &at);
	/* Hairpinned flows never leave the node: nobody outside sends errors about them. */
	if (!f || (f->flags & PW_FLOW_HAIRPIN))
		return;
	if (p->hop_limit <= 1) {
		pw_drop6(a, PW_DROP_TTL_EXPIRED); /* never an ICMP error about an ICMP error */
		return;
	}
	pw_nat6_init(a, p);
	a->flags |= PW_NAT_ICMP;
	a->daddr = f->backend_addr; /* and the quote's source */
	a->in_sport = f->target_port;
	a->frontend_id = f->frontend_id;
	a->backend_id = f->backend_id;
}

static __always_inline void pw_nat6_to_flow(struct pw_action6 *a, const struct pw_pkt6 *p,
					    const struct pw_flow6 *f)
{
	pw_nat6_init(a, p);
	a->daddr = f->backend_addr;
	a->dport = f->target_port;
	a->frontend_id = f->frontend_id;
	a->backend_id = f->backend_id;
	if (f->flags & PW_FLOW_HAIRPIN) {
		a->saddr = f->snat_addr;
		a->flags |= PW_NAT_HAIRPIN;
	}
}

static __always_inline void pw_record6_first_fragment(const struct pw_action6 *a,
						      const struct pw_pkt6 *p, __u64 now)
{
	struct pw_fragment6 rec = {};

	rec.new_saddr = a->saddr;
	rec.new_daddr = a->daddr;
	rec.frontend_id = a->frontend_id;
	rec.backend_id = a->backend_id;
	rec.flags = (a->flags & PW_NAT_HAIRPIN) ? PW_FRAGMENT_HAIRPIN : 0;
	rec.created_ns = now;
	pw_fragment6_record(p, &rec);
}

/* pw_action6.pick_how: how pw_decide6_new_flow records the flow. */
#define PW_NEW6_FROM_SANDBOX 0x1 /* tc: the client is a sandbox (hairpin possible) */
#define PW_NEW6_STALE_CONN 0x2   /* a stale flow in pw_conns6, deleted unless a new flow comes */
#define PW_NEW6_AT_SHIFT 8       /* pick_how >> 8: pw_flow6_find's PW_FLOW_AT_* and PW_CONN_* */

/* A sound TCP/UDP packet whose tuple has a flow: the flow is looked up before the frontend
 * (one hash lookup for established traffic). Returns 1 when the flow decided the packet, 0
 * when the frontend lookups must follow (no flow, a stale one, or one whose backend is gone
 * and that may be picked anew). *at: pw_flow6_find's, less PW_FLOW_AT_FLOWS when the flow was
 * deleted here. */
static __always_inline int pw_decide6_established(struct pw_action6 *a, const struct pw_pkt6 *p,
						  const struct pw_flow6_key *k, struct pw_flow6 *f,
						  __u32 *at)
{
	__u64 now = a->now;

	if (!pw_flow6_frontend_current(f)) {
		/* Its frontend is gone or another frontend holds the id: not ours to follow. A
		 * new flow takes its place in pw_conns6; in pw_flows6 it is deleted first. */
		pw_count_event(PW_EV_FLOW_STALE_FRONTEND);
		if (*at & PW_FLOW_AT_FLOWS) {
			pw_flow6_forget(k, f, *at);
			*at &= ~PW_FLOW_AT_FLOWS;
		} else {
			a->pick_how = PW_NEW6_STALE_CONN;
		}
		return 0;
	}
	if (p->hop_limit <= 1) {
		pw_hop_limit_expired(a, p);
		return 1;
	}
	if (pw_flow6_backend_alive(f)) {
		/* Written only when the clock moved: fewer dirtied cache lines on busy flows. */
		if (f->last_seen_ns != now)
			f->last_seen_ns = now;
		pw_nat6_to_flow(a, p, f);
		if (p->first_frag)
			pw_record6_first_fragment(a, p, now);
		return 1;
	}
	/* The backend is gone. TCP: reset (a fresh SYN is a new connection and is picked
	 * anew). UDP: picked again, so a stream re-balances on its next datagram. */
	if (p->proto == IPPROTO_TCP && (p->tcp_flags & (PW_TCP_SYN | PW_TCP_ACK)) != PW_TCP_SYN) {
		__u32 frontend_id = f->frontend_id;

		pw_flow6_forget(k, f, *at);
		pw_reject6(a, p, PW_DROP_BACKEND_GONE, frontend_id);
		return 1;
	}
	return 0;
}


/* A new flow (or a re-pick) to frontend a->fe. A BPF subprogram, not inlined: its locals (the
 * new flow, its reverse entry) get a frame of their own instead of adding to the caller's, as
 * the 512-byte stack needs with 128-bit addresses. Returns a->kind, which callers store: a
 * result the compiler cannot prove unused or constant, since a subprogram whose return value
 * it drops may leave r0 pointing into the caller's stack, which the verifier refuses. */
static __noinline int pw_decide6_new_flow(struct pw_action6 *a, const struct pw_pkt6 *p)
{
	const struct pw_frontend *fe = &a->fe;
	__u32 at = a->pick_how >> PW_NEW6_AT_SHIFT;
	int from_sandbox = !!(a->pick_how & PW_NEW6_FROM_SANDBOX);
	struct pw_flow6_key key;
	const struct pw_flow6_key *k = &key;
	struct pw_flow6 nf = {};
	struct pw_backend *be = NULL;
	struct pw_in6 *addr;
	__u32 backend_id, hash;

	a->kind = PW_ACT_PASS;
	pw_flow6_key_init(&key, &p->saddr, &p->daddr, p->sport, p->dport, p->proto);
	hash = pw_flow_hash6(&p->saddr, &p->daddr, p->sport, p->dport, p->proto);
	backend_id = pw_maglev_pick_in(&pw_set_descs6, fe->set_id, hash, &be);
	addr = backend_id == PW_NO_ID ? NULL : pw_backend_addr6(backend_id);
	/* An IPv6 table names only members with an IPv6 address; one without is no backend. */
	if (!be || !addr) {
		pw_reject6(a, p, PW_DROP_NO_BACKEND, fe->id);
		return a->kind;
	}
	nf.backend_id = backend_id;
	nf.backend_addr = *addr;
	nf.target_port = fe->target_port;
	nf.frontend_id = fe->id;
	nf.frontend_gen = fe->gen;
	nf.last_seen_ns = a->now;
	/* Hairpin: the sandbox reached its own service and was picked itself; its reply would
	 * stay inside the sandbox unless the client looks like someone else. */
	if (from_sandbox && pw_in6_eq(addr, &p->saddr)) {
		if (pw_hairpin_addr6(&nf.snat_addr)) {
			pw_drop6(a, PW_DROP_NO_HAIRPIN_ADDR);
			return a->kind;
		}
		nf.flags = PW_FLOW_HAIRPIN;
	}
	if (pw_flow6_create(k, &nf, at))
		pw_count_drop(PW_DROP_MAP_FULL); /* forwarded anyway, as for IPv4 */
	a->new_flow = 1;
	pw_nat6_to_flow(a, p, &nf);
	if (p->first_frag)
		pw_record6_first_fragment(a, p, a->now);
	return a->kind;
}

static __always_inline struct pw_frontend *pw_frontend6_lookup(const struct pw_in6 *addr,
							       __be16 port, __u8 proto,
							       enum pw_frontend_kind kind)
{
	struct pw_frontend6_key fk;

	__builtin_memset(&fk, 0, sizeof(fk));
	if (addr)
		fk.addr = *addr;
	fk.port = port;
	fk.proto = proto;
	fk.kind = kind;
	return bpf_map_lookup_elem(&pw_frontends6, &fk);
}

/* Everything IPv6 that may be addressed to a frontend address. Leaves a->kind == PW_ACT_PASS
 * for what is not ours. A subprogram for the stack; returns a->kind (see pw_decide6_new_flow). */
static __noinline int pw_decide6_frontend(struct pw_action6 *a, struct pw_pkt6 *p,
						int from_sandbox)
{
	struct pw_frontend *fe = NULL;
	struct pw_flow6_key k;
	struct pw_flow6 *f = NULL;
	__u32 at = 0;

	/* Tick resolution (lib/clock.h) is plenty for idle timeouts and fragment expiry. */
	a->now = pw_now_ns();
	if (!p->l3_err && !p->later_frag && !p->l4_err && p->has_ports && p->sport && p->dport &&
	    (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP)) {
		/* Flow first: established traffic costs one lookup (plus the gen and backend
		 * checks), the frontend only for new flows. */
		pw_flow6_key_init(&k, &p->saddr, &p->daddr, p->sport, p->dport, p->proto);
		f = pw_flow6_find(&k, &at);
		if (f && pw_decide6_established(a, p, &k, f, &at))
			return a->kind;
		/* A service frontend's address is always a service address: one lookup. */
		fe = pw_frontend6_lookup(&p->daddr, p->dport, p->proto, PW_FRONTEND_SERVICE);
		if (fe) {
			p->dst = PW_DST_SERVICE;
			goto frontend;
		}
	}

	pw_classify6(p);
	if (p->dst == PW_DST_NONE)
		return a->kind;
	/* A broken IPv6 header to a node address may be the node's own business (the kernel
	 * drops and counts it); to a service address it can only be ours. */
	if (p->l3_err) {
		if (p->dst == PW_DST_SERVICE)
			pw_drop6(a, p->l3_err);
		return a->kind;
	}
	if (p->unknown_ext) {
		/* AH, ESP, no next header, other protocols: never translated, counted. */
		pw_count_event(PW_EV_IP6_UNKNOWN_EXT);
		return a->kind;
	}
	if (p->later_frag) {
		pw_decide6_later_fragment(a, p);
		return a->kind;
	}
	if (p->proto == PW_NEXTHDR_ICMP6) {
		pw_decide6_icmp_to_frontend(a, p);
		return a->kind;
	}
	if (!p->has_ports) {
		if (p->dst == PW_DST_SERVICE)
			pw_drop6(a, p->l4_err);
		return a->kind;
	}
	if (p->dst == PW_DST_NODE)
		fe = pw_frontend6_lookup(NULL, p->dport, p->proto, PW_FRONTEND_NODE_PORT);
	if (!fe) {
		if (p->dst == PW_DST_NODE)
			return a->kind; /* any other port of the node: the node's own */
		if (p->l4_err)
			pw_drop6(a, p->l4_err);
		else if (p->sport == 0 || p->dport == 0)
			pw_drop6(a, PW_DROP_PORT_ZERO);
		else
			pw_reject6(a, p, PW_DROP_UNDECLARED_PORT, PW_NO_ID);
		return a->kind;
	}
frontend:
	if (p->l4_err) {
		pw_drop6(a, p->l4_err);
		return a->kind;
	}
	if (p->sport == 0 || p->dport == 0) {
		pw_drop6(a, PW_DROP_PORT_ZERO);
		return a->kind;
	}
	if (p->hop_limit <= 1) {
		pw_hop_limit_expired(a, p);
		return a->kind;
	}
	a->fe = *fe;
	a->pick_how = (a->pick_how & PW_NEW6_STALE_CONN) | at << PW_NEW6_AT_SHIFT |
		      (from_sandbox ? PW_NEW6_FROM_SANDBOX : 0);
	return PW_ACT6_PICK;
}

/* The decision for one packet (pw_decide6_frontend, then the pick of a new flow). */
static __always_inline void pw_decide6(struct pw_action6 *a, struct pw_pkt6 *p, int from_sandbox)
{
	__u32 kind = pw_decide6_frontend(a, p, from_sandbox);

	if (kind == PW_ACT6_PICK)
		kind = pw_decide6_new_flow(a, p);
	/* A stale flow left in pw_conns6 for the new flow to overwrite goes when no new flow
	 * came (as pw_decide_frontend for IPv4). */
	if ((a->pick_how & PW_NEW6_STALE_CONN) && !a->new_flow)
		pw_conn6_forget(&p->saddr, p->sport, p->proto);
	a->kind = kind;
}
