#include "lab_ipv6.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <sstream>
#include <stdexcept>

#include "lab/cgroup_dir.h"
#include "netlink/netns.h"

namespace portway::itest {
namespace {

void run(const std::string& cmd) {
  if (std::system((cmd + " >/dev/null 2>&1").c_str()) != 0) throw std::runtime_error("lab IPv6: " + cmd + " failed");
}

std::string ip_n(const std::string& netns) { return "ip -n " + netns + " "; }

sockaddr_in6 sockaddr_of(const std::string& addr, std::uint16_t port) {
  sockaddr_in6 sa{};
  sa.sin6_family = AF_INET6;
  sa.sin6_port = htons(port);
  if (inet_pton(AF_INET6, addr.c_str(), &sa.sin6_addr) != 1) throw std::runtime_error("bad IPv6 address " + addr);
  return sa;
}

std::string text_of(const sockaddr_in6& sa) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(AF_INET6, &sa.sin6_addr, buf, sizeof buf);
  return "[" + std::string(buf) + "]:" + std::to_string(ntohs(sa.sin6_port));
}

// A socket made inside `netns` (it stays there once the thread leaves).
int socket_in(const std::string& netns, int type) {
  netlink::NetnsGuard in(netns);
  return ::socket(AF_INET6, type | SOCK_CLOEXEC, 0);
}

bool wait_for(int fd, short events, std::chrono::milliseconds timeout) {
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, static_cast<int>(timeout.count())) == 1;
}

// "sandbox=NAME ... port=N client=ADDR:PORT" (ADDR bracketed for IPv6, bare for IPv4).
void parse(const std::string& line, Echo6& out) {
  std::istringstream words(line);
  std::string w;
  while (words >> w) {
    const auto eq = w.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = w.substr(0, eq), value = w.substr(eq + 1);
    if (key == "sandbox") out.sandbox = value;
    if (key == "port") out.port = static_cast<std::uint16_t>(std::stoi(value));
    if (key == "client") {
      const auto colon = value.rfind(':');
      std::string addr = value.substr(0, colon);
      if (addr.size() > 1 && addr.front() == '[') addr = addr.substr(1, addr.size() - 2);
      out.client = addr;
    }
  }
  out.ok = !out.sandbox.empty();
  if (!out.ok) out.error = "unparsable answer: " + line;
}

Echo6 echo(const std::string& netns, const std::string& addr, std::uint16_t port, int type,
           std::chrono::milliseconds timeout) {
  Echo6 out;
  const int fd = socket_in(netns, type);
  if (fd < 0) {
    out.error = std::strerror(errno);
    return out;
  }
  const sockaddr_in6 sa = sockaddr_of(addr, port);
  ::fcntl(fd, F_SETFL, O_NONBLOCK);
  int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
  if (rc != 0 && errno == EINPROGRESS) {
    int err = ETIMEDOUT;
    socklen_t len = sizeof err;
    if (wait_for(fd, POLLOUT, timeout)) ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    rc = err == 0 ? 0 : -1;
    errno = err;
  }
  if (rc != 0) {
    out.error = std::strerror(errno);
    ::close(fd);
    return out;
  }
  sockaddr_in6 peer{};
  socklen_t plen = sizeof peer;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &plen) == 0) out.peer = text_of(peer);
  const std::string hello = type == SOCK_STREAM ? "WHO\n" : "WHO";
  if (::send(fd, hello.data(), hello.size(), MSG_NOSIGNAL) < 0) {
    out.error = std::strerror(errno);
    ::close(fd);
    return out;
  }
  char buf[512] = {};
  ssize_t n = -1;
  if (wait_for(fd, POLLIN, timeout))
    n = ::recv(fd, buf, sizeof buf - 1, 0);
  else
    errno = ETIMEDOUT;
  if (n <= 0) {
    out.error = n == 0 ? "closed without an answer" : std::strerror(errno);
    ::close(fd);
    return out;
  }
  ::close(fd);
  parse(std::string(buf, static_cast<std::size_t>(n)), out);
  return out;
}

}  // namespace

void add_lab_ipv6(const lab::Topology& topo) {
  // The lab topology is dual-stack (controller/lab/topology.h: the client, the node's uplink
  // and every sandbox have their 2001:2::/48 address, sandboxes a default route, the node
  // forwards IPv6); these tests only add the client's route to their own service range.
  run(ip_n(topo.client_netns) + "-6 route add " + kServiceRange6 + " via " + kNode6);
}

Ipv6EchoServer::Ipv6EchoServer(const std::string& netns, std::string name, std::uint16_t tcp_port,
                               std::uint16_t udp_port)
    : name_(std::move(name)), tcp_port_(tcp_port), udp_port_(udp_port) {
  tcp_fd_ = socket_in(netns, SOCK_STREAM);
  udp_fd_ = socket_in(netns, SOCK_DGRAM);
  const int one = 1, zero = 0;
  for (const int fd : {tcp_fd_, udp_fd_}) {
    if (fd < 0) throw std::runtime_error("IPv6 echo server socket: " + std::string(std::strerror(errno)));
    // Both families: IPv4 clients arrive as IPv4-mapped peers.
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  }
  const sockaddr_in6 tcp_any = sockaddr_of("::", tcp_port_), udp_any = sockaddr_of("::", udp_port_);
  if (::bind(tcp_fd_, reinterpret_cast<const sockaddr*>(&tcp_any), sizeof tcp_any) != 0 ||
      ::listen(tcp_fd_, 64) != 0 || ::bind(udp_fd_, reinterpret_cast<const sockaddr*>(&udp_any), sizeof udp_any) != 0) {
    const std::string why = std::strerror(errno);
    ::close(tcp_fd_);
    ::close(udp_fd_);
    throw std::runtime_error("IPv6 echo server bind: " + why);
  }
  tcp_thread_ = std::thread([this] { serve_tcp(); });
  udp_thread_ = std::thread([this] { serve_udp(); });
}

