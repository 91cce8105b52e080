#include "udp_paths.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <vector>

#include "lab/probe_client.h"
#include "netlink/netns.h"

namespace portway::conformance {
namespace {

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

bool is_v6(const std::string& addr) { return addr.find(':') != std::string::npos; }

// A connected UDP socket in the calling thread's namespace, with PMTU discovery on (`df`:
// IP_PMTUDISC_DO / IPV6_PMTUDISC_DO, the packet-too-big answer reaches the socket) or off
// (the stack fragments).
int connected_udp(const std::string& addr, std::uint16_t port, bool df) {
  sockaddr_storage sa{};
  const socklen_t len = lab::socket_address(addr, port, sa);
  const int fd = socket(sa.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
  if (is_v6(addr)) {
    const int mode = df ? IPV6_PMTUDISC_DO : IPV6_PMTUDISC_DONT;
    setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &mode, sizeof mode);
  } else {
    const int mode = df ? IP_PMTUDISC_DO : IP_PMTUDISC_DONT;
    setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &mode, sizeof mode);
  }
  if (connect(fd, reinterpret_cast<const sockaddr*>(&sa), len) != 0) {
    const int err = errno;
    close(fd);
    throw std::system_error(err, std::generic_category(), "connect " + addr);
  }
  return fd;
}

// Waits for one datagram (or a socket error) within `timeout`; returns recv's result.
ssize_t recv_one(int fd, std::vector<char>& buf, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(timeout.count())) <= 0) {
    errno = ETIMEDOUT;
    return -1;
  }
  return recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
}

}  // namespace

PmtuOutcome udp_send_df(const std::string& netns, const std::string& addr, std::uint16_t port,
                        std::size_t size, std::chrono::milliseconds timeout) {
  netlink::NetnsGuard in(netns);
  Fd s{connected_udp(addr, port, true)};
  PmtuOutcome out;
  const std::string payload(size, 'p');
  if (send(s.fd, payload.data(), payload.size(), 0) < 0) {
    out.error = errno;  // the route already knew a smaller PMTU
  } else {
    std::vector<char> buf(65536);
    const ssize_t n = recv_one(s.fd, buf, timeout);
    if (n >= 0) out.echoed = true;
    else out.error = errno;  // EMSGSIZE: the ICMP frag-needed reached this socket
  }
  int mtu = 0;
  socklen_t len = sizeof mtu;
  const int got = is_v6(addr) ? getsockopt(s.fd, IPPROTO_IPV6, IPV6_MTU, &mtu, &len)
                               : getsockopt(s.fd, IPPROTO_IP, IP_MTU, &mtu, &len);
  if (got == 0) out.path_mtu = mtu;
  return out;
}

std::string udp_echo_df_off(const std::string& netns, const std::string& addr, std::uint16_t port,
                            const std::string& payload, std::chrono::milliseconds timeout) {
  netlink::NetnsGuard in(netns);
  Fd s{connected_udp(addr, port, false)};
  if (send(s.fd, payload.data(), payload.size(), 0) < 0) return "";
  std::vector<char> buf(65536);
  const ssize_t n = recv_one(s.fd, buf, timeout);
  return n > 0 ? std::string(buf.data(), static_cast<std::size_t>(n)) : "";
}

void set_link_mtu(const std::string& netns, const std::string& link, int mtu) {
  netlink::NetnsGuard in(netns);
  Fd s{socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, link.c_str(), IFNAMSIZ - 1);
  ifr.ifr_mtu = mtu;
  if (ioctl(s.fd, SIOCSIFMTU, &ifr) != 0)
    throw std::system_error(errno, std::generic_category(), "set MTU of " + link);
}

}  // namespace portway::conformance
