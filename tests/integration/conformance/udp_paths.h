// Client-side probes for the path-MTU and fragmentation scenarios, which the lab's one-shot
// probes (lab/probe_client.h) cannot express: a datagram sent with DF (and what the socket
// learns from the ICMP frag-needed that comes back), and one big datagram sent without DF
// (the client's own kernel fragments it).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace portway::conformance {

struct PmtuOutcome {
  int error = 0;           // errno the socket reported after the oversize send (EMSGSIZE expected)
  int path_mtu = 0;        // IP_MTU of the connected socket afterwards (the route's PMTU)
  bool echoed = false;     // the oversize datagram was answered after all (no frag-needed)
};

// From `netns`: connected UDP socket to addr:port with IP_PMTUDISC_DO, sends `size` bytes,
// waits up to `timeout` for an answer or an error.
PmtuOutcome udp_send_df(const std::string& netns, const std::string& addr, std::uint16_t port,
                        std::size_t size, std::chrono::milliseconds timeout);

// From `netns`: sends `payload` in one datagram with IP_PMTUDISC_DONT (fragmented by the
// client's kernel when bigger than the link MTU) and returns the one datagram answered, or "".
std::string udp_echo_df_off(const std::string& netns, const std::string& addr, std::uint16_t port,
                                         const std::string& payload, std::chrono::milliseconds timeout);

// Sets a link's MTU in `netns` (SIOCSIFMTU). Throws std::system_error.
void set_link_mtu(const std::string& netns, const std::string& link, int mtu);

}  // namespace portway::conformance
