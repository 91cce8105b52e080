// IPv6 on top of a lab topology (tests only): addresses from 2001:2::/48 on the client link and
// every sandbox link, the sandboxes' default routes, the client's route to the IPv6 service
// range through the node, forwarding on the node; IPv6 echo servers in the sandboxes and
// probes from a namespace. Everything lives in the topology's namespaces and goes with them.
//
//   client eth0 2001:2::2/64 ------ up0 2001:2::1/64 node
//   sb<i> 2001:2:0:1<i>::1/64 ---- eth0 2001:2:0:1<i>::2/64 sandbox i
//   IPv6 service range 2001:2:0:ff::/64, routed by the client to the node.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "lab/topology.h"
#include "net/ip_prefix.h"

namespace portway::itest {

inline constexpr const char* kClient6 = "2001:2::2";
inline constexpr const char* kNode6 = "2001:2::1";
inline constexpr const char* kServiceRange6 = "2001:2:0:ff::/64";

// Adds the addresses and routes above (iproute2 `ip -n`, with nodad: usable at once).
// Throws std::runtime_error naming the command that failed.
void add_lab_ipv6(const lab::Topology& topo);

// Answers every TCP connection and UDP datagram on [::]:port (IPV6_V6ONLY, beside the IPv4
// test app on the same port) with "sandbox=NAME port=PORT client=[ADDR]:PORT\n", like the
// test app does for IPv4. Sockets are made in `netns`; the threads stop in the destructor.
class Ipv6EchoServer {
 public:
  Ipv6EchoServer(const std::string& netns, std::string name, std::uint16_t tcp_port, std::uint16_t udp_port);
  ~Ipv6EchoServer();
  Ipv6EchoServer(const Ipv6EchoServer&) = delete;
  Ipv6EchoServer& operator=(const Ipv6EchoServer&) = delete;

 private:
  void serve_tcp();
  void serve_udp();

  std::string name_;
  std::uint16_t tcp_port_, udp_port_;
  int tcp_fd_ = -1, udp_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread tcp_thread_, udp_thread_;
};

struct Echo6 {
  bool ok = false;
  std::string error;         // strerror when !ok
  std::string sandbox;       // who answered
  std::uint16_t port = 0;    // the port it answered on
  std::string client;        // the client address it saw, without brackets
  std::string peer;          // getpeername() of the probe's socket, "[ADDR]:PORT"
};

// One TCP exchange / one UDP datagram and its answer, from `netns` to [addr]:port (addr may be
// an IPv4-mapped "::ffff:a.b.c.d": the socket is AF_INET6 either way). Bounded by `timeout`.
Echo6 tcp6_echo(const std::string& netns, const std::string& addr, std::uint16_t port,
                std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));
Echo6 udp6_echo(const std::string& netns, const std::string& addr, std::uint16_t port,
                std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));
// tcp6_echo from a child process in `cgroup` (lab::probe_in_cgroup): what a process on the node
// sees through the cgroup socket hooks attached there.
Echo6 tcp6_echo_in_cgroup(const std::string& cgroup, const std::string& netns, const std::string& addr,
                          std::uint16_t port);
// One datagram from an unconnected IPv6 UDP socket (sendmsg6/recvmsg6), from `cgroup`; `peer`
// is the answer's source as recvfrom() reports it.
Echo6 udp6_unconnected_in_cgroup(const std::string& cgroup, const std::string& netns, const std::string& addr,
                                 std::uint16_t port);

}  // namespace portway::itest
