#include "flow_load.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "lab/probe_client.h"
#include "net/ip_prefix.h"
#include "netlink/netns.h"

namespace portway::itest {
namespace {

std::string sandbox_of(const std::string& line) {
  lab::WhoAnswer w;
  return lab::parse_who(line, w) ? w.sandbox : std::string{};
}

double ms_between(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// `addr`:`port` as a socket address of its family (IPv6 when it holds a colon).
std::pair<sockaddr_storage, socklen_t> socket_address(const std::string& addr, std::uint16_t port) {
  sockaddr_storage ss{};
  if (addr.find(':') != std::string::npos) {
    auto* to = reinterpret_cast<sockaddr_in6*>(&ss);
    to->sin6_family = AF_INET6;
    to->sin6_port = htons(port);
    inet_pton(AF_INET6, addr.c_str(), &to->sin6_addr);
    return {ss, sizeof(sockaddr_in6)};
  }
  auto* to = reinterpret_cast<sockaddr_in*>(&ss);
  to->sin_family = AF_INET;
  to->sin_port = htons(port);
  inet_pton(AF_INET, addr.c_str(), &to->sin_addr);
  return {ss, sizeof(sockaddr_in)};
}

// A connected socket to `to` whose first WHO was answered: (fd, sandbox), or (-1, "").
std::pair<int, std::string> open_connection(const sockaddr_storage& to, socklen_t to_len) {
  const int fd = socket(to.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return {-1, {}};
  const timeval tv{3, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  // A source port of its own, never shared with a connection to another destination: the
  // kernel would otherwise reuse a port towards another frontend, and two flows from one
  // client port to the same backend port collide in both dataplanes (one reply tuple).
  sockaddr_storage any{};
  any.ss_family = to.ss_family;
  std::string first;
  if (bind(fd, reinterpret_cast<sockaddr*>(&any), to_len) == 0 &&
      connect(fd, reinterpret_cast<const sockaddr*>(&to), to_len) == 0 && send(fd, "WHO\n", 4, MSG_NOSIGNAL) == 4) {
    std::string line;
    char c;
    while (line.size() < 256 && recv(fd, &c, 1, 0) == 1 && c != '\n') line += c;
    first = sandbox_of(line);
  }
  if (first.empty()) {
    close(fd);
    return {-1, {}};
  }
  return {fd, first};
}

// "address:port" of a socket address, IPv6 in brackets.
std::string to_text(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(ss);
    net::Ipv6 addr;
    std::memcpy(addr.bytes.data(), &a.sin6_addr, addr.bytes.size());
    return "[" + net::to_string(addr) + "]:" + std::to_string(ntohs(a.sin6_port));
  }
  const auto& a = reinterpret_cast<const sockaddr_in&>(ss);
  return net::to_string(net::Ipv4{ntohl(a.sin_addr.s_addr)}) + ":" + std::to_string(ntohs(a.sin_port));
}

// "local -> peer" of a connected socket.
std::string describe(int fd) {
  sockaddr_storage local{}, peer{};
  socklen_t local_len = sizeof local, peer_len = sizeof peer;
  getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len);
  getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len);
  return to_text(local) + " -> " + to_text(peer);
}

}  // namespace

std::string FlowFigures::to_string() const {
  return std::to_string(opened) + " opened, " + std::to_string(reset) + " reset, " + std::to_string(moved) +
         " moved, " + std::to_string(silent_at_end) + " silent at the end, " + std::to_string(exchanges) +
         " exchanges, longest wait " + std::to_string(static_cast<int>(longest_wait_ms)) + " ms";
}

rlim_t raise_fd_limit(rlim_t wanted) {
  rlimit nofile{};
  getrlimit(RLIMIT_NOFILE, &nofile);
  nofile.rlim_cur = std::min(nofile.rlim_max, std::max(nofile.rlim_cur, wanted));
  setrlimit(RLIMIT_NOFILE, &nofile);
  getrlimit(RLIMIT_NOFILE, &nofile);
  return nofile.rlim_cur;
}

FlowLoad::FlowLoad(const std::vector<FlowGroup>& groups, std::chrono::seconds open_for)
    : groups_(groups), figures_(groups.size()), epoll_(epoll_create1(EPOLL_CLOEXEC)) {
  if (epoll_ < 0) throw std::system_error(errno, std::system_category(), "epoll_create1");
  const auto deadline = Clock::now() + open_for;
  for (std::size_t g = 0; g < groups_.size() && Clock::now() < deadline; ++g) {
    const FlowGroup& group = groups_[g];
    netlink::NetnsGuard in(group.netns);  // the sockets stay in this namespace
    const auto [to, to_len] = socket_address(group.addr, group.port);
    for (int i = 0; i < group.count && Clock::now() < deadline; ++i) {
      auto [fd, first] = open_connection(to, to_len);
      if (fd < 0) continue;
      Conn conn;
      conn.fd = fd;
      conn.group = g;
      conn.first = std::move(first);
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = conns_.size();
      if (epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev) != 0) {
        close(fd);
        continue;
      }
      conns_.push_back(std::move(conn));
      ++figures_[g].opened;
    }
  }
}

