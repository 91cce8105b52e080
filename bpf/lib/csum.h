/* Internet checksum arithmetic for XDP, where there is no skb to carry checksum state and
 * every rewrite is patched into the packet's checksum fields by hand.
 *
 * Incremental updates follow RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'), which (unlike RFC 1141)
 * never turns a correct checksum into 0x0000 where 0xffff is meant. One's complement sums do
 * not care about byte order as long as all words are taken the same way, so the fields are
 * used as loaded from the packet (network order) without swapping. */
#pragma once

#include <linux/types.h>

static __always_inline __u16 pw_csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* Adds the two halves of a 32-bit field to a running sum (at most a few dozen additions per
 * packet here, so a 32-bit accumulator cannot overflow before the fold). */
static __always_inline __u32 pw_csum_add32(__u32 sum, __u32 v)
{
	return sum + (v & 0xffff) + (v >> 16);
}

/* RFC 1624 eqn. 3 for one 16-bit word. */
static __always_inline void pw_csum_replace2(__sum16 *check, __u16 old, __u16 new)
{
	__u32 sum = (__u16)~*check;

	sum += (__u16)~old;
	sum += new;
	*check = (__sum16)~pw_csum_fold(sum);
}

/* RFC 1624 eqn. 3 for a 32-bit field (an address): both halves at once. */
static __always_inline void pw_csum_replace4(__sum16 *check, __u32 old, __u32 new)
{
	__u32 sum = (__u16)~*check;

	sum = pw_csum_add32(sum, ~old);
	sum = pw_csum_add32(sum, new);
	*check = (__sum16)~pw_csum_fold(sum);
}

/* UDP: a zero checksum means "none" and must stay zero (RFC 768); a computed zero is sent as
 * 0xffff. The update itself cannot produce 0x0000 from a nonzero sum (eqn. 3), but the
 * mapping is kept explicit. */
static __always_inline void pw_udp_csum_replace4(__sum16 *check, __u32 old, __u32 new)
{
	if (*check == 0)
		return;
	pw_csum_replace4(check, old, new);
	if (*check == 0)
		*check = (__sum16)0xffff;
}

static __always_inline void pw_udp_csum_replace2(__sum16 *check, __u16 old, __u16 new)
{
	if (*check == 0)
		return;
	pw_csum_replace2(check, old, new);
	if (*check == 0)
		*check = (__sum16)0xffff;
}
