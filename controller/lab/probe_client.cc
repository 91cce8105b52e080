#include "lab/probe_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "netlink/netns.h"

namespace portway::lab {
namespace {

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

ProbeResult from_errno(int err) {
  ProbeResult r;
  r.error = std::strerror(err);
  r.status = err == ECONNREFUSED ? ProbeStatus::refused
             : (err == ETIMEDOUT || err == EAGAIN) ? ProbeStatus::timeout
                                                   : ProbeStatus::other_error;
  return r;
}

// An IPv4 or IPv6 address (the family follows the text: a colon means IPv6).
struct SockAddr {
  sockaddr_storage ss{};
  socklen_t len = 0;
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&ss); }
  int family() const { return ss.ss_family; }
};

SockAddr make_addr(const std::string& addr, std::uint16_t port) {
  SockAddr out;
  out.len = socket_address(addr, port, out.ss);
  return out;
}

SockAddr any_addr(int family, std::uint16_t port) { return make_addr(family == AF_INET6 ? "::" : "0.0.0.0", port); }

// Waits for `events` on fd; 0 on readiness, else an errno value (ETIMEDOUT on timeout).
int wait_for(int fd, short events, std::chrono::milliseconds timeout) {
  pollfd p{fd, events, 0};
  const int n = poll(&p, 1, static_cast<int>(timeout.count()));
  if (n == 0) return ETIMEDOUT;
  if (n < 0) return errno;
  return 0;
}

std::uint16_t local_port_of(int fd) {
  sockaddr_storage sa{};
  socklen_t len = sizeof sa;
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  // sin_port and sin6_port sit at the same offset.
  return ntohs(reinterpret_cast<const sockaddr_in&>(sa).sin_port);
}

}  // namespace

socklen_t socket_address(const std::string& addr, std::uint16_t port, sockaddr_storage& out) {
  out = {};
  if (addr.find(':') != std::string::npos) {
    auto& sa = reinterpret_cast<sockaddr_in6&>(out);
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons(port);
    inet_pton(AF_INET6, addr.c_str(), &sa.sin6_addr);
    return sizeof sa;
  }
  auto& sa = reinterpret_cast<sockaddr_in&>(out);
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  inet_pton(AF_INET, addr.c_str(), &sa.sin_addr);
  return sizeof sa;
}

std::string to_string(ProbeStatus s) {
  switch (s) {
    case ProbeStatus::ok: return "ok";
    case ProbeStatus::refused: return "refused";
    case ProbeStatus::timeout: return "timeout";
    case ProbeStatus::other_error: return "error";
  }
  return "?";
}

ProbeResult tcp_probe(const std::string& netns, const std::string& addr, std::uint16_t port,
                      const std::string& payload, std::chrono::milliseconds timeout) {
  netlink::NetnsGuard in(netns);
  const SockAddr sa = make_addr(addr, port);
  Fd s{socket(sa.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
  if (s.fd < 0) return from_errno(errno);
  if (connect(s.fd, sa.get(), sa.len) != 0 && errno != EINPROGRESS)
    return from_errno(errno);
  if (int err = wait_for(s.fd, POLLOUT, timeout)) return from_errno(err);
  int so_error = 0;
  socklen_t len = sizeof so_error;
  getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
  if (so_error) return from_errno(so_error);
  const std::uint16_t local = local_port_of(s.fd);
  if (send(s.fd, payload.data(), payload.size(), MSG_NOSIGNAL) < 0) return from_errno(errno);
  std::string reply;
  char buf[4096];
  while (reply.find('\n') == std::string::npos) {
    if (int err = wait_for(s.fd, POLLIN, timeout)) {
      if (!reply.empty()) break;
      return from_errno(err);
    }
    const ssize_t n = recv(s.fd, buf, sizeof buf, 0);
    if (n < 0) return from_errno(errno);
    if (n == 0) break;
    reply.append(buf, static_cast<std::size_t>(n));
  }
  ProbeResult r;
  r.status = ProbeStatus::ok;
  r.reply = reply;
  r.local_port = local;
  return r;
}

ProbeResult udp_probe(const std::string& netns, const std::string& addr, std::uint16_t port,
                      const std::string& payload, std::chrono::milliseconds timeout,
                      std::uint16_t local_port) {
  netlink::NetnsGuard in(netns);
  const SockAddr sa = make_addr(addr, port);
  Fd s{socket(sa.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
  if (s.fd < 0) return from_errno(errno);
  if (local_port) {
    const int one = 1;
    setsockopt(s.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    const SockAddr local = any_addr(sa.family(), local_port);
    if (bind(s.fd, local.get(), local.len) != 0) return from_errno(errno);
  }
  if (connect(s.fd, sa.get(), sa.len) != 0) return from_errno(errno);
  const std::uint16_t local = local_port_of(s.fd);
  if (send(s.fd, payload.data(), payload.size(), 0) < 0) return from_errno(errno);
  if (int err = wait_for(s.fd, POLLIN, timeout)) return from_errno(err);
  char buf[65536];
  const ssize_t n = recv(s.fd, buf, sizeof buf, 0);
  if (n < 0) return from_errno(errno);
  ProbeResult r;
  r.status = ProbeStatus::ok;
  r.reply.assign(buf, static_cast<std::size_t>(n));
  r.local_port = local;
  return r;
}

bool parse_who(const std::string& line, WhoAnswer& out) {
  std::istringstream in(line);
  std::string field;
  bool have_sandbox = false;
  while (in >> field) {
    const auto eq = field.find('=');
    if (eq == std::string::npos) return false;
    const std::string key = field.substr(0, eq), value = field.substr(eq + 1);
    if (key == "sandbox") {
      out.sandbox = value;
      have_sandbox = true;
    } else if (key == "proto") {
      out.proto = value;
    } else if (key == "port") {
      out.port = static_cast<std::uint16_t>(std::stoi(value));
    } else if (key == "client") {
      const auto colon = value.rfind(':');
      if (colon == std::string::npos) return false;
      out.client_addr = value.substr(0, colon);
      out.client_port = static_cast<std::uint16_t>(std::stoi(value.substr(colon + 1)));
    }
  }
  return have_sandbox;
}

}  // namespace portway::lab
