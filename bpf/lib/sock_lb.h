/* Host-originated connections (processes on the node) to frontends: socket-level load
 * balancing in cgroup sock_addr hooks. connect4/sendmsg4 rewrite the destination to a backend
 * before the first packet exists; recvmsg4/getpeername4 show the frontend again. Packets of
 * these sockets then go straight to the sandbox; the replies are plain traffic to a local
 * address, so neither XDP nor tc has anything to translate.
 *
 * Same decisions as the packet path (lib/decide.h): the frontend by (address, port, proto),
 * node ports only on local node addresses, Maglev over running backends, refusal for a
 * frontend without a backend and for an undeclared port of a service address. A refusal is
 * the errno a reset or a port unreachable gives: ECONNREFUSED (bpf_set_retval, >= 5.18). */
#pragma once

#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "lib/maglev.h"
#include "lib/stats.h"

#define PW_ECONNREFUSED 111

/* The hooks sit on a cgroup, which spans network namespaces: only sockets of the node's own
 * namespace see the node's frontends. */
static __always_inline int pw_sock_in_scope(struct bpf_sock_addr *ctx)
{
	__u32 zero = 0;
	struct pw_sock_config *cfg = bpf_map_lookup_elem(&pw_sock_config, &zero);

	return cfg && cfg->netns_cookie && cfg->netns_cookie == bpf_get_netns_cookie(ctx);
}

static __always_inline int pw_sock_refuse(__u32 reason, __u32 frontend_id)
{
	pw_count_drop(reason);
	pw_count_traffic(&pw_frontend_stats, frontend_id, 0, 0, 1);
	bpf_set_retval(-PW_ECONNREFUSED);
	return 0; /* the syscall fails with the retval set above */
}

/* A new flow without packets: connect() or the first datagram of a socket to this backend. */
static __always_inline void pw_sock_count_new_flow(void *map, __u32 id)
{
	struct pw_traffic *t = bpf_map_lookup_elem(map, &id);

	if (t)
		t->new_flows += 1;
}

/* The IPv4 frontend a destination is: the frontend, or NULL with *verdict = 1 (not portway's,
 * go on untouched) or 0 (refused: an undeclared port of a service address). */
static __always_inline struct pw_frontend *pw_sock_frontend4(__be32 daddr, __be16 dport, __u8 proto,
							    int *verdict)
{
	struct pw_frontend_key fk = {};
	struct pw_frontend *fe;

	*verdict = 1;
	fk.addr = daddr;
	fk.port = dport;
	fk.proto = proto;
	fk.kind = PW_FRONTEND_SERVICE;
	fe = bpf_map_lookup_elem(&pw_frontends, &fk);
	if (fe)
		return fe;
	if (bpf_map_lookup_elem(&pw_node_addrs, &daddr)) {
		fk.addr = 0;
		fk.kind = PW_FRONTEND_NODE_PORT;
		return bpf_map_lookup_elem(&pw_frontends, &fk); /* NULL: any other port of the node */
	}
	if (bpf_map_lookup_elem(&pw_service_addrs, &daddr))
		*verdict = pw_sock_refuse(PW_DROP_UNDECLARED_PORT, PW_NO_ID);
	return NULL;
}

/* The backend for a socket to frontend `fe`, from the family's table (`descs`). No source port
 * exists yet at connect(): the socket cookie stands in for the client side of the 5-tuple, so
 * one socket keeps its backend across datagrams while the set is unchanged, and different
 * sockets spread. Both families hash alike. */
static __always_inline __u32 pw_sock_pick(void *descs, const struct pw_frontend *fe, __u64 cookie,
					  __be16 dport, __u32 proto, struct pw_backend **be)
{
	__u32 hash = pw_flow_hash((__u32)cookie, (__u32)(cookie >> 32), 0, dport, (__u8)proto,
				  PW_FLOW_HASH_SEED);

	return pw_maglev_pick_in(descs, fe->set_id, hash, be);
}

static __always_inline void pw_sock_count_pick(__u32 frontend_id, __u32 backend_id)
{
	pw_sock_count_new_flow(&pw_frontend_stats, frontend_id);
	pw_sock_count_new_flow(&pw_backend_stats, backend_id);
}