Ipv6EchoServer::~Ipv6EchoServer() {
  stop_ = true;
  tcp_thread_.join();
  udp_thread_.join();
  ::close(tcp_fd_);
  ::close(udp_fd_);
}

// Each loop wakes at least every 100 ms to see stop_: bounded by the test's life.
void Ipv6EchoServer::serve_tcp() {
  while (!stop_) {
    if (!wait_for(tcp_fd_, POLLIN, std::chrono::milliseconds(100))) continue;
    sockaddr_in6 peer{};
    socklen_t len = sizeof peer;
    const int c = ::accept4(tcp_fd_, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC);
    if (c < 0) continue;
    char buf[64];
    if (wait_for(c, POLLIN, std::chrono::milliseconds(1000)) && ::recv(c, buf, sizeof buf, 0) > 0) {
      const std::string answer = "sandbox=" + name_ + " proto=tcp port=" + std::to_string(tcp_port_) +
                                 " client=" + text_of(peer) + "\n";
      (void)::send(c, answer.data(), answer.size(), MSG_NOSIGNAL);
    }
    ::close(c);
  }
}

void Ipv6EchoServer::serve_udp() {
  while (!stop_) {
    if (!wait_for(udp_fd_, POLLIN, std::chrono::milliseconds(100))) continue;
    sockaddr_in6 peer{};
    socklen_t len = sizeof peer;
    char buf[64];
    if (::recvfrom(udp_fd_, buf, sizeof buf, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&peer), &len) < 0) continue;
    const std::string answer = "sandbox=" + name_ + " proto=udp port=" + std::to_string(udp_port_) +
                               " client=" + text_of(peer) + "\n";
    (void)::sendto(udp_fd_, answer.data(), answer.size(), 0, reinterpret_cast<const sockaddr*>(&peer), len);
  }
}

Echo6 tcp6_echo(const std::string& netns, const std::string& addr, std::uint16_t port,
                std::chrono::milliseconds timeout) {
  return echo(netns, addr, port, SOCK_STREAM, timeout);
}

Echo6 udp6_echo(const std::string& netns, const std::string& addr, std::uint16_t port,
                std::chrono::milliseconds timeout) {
  return echo(netns, addr, port, SOCK_DGRAM, timeout);
}

namespace {

// Runs `probe` in a child in `cgroup`; its Echo6 crosses the pipe as a ProbeResult (the peer
// first, then the answer's words).
Echo6 echo_in_cgroup(const std::string& cgroup, const std::function<Echo6()>& probe) {
  const lab::ProbeResult r = lab::probe_in_cgroup(cgroup, [&] {
    const Echo6 e = probe();
    lab::ProbeResult out;
    out.status = e.ok ? lab::ProbeStatus::ok : lab::ProbeStatus::other_error;
    out.error = e.error;
    out.reply = "peer=" + e.peer + " sandbox=" + e.sandbox + " port=" + std::to_string(e.port) + " client=[" +
                e.client + "]:0";
    return out;
  });
  Echo6 e;
  if (r.status != lab::ProbeStatus::ok) {
    e.error = r.error.empty() ? lab::to_string(r.status) : r.error;
    return e;
  }
  parse(r.reply, e);
  const auto at = r.reply.find("peer=");
  if (at != std::string::npos) e.peer = r.reply.substr(at + 5, r.reply.find(' ', at) - at - 5);
  return e;
}

Echo6 udp6_unconnected(const std::string& netns, const std::string& addr, std::uint16_t port) {
  Echo6 out;
  const int fd = socket_in(netns, SOCK_DGRAM);
  if (fd < 0) {
    out.error = std::strerror(errno);
    return out;
  }
  const sockaddr_in6 to = sockaddr_of(addr, port);
  sockaddr_in6 from{};
  socklen_t len = sizeof from;
  char buf[512] = {};
  ssize_t n = -1;
  if (::sendto(fd, "WHO", 3, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) == 3 &&
      wait_for(fd, POLLIN, std::chrono::milliseconds(2000)))
    n = ::recvfrom(fd, buf, sizeof buf - 1, 0, reinterpret_cast<sockaddr*>(&from), &len);
  if (n <= 0) {
    out.error = n == 0 ? "empty answer" : std::strerror(errno ? errno : ETIMEDOUT);
    ::close(fd);
    return out;
  }
  ::close(fd);
  parse(std::string(buf, static_cast<std::size_t>(n)), out);
  out.peer = text_of(from);
  return out;
}

}  // namespace

Echo6 tcp6_echo_in_cgroup(const std::string& cgroup, const std::string& netns, const std::string& addr,
                          std::uint16_t port) {
  return echo_in_cgroup(cgroup, [&] { return tcp6_echo(netns, addr, port); });
}

Echo6 udp6_unconnected_in_cgroup(const std::string& cgroup, const std::string& netns, const std::string& addr,
                                 std::uint16_t port) {
  return echo_in_cgroup(cgroup, [&] { return udp6_unconnected(netns, addr, port); });
}

}  // namespace portway::itest
