/* Where a connection lives in pw_conn_sets / pw_conn_sets6 (lb_abi.h, layout 5): the hash of
 * the client's address, port and protocol picks the set and is the way's tag. Shared verbatim
 * by the BPF programs and the C++ loader, which must find the same set for the same key.
 *
 * Byte order: the address and port are hashed as the programs load them from the key, i.e. the
 * wire bytes read as native integers; user space does the same by reading the same key struct.
 * Sequential client addresses and ports (a rig, a NAT pool) must spread over all sets. An
 * attacker who crowds one set evicts its connections; their next packet picks the same
 * backend again (Maglev) while the backend set is unchanged. */
#pragma once

#include <linux/types.h>

#include "portway/lb_abi.h"

/* Multiply, fold, multiply: the key's bits as 64-bit words times odd 64-bit constants, the
 * high half folded into the low, times another constant; the high half is the hash. Two
 * multiplies on the packet path, which runs this for every packet (the BPF object is built
 * for 64-bit registers, where each 32-bit step of a 32-bit mix costs a masking instruction
 * more: murmur3's finalizer twice was ~30 instructions). A single multiply (Fibonacci
 * hashing) was not enough: sequential ports, byte-swapped as they are on the wire, left a
 * quarter of the sets unused; with the fold every key shape tried (sequential addresses,
 * sequential ports of a few addresses, random) fills the sets as random keys do. The constants
 * are fixed: the table is pinned and must be found again by a reloaded program. */
#define PW_CONN_HASH_K1 0x9e3779b97f4a7c15ull /* 2^64 / golden ratio */
#define PW_CONN_HASH_K2 0xc2b2ae3d27d4eb4full
#define PW_CONN_HASH_K3 0x165667b19e3779f9ull

/* No casts below: the header is C for BPF and C++ for the loader (as lb_abi.h's pw_set_desc). */

/* The port in the high half, the protocol in the low byte: a TCP and a UDP socket on the same
 * port are different keys. */
static inline __u32 pw_conn_port_word(__be16 port, __u8 proto)
{
	__u32 word = port;

	return (word << 16) | proto;
}

static inline __u32 pw_conn_high_half(__u64 x)
{
	x >>= 32;
	return x & 0xffffffffu;
}

static inline __u64 pw_conn_pair(__u32 high, __u32 low)
{
	__u64 x = high;

	return (x << 32) | low;
}

static inline __u32 pw_conn_finish(__u64 x)
{
	x ^= x >> 32;
	return pw_conn_high_half(x * PW_CONN_HASH_K2);
}

static inline __u32 pw_conn_hash4(__be32 addr, __be16 port, __u8 proto)
{
	return pw_conn_finish(pw_conn_pair(addr, pw_conn_port_word(port, proto)) * PW_CONN_HASH_K1);
}

static inline __u32 pw_conn_hash6(const __u32 addr[4], __be16 port, __u8 proto)
{
	__u64 x = pw_conn_pair(addr[0], addr[1]) * PW_CONN_HASH_K1;

	x ^= pw_conn_pair(addr[2], addr[3]) * PW_CONN_HASH_K3;
	x ^= pw_conn_pair(pw_conn_port_word(port, proto), 0);
	return pw_conn_finish(x);
}

/* The set of a hash among `sets`: the high bits by multiplication (no division on the packet
 * path, any set count). */
static inline __u32 pw_conn_set_index(__u32 hash, __u32 sets)
{
	__u64 wide = hash;

	wide *= sets;
	return pw_conn_high_half(wide);
}

/* A way's tag: never 0, which marks an empty way. */
static inline __u32 pw_conn_tag(__u32 hash)
{
	return hash | 1u;
}
