/* The controller's writes into the connection tables (lb_abi.h, struct pw_conn_ctl): run by
 * pw_conn_ctl4 and pw_conn_ctl6 on a test-run frame of operations, each under its set's lock
 * as the packet path's own writes. */
#pragma once

#include "lib/conn_set.h"
#include "lib/conntrack.h"
#include "lib/conntrack6.h"

/* PUT: never over another tuple's flow of the client (live or dead: the caller puts the flow
 * in pw_flows then, as user space placed carried flows before layout 5), never over another
 * connection's way. The client's way is read before the set's lock; a program that gives the
 * client a flow to another frontend in between is overwritten, the one race left (a carry
 * and a new connection of the same client socket within microseconds). */
static __always_inline __u8 pw_conn_ctl4_put(struct pw_conn_ctl *op)
{
	const struct pw_conn *held;
	struct pw_flow_key fk;

	if (op->conn.flow.flags & PW_FLOW_HAIRPIN)
		return PW_CONN_CTL_INVALID; /* a hairpin's reply needs pw_reverse (lb_abi.h) */
	held = pw_conn_lookup(op->key.client_addr, op->key.client_port, op->key.proto);
	if (held && (held->frontend_addr != op->conn.frontend_addr ||
		     held->frontend_port != op->conn.frontend_port))
		return PW_CONN_CTL_TAKEN;
	pw_flow_key_init(&fk, op->key.client_addr, op->conn.frontend_addr, op->key.client_port,
			 op->conn.frontend_port, op->key.proto);
	switch (pw_conn_store(&fk, &op->conn.flow, 0)) {
	case PW_CONN_STORED:
		return PW_CONN_CTL_STORED;
	case PW_CONN_REPLACED:
		return PW_CONN_CTL_REPLACED;
	case PW_CONN_FULL:
		return PW_CONN_CTL_FULL;
	}
	return PW_CONN_CTL_INVALID;
}

/* Subprograms, not inlined: their parameter puts the operation structs in the object's BTF,
 * which tests/bpf/lb_abi_btf_test.cc checks against lb_abi.h (a local's type is not there). */
static __noinline int pw_conn_ctl4_do(struct pw_conn_ctl *op)
{
	/* The ways compare keys whole: a stray reserved byte would make a key no lookup finds. */
	op->key.reserved = 0;
	if (op->code == PW_CONN_CTL_PUT)
		return pw_conn_ctl4_put(op);
	if (op->code == PW_CONN_CTL_DELETE)
		return pw_conn_delete(op->key.client_addr, op->key.client_port, op->key.proto,
				      op->backend_id) ? PW_CONN_CTL_DELETED : PW_CONN_CTL_ABSENT;
	return PW_CONN_CTL_INVALID;
}

static __always_inline __u8 pw_conn_ctl6_put(struct pw_conn6_ctl *op)
{
	const struct pw_conn6 *held;
	struct pw_flow6_key fk;

	if (op->conn.flow.flags & PW_FLOW_HAIRPIN)
		return PW_CONN_CTL_INVALID;
	held = pw_conn6_lookup(&op->key.client_addr, op->key.client_port, op->key.proto);
	if (held && (!pw_in6_eq(&held->frontend_addr, &op->conn.frontend_addr) ||
		     held->frontend_port != op->conn.frontend_port))
		return PW_CONN_CTL_TAKEN;
	pw_flow6_key_init(&fk, &op->key.client_addr, &op->conn.frontend_addr, op->key.client_port,
			  op->conn.frontend_port, op->key.proto);
	switch (pw_conn6_store(&fk, &op->conn.flow, 0)) {
	case PW_CONN_STORED:
		return PW_CONN_CTL_STORED;
	case PW_CONN_REPLACED:
		return PW_CONN_CTL_REPLACED;
	case PW_CONN_FULL:
		return PW_CONN_CTL_FULL;
	}
	return PW_CONN_CTL_INVALID;
}

static __noinline int pw_conn_ctl6_do(struct pw_conn6_ctl *op)
{
	op->key.reserved = 0;
	if (op->code == PW_CONN_CTL_PUT)
		return pw_conn_ctl6_put(op);
	if (op->code == PW_CONN_CTL_DELETE)
		return pw_conn6_delete(&op->key.client_addr, op->key.client_port, op->key.proto,
				       op->backend_id) ? PW_CONN_CTL_DELETED : PW_CONN_CTL_ABSENT;
	return PW_CONN_CTL_INVALID;
}
