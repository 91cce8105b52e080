// Typed access to the maps of the cgroup socket hooks (bpf/lib/sock_lb.h): the namespace they
// act in, and the per-socket reverse entries.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <set>

#include "portway/lb_abi.h"

namespace portway::loader {

struct SockMapFds {
  int config = -1;   // pw_sock_config
  int reverse = -1;  // pw_sock_reverse
  int reverse6 = -1; // pw_sock_reverse6; -1: IPv6 sockets' entries are not looked at
};

class SockMaps {
 public:
  // Checks type and key/value sizes against lb_abi.h; throws loader::Error on a mismatch.
  explicit SockMaps(const SockMapFds& fds);

  // 0 turns the hooks into no-ops (they stay attached).
  void set_netns_cookie(std::uint64_t cookie);
  [[nodiscard]] std::uint64_t netns_cookie() const;
  [[nodiscard]] std::size_t reverse_count() const;
  // The backend addresses (network order) some socket was translated to: one walk of
  // pw_sock_reverse (~0.2 ms at 262,144 buckets), against two socket dumps of the namespace
  // that each walk the kernel's whole socket hash tables (milliseconds).
  [[nodiscard]] std::set<std::uint32_t> translated_backends() const;
  // The same for IPv6 sockets (pw_sock_reverse6), addresses as on the wire; empty without it.
  [[nodiscard]] std::set<std::array<std::uint32_t, 4>> translated_backends6() const;
  // Whether the socket `cookie` was translated to backend_addr:backend_port (network order).
  [[nodiscard]] bool translated(std::uint64_t cookie, std::uint32_t backend_addr,
                                std::uint16_t backend_port) const;
  // The same for IPv6 sockets (pw_sock_reverse6); 0 / false without reverse6.
  [[nodiscard]] std::size_t reverse6_count() const;
  [[nodiscard]] bool translated6(std::uint64_t cookie, const pw_in6& backend_addr,
                                 std::uint16_t backend_port) const;

 private:
  SockMapFds fds_;
};

}  // namespace portway::loader
