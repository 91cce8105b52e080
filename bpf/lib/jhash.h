/* Bob Jenkins' lookup3 hash of 32-bit words ("hashword", the kernel's jhash2), reimplemented
 * for the flow hash. Plain C with fixed-width types so the C++ tests can include it as well
 * and predict the BPF program's picks; tests/bpf also check it against an independent
 * implementation, so the two cannot drift silently. */
#pragma once

#include <linux/types.h>

#define PW_JHASH_INITVAL 0xdeadbeefu

static inline __u32 pw_rol32(__u32 word, unsigned int shift)
{
	return (word << shift) | (word >> ((-shift) & 31));
}

struct pw_jhash_state {
	__u32 a, b, c;
};

/* lookup3 mix(): reversible mixing of three words. */
static inline void pw_jhash_mix(struct pw_jhash_state *s)
{
	s->a -= s->c; s->a ^= pw_rol32(s->c, 4);  s->c += s->b;
	s->b -= s->a; s->b ^= pw_rol32(s->a, 6);  s->a += s->c;
	s->c -= s->b; s->c ^= pw_rol32(s->b, 8);  s->b += s->a;
	s->a -= s->c; s->a ^= pw_rol32(s->c, 16); s->c += s->b;
	s->b -= s->a; s->b ^= pw_rol32(s->a, 19); s->a += s->c;
	s->c -= s->b; s->c ^= pw_rol32(s->b, 4);  s->b += s->a;
}

/* lookup3 final(): the last mixing of the three words into c. */
static inline void pw_jhash_final(struct pw_jhash_state *s)
{
	s->c ^= s->b; s->c -= pw_rol32(s->b, 14);
	s->a ^= s->c; s->a -= pw_rol32(s->c, 11);
	s->b ^= s->a; s->b -= pw_rol32(s->a, 25);
	s->c ^= s->b; s->c -= pw_rol32(s->b, 16);
	s->a ^= s->c; s->a -= pw_rol32(s->c, 4);
	s->b ^= s->a; s->b -= pw_rol32(s->a, 14);
	s->c ^= s->b; s->c -= pw_rol32(s->b, 24);
}

/* jhash2 over exactly four words: one mix round for words 0..2, the fourth in the tail. */
static inline __u32 pw_jhash_4words(__u32 w0, __u32 w1, __u32 w2, __u32 w3, __u32 initval)
{
	struct pw_jhash_state s;

	s.a = s.b = s.c = PW_JHASH_INITVAL + (4u << 2) + initval;
	s.a += w0;
	s.b += w1;
	s.c += w2;
	pw_jhash_mix(&s);
	s.a += w3;
	pw_jhash_final(&s);
	return s.c;
}

/* The flow hash of lb_abi.h (PW_FLOW_HASH_SEED, word layout documented there). */
static inline __u32 pw_flow_hash(__u32 saddr, __u32 daddr, __u16 sport, __u16 dport, __u8 proto,
				 __u32 seed)
{
	return pw_jhash_4words(saddr, daddr, ((__u32)sport << 16) | dport, proto, seed);
}

/* reciprocal_scale(): maps a 32-bit hash onto [0, n) without a division. */
static inline __u32 pw_reciprocal_scale(__u32 hash, __u32 n)
{
	return (__u32)(((__u64)hash * n) >> 32);
}