FlowLoad::~FlowLoad() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  for (const Conn& c : conns_) close(c.fd);
  close(epoll_);
}

int FlowLoad::opened(const std::string& group) const {
  for (std::size_t g = 0; g < groups_.size(); ++g)
    if (groups_[g].name == group) return figures_[g].opened;
  return 0;
}

void FlowLoad::start(std::chrono::milliseconds interval, std::chrono::seconds max_run) {
  thread_ = std::thread([this, interval, max_run] { run(interval, max_run); });
}

void FlowLoad::mark_dead(Conn& c) {
  if (c.dead) return;
  c.dead = true;
  c.pending = false;
  ++figures_[c.group].reset;
  ++resets_;
  epoll_ctl(epoll_, EPOLL_CTL_DEL, c.fd, nullptr);
}

void FlowLoad::send_who(Conn& c, Clock::time_point now) {
  // Nothing else is in flight on the connection, so the send buffer has room.
  if (send(c.fd, "WHO\n", 4, MSG_NOSIGNAL | MSG_DONTWAIT) != 4) {
    mark_dead(c);
    return;
  }
  c.pending = true;
  c.sent = now;
}

bool FlowLoad::read_answers(Conn& c, Clock::time_point now) {
  char buf[1024];
  for (;;) {
    const ssize_t n = recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      c.buffer.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    mark_dead(c);  // reset, or closed by the other end
    return false;
  }
  bool answered = false;
  for (std::size_t nl; (nl = c.buffer.find('\n')) != std::string::npos;) {
    const std::string line = c.buffer.substr(0, nl);
    c.buffer.erase(0, nl + 1);
    if (sandbox_of(line) != c.first) ++figures_[c.group].moved;
    ++figures_[c.group].exchanges;
    ++exchanges_;
    figures_[c.group].longest_wait_ms = std::max(figures_[c.group].longest_wait_ms, ms_between(c.sent, now));
    c.pending = false;
    answered = true;
  }
  return answered;
}

void FlowLoad::run(std::chrono::milliseconds interval, std::chrono::seconds max_run) {
  const auto deadline = Clock::now() + max_run;
  // Spread the first questions over one interval, so the load is even from the start.
  const auto start = Clock::now();
  for (std::size_t i = 0; i < conns_.size(); ++i)
    due_.emplace_back(start + interval * static_cast<long>(i) / static_cast<long>(std::max<std::size_t>(conns_.size(), 1)), i);
  std::vector<epoll_event> events(1024);
  while (!stop_ && Clock::now() < deadline) {
    auto now = Clock::now();
    while (!due_.empty() && due_.front().first <= now) {
      Conn& c = conns_[due_.front().second];
      due_.pop_front();
      if (!c.dead) send_who(c, now);
    }
    int wait_ms = 5;
    if (!due_.empty())
      wait_ms = static_cast<int>(std::clamp<long>(
          std::chrono::duration_cast<std::chrono::milliseconds>(due_.front().first - now).count(), 0, 5));
    const int n = epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), wait_ms);
    now = Clock::now();
    for (int k = 0; k < n; ++k) {
      const std::size_t i = events[static_cast<std::size_t>(k)].data.u64;
      Conn& c = conns_[i];
      if (!c.dead && read_answers(c, now)) due_.emplace_back(now + interval, i);
    }
  }
  // Waits still open at the end count as waits too.
  const auto now = Clock::now();
  for (Conn& c : conns_)
    if (!c.dead && c.pending)
      figures_[c.group].longest_wait_ms = std::max(figures_[c.group].longest_wait_ms, ms_between(c.sent, now));
}

void FlowLoad::drain(Clock::time_point deadline) {
  std::vector<epoll_event> events(1024);
  auto pending = [&] {
    return std::any_of(conns_.begin(), conns_.end(), [](const Conn& c) { return !c.dead && c.pending; });
  };
  while (pending()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) break;
    const int n = epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), static_cast<int>(std::min<long>(left.count(), 100)));
    for (int k = 0; k < n; ++k) {
      Conn& c = conns_[events[static_cast<std::size_t>(k)].data.u64];
      if (!c.dead) read_answers(c, Clock::now());
    }
  }
}

std::vector<std::pair<std::string, FlowFigures>> FlowLoad::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  // The final check: one more answer from every live connection (after any still pending).
  drain(Clock::now() + std::chrono::seconds(3));
  for (Conn& c : conns_)
    if (!c.dead && !c.pending) send_who(c, Clock::now());
  drain(Clock::now() + std::chrono::seconds(3));
  for (const Conn& c : conns_)
    if (!c.dead && c.pending) {
      ++figures_[c.group].silent_at_end;
      figures_[c.group].silent.push_back(describe(c.fd));
    }
  std::vector<std::pair<std::string, FlowFigures>> out;
  for (std::size_t g = 0; g < groups_.size(); ++g) out.emplace_back(groups_[g].name, figures_[g]);
  return out;
}

}  // namespace portway::itest
