// Comments on the table's elements and chains (docs/nftables.md "Comments"): the Service and
// port an element belongs to, as kube-proxy's table shows them. This is the only place user
// text reaches the ruleset, so everything that comes out of here is safe between nft's double
// quotes whatever the input bytes: valid UTF-8 only (libnftables' JSON listing needs it),
// no '"' (it would end the string), no '\' and no control characters (0x00-0x1f, 0x7f and the
// C1 controls U+0080-U+009F). Each byte or broken sequence of those becomes '?'.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace portway::dataplane::nft {

// nftables refuses longer comments ("comment too long, 128 characters maximum allowed": it
// counts bytes, NFTNL_UDATA_COMMENT_MAXLEN in nftables 1.0.6).
inline constexpr std::size_t kCommentMaxBytes = 128;
// A port name keeps at most this much of a comment (a valid one has at most 15 bytes).
inline constexpr std::size_t kCommentPortBytes = 32;

// `raw` made safe (see above); not shortened.
std::string comment_safe(std::string_view raw);

// The longest prefix of `safe` (output of comment_safe) with at most `max_bytes` bytes that does
// not end inside a UTF-8 sequence.
std::string_view comment_prefix(std::string_view safe, std::size_t max_bytes);

// "<service>:<port>" (or "<service>" without a port name), made safe and cut to
// kCommentMaxBytes: the port name is kept whole up to kCommentPortBytes, the Service id gives way.
std::string element_comment(std::string_view service, std::string_view port_name);

}  // namespace portway::dataplane::nft