/* connect4 and sendmsg4. Returns 1 to go on (destination maybe rewritten), 0 to refuse. */
static __always_inline int pw_sock_to_backend(struct bpf_sock_addr *ctx)
{
	struct pw_sock_reverse_key rk = {};
	struct pw_sock_reverse rev = {};
	struct pw_sock_reverse *known;
	struct pw_backend *be = NULL;
	struct pw_frontend *fe;
	__u32 proto = ctx->protocol, backend_id;
	__be32 daddr;
	__be16 dport;
	__u64 cookie;
	int verdict;

	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return 1;
	if (!pw_sock_in_scope(ctx))
		return 1;
	daddr = ctx->user_ip4;
	/* user_port holds the port in network order in its low 16 bits. */
	dport = (__be16)ctx->user_port;

	fe = pw_sock_frontend4(daddr, dport, (__u8)proto, &verdict);
	if (!fe)
		return verdict;

	cookie = bpf_get_socket_cookie(ctx);
	backend_id = pw_sock_pick(&pw_set_descs, fe, cookie, dport, proto, &be);
	if (backend_id == PW_NO_ID || !be)
		return pw_sock_refuse(PW_DROP_NO_BACKEND, fe->id);

	ctx->user_ip4 = be->addr;
	ctx->user_port = (__u32)fe->target_port;

	rk.cookie = cookie;
	rk.backend_addr = be->addr;
	rk.backend_port = fe->target_port;
	known = bpf_map_lookup_elem(&pw_sock_reverse, &rk);
	if (known && known->frontend_addr == daddr && known->frontend_port == dport)
		return 1; /* the next datagram of a known pairing: not a new flow */
	rev.frontend_addr = daddr;
	rev.frontend_port = dport;
	if (bpf_map_update_elem(&pw_sock_reverse, &rk, &rev, BPF_ANY))
		pw_count_drop(PW_DROP_MAP_FULL); /* connects anyway; replies show the backend */
	pw_sock_count_pick(fe->id, backend_id);
	return 1;
}

/* recvmsg4 and getpeername4: the peer a translated socket reports is the frontend. */
static __always_inline void pw_sock_to_frontend(struct bpf_sock_addr *ctx)
{
	struct pw_sock_reverse_key rk = {};
	struct pw_sock_reverse *rev;

	if (!pw_sock_in_scope(ctx))
		return;
	rk.cookie = bpf_get_socket_cookie(ctx);
	rk.backend_addr = ctx->user_ip4;
	rk.backend_port = (__be16)ctx->user_port;
	rev = bpf_map_lookup_elem(&pw_sock_reverse, &rk);
	if (!rev)
		return;
	ctx->user_ip4 = rev->frontend_addr;
	ctx->user_port = (__u32)rev->frontend_port;
}

/* ---- IPv6: connect6, sendmsg6, recvmsg6, getpeername6 ----------------------------------- */

static __always_inline int pw_in6_equal(const struct pw_in6 *a, const struct pw_in6 *b)
{
	return a->w[0] == b->w[0] && a->w[1] == b->w[1] && a->w[2] == b->w[2] && a->w[3] == b->w[3];
}

/* ::ffff:a.b.c.d, an IPv4 destination on a dual-stack IPv6 socket. The kernel runs only the
 * connect6/sendmsg6 hook for it, so these hooks give it the IPv4 frontend's answer (mapped
 * back into the IPv6 form the socket speaks). */
static __always_inline int pw_in6_is_v4mapped(const struct pw_in6 *a)
{
	return a->w[0] == 0 && a->w[1] == 0 && a->w[2] == bpf_htonl(0xffff);
}

/* user_ip6 is read and written one 32-bit word at a time: the only access size the verifier
 * allows on these context fields. */
static __always_inline void pw_sock_read_ip6(struct bpf_sock_addr *ctx, struct pw_in6 *a)
{
	a->w[0] = ctx->user_ip6[0];
	a->w[1] = ctx->user_ip6[1];
	a->w[2] = ctx->user_ip6[2];
	a->w[3] = ctx->user_ip6[3];
}

static __always_inline void pw_sock_write_ip6(struct bpf_sock_addr *ctx, const struct pw_in6 *a)
{
	ctx->user_ip6[0] = a->w[0];
	ctx->user_ip6[1] = a->w[1];
	ctx->user_ip6[2] = a->w[2];
	ctx->user_ip6[3] = a->w[3];
}

