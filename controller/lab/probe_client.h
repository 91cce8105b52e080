// Client-side probes (lab run, integration tests): one TCP or UDP exchange with a timeout, run from
// inside a named namespace. They return what a user would see (the reply, a reset, a timeout,
// an ICMP error), so tests assert on outcomes, not on sockets.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace portway::lab {

enum class ProbeStatus {
  ok,            // a reply arrived
  refused,       // TCP reset or ICMP port unreachable (ECONNREFUSED)
  timeout,       // nothing within the timeout
  other_error,
};

struct ProbeResult {
  ProbeStatus status = ProbeStatus::other_error;
  std::string reply;  // for ok
  std::string error;  // strerror for the rest
  std::uint16_t local_port = 0;
};

std::string to_string(ProbeStatus s);

// addr:port as a socket address: IPv6 when the text has a colon, else IPv4. Returns the
// address length; the family is out.ss_family.
socklen_t socket_address(const std::string& addr, std::uint16_t port, sockaddr_storage& out);

// Connects to addr:port (IPv4 or IPv6, by the text) from `netns` (the calling thread enters it for the call), sends
// `payload`, reads one reply (up to a newline or EOF).
ProbeResult tcp_probe(const std::string& netns, const std::string& addr, std::uint16_t port,
                      const std::string& payload = "WHO\n",
                      std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));

// Sends one datagram from a connected UDP socket and waits for one reply. A connected socket
// receives ICMP port unreachable as ECONNREFUSED, so rejects are visible.
ProbeResult udp_probe(const std::string& netns, const std::string& addr, std::uint16_t port,
                      const std::string& payload = "WHO",
                      std::chrono::milliseconds timeout = std::chrono::milliseconds(2000),
                      std::uint16_t local_port = 0);

// Parses "sandbox=NAME proto=P port=N client=A:P" from portway-testapp; empty on no match.
struct WhoAnswer {
  std::string sandbox, proto, client_addr;
  std::uint16_t port = 0, client_port = 0;
};
bool parse_who(const std::string& line, WhoAnswer& out);

}  // namespace portway::lab
