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

/* connect4 and sendmsg4. Returns 1 to go on (destination maybe rewritten), 0 to refuse. */
static __always_inline int pw_sock_to_backend(struct bpf_sock_addr *ctx)
{
	struct pw_frontend_key fk = {};
	struct pw_sock_reverse_key rk = {};
	struct pw_sock_reverse rev = {};
	struct pw_sock_reverse *known;
	struct pw_backend *be = NULL;
	struct pw_frontend *fe;
	__u32 proto = ctx->protocol, backend_id, hash;
	__be32 daddr;
	__be16 dport;
	__u64 cookie;

	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return 1;
	if (!pw_sock_in_scope(ctx))
		return 1;
	daddr = ctx->user_ip4;
	/* user_port holds the port in network order in its low 16 bits. */
	dport = (__be16)ctx->user_port;

	fk.addr = daddr;
	fk.port = dport;
	fk.proto = (__u8)proto;
	fk.kind = PW_FRONTEND_SERVICE;
	fe = bpf_map_lookup_elem(&pw_frontends, &fk);
	if (!fe) {
		if (bpf_map_lookup_elem(&pw_node_addrs, &daddr)) {
			fk.addr = 0;
			fk.kind = PW_FRONTEND_NODE_PORT;
			fe = bpf_map_lookup_elem(&pw_frontends, &fk);
			if (!fe)
				return 1; /* any other port of the node: the node's own */
		} else if (bpf_map_lookup_elem(&pw_service_addrs, &daddr)) {
			return pw_sock_refuse(PW_DROP_UNDECLARED_PORT, PW_NO_ID);
		} else {
			return 1;
		}
	}

	/* No source port exists yet at connect(): the socket cookie stands in for the client side
	 * of the 5-tuple, so one socket keeps its backend across datagrams while the set is
	 * unchanged, and different sockets spread. */
	cookie = bpf_get_socket_cookie(ctx);
	hash = pw_flow_hash((__u32)cookie, (__u32)(cookie >> 32), 0, dport, (__u8)proto,
			    PW_FLOW_HASH_SEED);
	backend_id = pw_maglev_pick(fe->set_id, hash, &be);
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
	pw_sock_count_new_flow(&pw_frontend_stats, fe->id);
	pw_sock_count_new_flow(&pw_backend_stats, backend_id);
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
