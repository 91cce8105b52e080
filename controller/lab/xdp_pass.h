// An XDP program that passes every frame, for the receiving end of a veth that a fast path
// answers into with XDP_TX (the lab client's link to the node).
//
// Why: the kernel's veth XDP_TX path queues the frames into the peer's ring and then kicks the
// peer's NAPI only if the peer has an XDP program of its own (veth_xdp_flush() checks the
// peer queue's xdp_prog, unlike ndo_xdp_xmit, which flushes whenever NAPI exists). With GRO
// alone on the peer the frames wait in the ring until unrelated traffic happens to schedule
// that NAPI, so the fast path's resets, ICMP unreachables and frag-needed answers never reach
// a lab client that sends nothing else. A real NIC has no such dependency.
#pragma once

#include <string>

namespace portway::lab {

// Attaches the pass program to `link` in the calling thread's namespace, in native (driver)
// mode. The attachment lives as long as the link (no pin, no fd kept). Throws
// std::system_error.
void attach_xdp_pass(const std::string& link);

}  // namespace portway::lab
