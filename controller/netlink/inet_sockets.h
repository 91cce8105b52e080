// The IPv4 and IPv6 TCP/UDP sockets of the current network namespace (NETLINK_SOCK_DIAG), and ending
// one of them (SOCK_DESTROY, CONFIG_INET_DIAG_DESTROY): the fast path ends the node's own
// connections to a removed backend this way, as the packet path resets them.
#pragma once

#include <linux/inet_diag.h>

#include <array>
#include <cstdint>
#include <vector>

namespace portway::netlink {

struct InetSocket {
  std::uint8_t protocol = 0;  // IPPROTO_TCP or IPPROTO_UDP
  std::uint8_t family = 0;    // AF_INET or AF_INET6
  std::uint32_t daddr = 0;    // AF_INET: network order
  std::array<std::uint32_t, 4> daddr6{};  // AF_INET6: as on the wire (IPv4-mapped for a
                                          // dual-stack socket talking IPv4)
  std::uint16_t dport = 0;    // network order
  std::uint64_t cookie = 0;   // what bpf_get_socket_cookie returns for it
  inet_diag_sockid id{};      // as the kernel reported it, to address SOCK_DESTROY
};

// Every IPv4 socket of `protocol` with a peer (TCP: any state but LISTEN). Throws NetlinkError.
std::vector<InetSocket> list_inet4_sockets(std::uint8_t protocol);
// The same for IPv6 sockets.
std::vector<InetSocket> list_inet6_sockets(std::uint8_t protocol);

// Ends the socket: a blocked or later call on it fails with ECONNABORTED (TCP also sends a
// reset). False when it was already gone. Throws NetlinkError otherwise (EOPNOTSUPP: kernel
// without CONFIG_INET_DIAG_DESTROY).
bool destroy_inet_socket(const InetSocket& s);

}  // namespace portway::netlink
