#include "tcp_connection.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "netlink/netns.h"

namespace portway::itest {
namespace {

using lab::ProbeResult;
using lab::ProbeStatus;

ProbeResult failed(int err) {
  ProbeResult r;
  r.error = std::strerror(err);
  r.status = err == ECONNREFUSED || err == ECONNRESET || err == EPIPE ? ProbeStatus::refused
             : err == ETIMEDOUT                                       ? ProbeStatus::timeout
                                                                      : ProbeStatus::other_error;
  return r;
}

}  // namespace

TcpConnection::TcpConnection(const std::string& netns, const std::string& addr, std::uint16_t port) {
  netlink::NetnsGuard in(netns);  // the socket stays in this namespace afterwards
  sockaddr_storage sa{};
  const socklen_t len = lab::socket_address(addr, port, sa);
  const int fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&sa), len) == 0) {
    fd_ = fd;
  } else {
    close(fd);
  }
}

TcpConnection::~TcpConnection() {
  if (fd_ >= 0) close(fd_);
}

ProbeResult TcpConnection::exchange(const std::string& line, std::chrono::milliseconds timeout) {
  if (fd_ < 0) return failed(ENOTCONN);
  if (send(fd_, line.data(), line.size(), MSG_NOSIGNAL) < 0) return failed(errno);
  std::string got;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (got.find('\n') == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return failed(ETIMEDOUT);
    pollfd p{fd_, POLLIN, 0};
    const int n = poll(&p, 1, static_cast<int>(left.count()));
    if (n == 0) return failed(ETIMEDOUT);
    char buf[512];
    const ssize_t r = recv(fd_, buf, sizeof buf, 0);
    if (r < 0) return failed(errno);
    if (r == 0) return failed(ECONNRESET);  // closed: treat like a reset for these tests
    got.append(buf, static_cast<std::size_t>(r));
  }
  ProbeResult ok;
  ok.status = ProbeStatus::ok;
  ok.reply = got;
  return ok;
}

}  // namespace portway::itest
