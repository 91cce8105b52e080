/* Where a connection lives in pw_conn_sets / pw_conn_sets6 (lb_abi.h, layout 5): the hash of
 * the client's address, port and protocol picks the set and is the way's tag. Shared verbatim
 * by the BPF programs and the C++ loader, which must find the same set for the same key.
 *
 * Byte order: the address and port are hashed as the programs load them from the key, i.e. the
 * wire bytes read as native integers; user space does the same by reading the same key struct.
 * The mix is murmur3's 32-bit finalizer: sequential client addresses and ports (a rig, a NAT
 * pool) must spread over all sets, and the set index takes the hash's high bits. The seed is
 * fixed: the table is pinned and must be found again by a reloaded program. An attacker who
 * crowds one set evicts its connections; their next packet picks the same backend again
 * (Maglev) while the backend set is unchanged. */
#pragma once

#include <linux/types.h>

#include "portway/lb_abi.h"

#define PW_CONN_HASH_SEED 0x70776335u /* "pwc5" */

/* No casts below: the header is C for BPF and C++ for the loader (as lb_abi.h's pw_set_desc). */

static inline __u32 pw_conn_mix(__u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/* The port in the high half, the protocol in the low byte: a TCP and a UDP socket on the same
 * port are different keys and usually different sets. */
static inline __u32 pw_conn_port_word(__be16 port, __u8 proto)
{
	__u32 word = port;

	return (word << 16) | proto;
}

static inline __u32 pw_conn_hash4(__be32 addr, __be16 port, __u8 proto)
{
	return pw_conn_mix(pw_conn_mix(addr ^ PW_CONN_HASH_SEED) ^ pw_conn_port_word(port, proto));
}

static inline __u32 pw_conn_hash6(const __u32 addr[4], __be16 port, __u8 proto)
{
	__u32 h = pw_conn_mix(addr[0] ^ PW_CONN_HASH_SEED);

	h = pw_conn_mix(h ^ addr[1]);
	h = pw_conn_mix(h ^ addr[2]);
	h = pw_conn_mix(h ^ addr[3]);
	return pw_conn_mix(h ^ pw_conn_port_word(port, proto));
}

/* The set of a hash among `sets`: the high bits by multiplication (no division on the packet
 * path, any set count). */
static inline __u32 pw_conn_set_index(__u32 hash, __u32 sets)
{
	__u64 wide = hash;

	wide *= sets;
	wide >>= 32;
	return wide & 0xffffffffu;
}

/* A way's tag: never 0, which marks an empty way. */
static inline __u32 pw_conn_tag(__u32 hash)
{
	return hash | 1u;
}