/* As pw_sock_frontend4, in pw_frontends6 / pw_node_addrs6 / pw_service_addrs6. */
static __always_inline struct pw_frontend *pw_sock_frontend6(const struct pw_in6 *daddr, __be16 dport,
							    __u8 proto, int *verdict)
{
	struct pw_frontend6_key fk = {};
	struct pw_frontend *fe;

	*verdict = 1;
	fk.addr = *daddr;
	fk.port = dport;
	fk.proto = proto;
	fk.kind = PW_FRONTEND_SERVICE;
	fe = bpf_map_lookup_elem(&pw_frontends6, &fk);
	if (fe)
		return fe;
	if (bpf_map_lookup_elem(&pw_node_addrs6, daddr)) {
		__builtin_memset(&fk.addr, 0, sizeof(fk.addr));
		fk.kind = PW_FRONTEND_NODE_PORT;
		return bpf_map_lookup_elem(&pw_frontends6, &fk);
	}
	if (bpf_map_lookup_elem(&pw_service_addrs6, daddr))
		*verdict = pw_sock_refuse(PW_DROP_UNDECLARED_PORT, PW_NO_ID);
	return NULL;
}

/* connect6 and sendmsg6. Returns 1 to go on (destination maybe rewritten), 0 to refuse. */
static __always_inline int pw_sock_to_backend6(struct bpf_sock_addr *ctx)
{
	struct pw_sock_reverse6_key rk = {};
	struct pw_sock_reverse6 rev = {};
	struct pw_sock_reverse6 *known;
	struct pw_backend *be = NULL;
	struct pw_frontend *fe;
	struct pw_in6 daddr, baddr = {};
	__u32 proto = ctx->protocol, backend_id;
	__be16 dport;
	__u64 cookie;
	int verdict;

	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return 1;
	if (!pw_sock_in_scope(ctx))
		return 1;
	pw_sock_read_ip6(ctx, &daddr);
	dport = (__be16)ctx->user_port;
	cookie = bpf_get_socket_cookie(ctx);

	if (pw_in6_is_v4mapped(&daddr)) {
		fe = pw_sock_frontend4(daddr.w[3], dport, (__u8)proto, &verdict);
		if (!fe)
			return verdict;
		backend_id = pw_sock_pick(&pw_set_descs, fe, cookie, dport, proto, &be);
		if (backend_id == PW_NO_ID || !be)
			return pw_sock_refuse(PW_DROP_NO_BACKEND, fe->id);
		baddr.w[2] = bpf_htonl(0xffff);
		baddr.w[3] = be->addr;
	} else {
		struct pw_in6 *a6;

		fe = pw_sock_frontend6(&daddr, dport, (__u8)proto, &verdict);
		if (!fe)
			return verdict;
		backend_id = pw_sock_pick(&pw_set_descs6, fe, cookie, dport, proto, &be);
		if (backend_id == PW_NO_ID || !be)
			return pw_sock_refuse(PW_DROP_NO_BACKEND, fe->id);
		a6 = bpf_map_lookup_elem(&pw_backend_addrs6, &backend_id);
		/* The IPv6 table names members with an IPv6 address only; an empty one here is a
		 * member rewritten between the pick and this read: no backend for this connect. */
		if (!a6 || (a6->w[0] | a6->w[1] | a6->w[2] | a6->w[3]) == 0)
			return pw_sock_refuse(PW_DROP_NO_BACKEND, fe->id);
		baddr = *a6;
	}

	pw_sock_write_ip6(ctx, &baddr);
	ctx->user_port = (__u32)fe->target_port;

	rk.cookie = cookie;
	rk.backend_addr = baddr;
	rk.backend_port = fe->target_port;
	known = bpf_map_lookup_elem(&pw_sock_reverse6, &rk);
	if (known && pw_in6_equal(&known->frontend_addr, &daddr) && known->frontend_port == dport)
		return 1;
	rev.frontend_addr = daddr;
	rev.frontend_port = dport;
	if (bpf_map_update_elem(&pw_sock_reverse6, &rk, &rev, BPF_ANY))
		pw_count_drop(PW_DROP_MAP_FULL);
	pw_sock_count_pick(fe->id, backend_id);
	return 1;
}

/* recvmsg6 and getpeername6: the peer a translated socket reports is the frontend. */
static __always_inline void pw_sock_to_frontend6(struct bpf_sock_addr *ctx)
{
	struct pw_sock_reverse6_key rk = {};
	struct pw_sock_reverse6 *rev;

	if (!pw_sock_in_scope(ctx))
		return;
	rk.cookie = bpf_get_socket_cookie(ctx);
	pw_sock_read_ip6(ctx, &rk.backend_addr);
	rk.backend_port = (__be16)ctx->user_port;
	rev = bpf_map_lookup_elem(&pw_sock_reverse6, &rk);
	if (!rev)
		return;
	pw_sock_write_ip6(ctx, &rev->frontend_addr);
	ctx->user_port = (__u32)rev->frontend_port;
}
