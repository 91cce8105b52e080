#include "flow_load.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "lab/probe_client.h"
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

}  // namespace

std::string FlowFigures::to_string() const {
  return std::to_string(opened) + " opened, " + std::to_string(reset) + " reset, " + std::to_string(moved) +
         " moved, " + std::to_string(silent_at_end) + " silent at the end, " + std::to_string(exchanges) +
         " exchanges, longest wait " + std::to_string(static_cast<int>(longest_wait_ms)) + " ms";
}

FlowLoad::FlowLoad(const std::vector<FlowGroup>& groups) : groups_(groups), figures_(groups.size()) {
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const FlowGroup& group = groups_[g];
    netlink::NetnsGuard in(group.netns);  // the sockets stay in this namespace
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(group.port);
    inet_pton(AF_INET, group.addr.c_str(), &to.sin_addr);
    const timeval tv{3, 0};
    for (int i = 0; i < group.count; ++i) {
      const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0) break;
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      // A source port of its own, never shared with a connection to another destination: the
      // kernel would otherwise reuse a port towards another frontend, and two flows from one
      // client port to the same backend port collide in both dataplanes (one reply tuple).
      sockaddr_in any{};
      any.sin_family = AF_INET;
      if (bind(fd, reinterpret_cast<sockaddr*>(&any), sizeof any) != 0) {
        close(fd);
        break;
      }
      std::string first;
      if (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0 && send(fd, "WHO\n", 4, MSG_NOSIGNAL) == 4) {
        std::string line;
        char c;
        while (line.size() < 256 && recv(fd, &c, 1, 0) == 1 && c != '\n') line += c;
        first = sandbox_of(line);
      }
      if (first.empty()) {
        close(fd);
        continue;
      }
      Conn conn;
      conn.fd = fd;
      conn.group = g;
      conn.first = first;
      conns_.push_back(std::move(conn));
      ++figures_[g].opened;
    }
  }
}

FlowLoad::~FlowLoad() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  for (const Conn& c : conns_) close(c.fd);
}

int FlowLoad::opened(const std::string& group) const {
  for (std::size_t g = 0; g < groups_.size(); ++g)
    if (groups_[g].name == group) return figures_[g].opened;
  return 0;
}

void FlowLoad::start(std::chrono::milliseconds interval, std::chrono::seconds max_run) {
  thread_ = std::thread([this, interval, max_run] { run(interval, max_run); });
}

void FlowLoad::send_who(Conn& c, std::chrono::steady_clock::time_point now) {
  if (send(c.fd, "WHO\n", 4, MSG_NOSIGNAL | MSG_DONTWAIT) != 4) {
    if (errno == EAGAIN) return;  // the send buffer is full: try again later
    c.dead = true;
    ++figures_[c.group].reset;
    ++resets_;
    return;
  }
  c.pending = true;
  c.sent = now;
}

bool FlowLoad::read_answers(Conn& c, std::chrono::steady_clock::time_point now) {
  char buf[1024];
  for (;;) {
    const ssize_t n = recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      c.buffer.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    c.dead = true;  // reset, or closed by the other end
    ++figures_[c.group].reset;
    ++resets_;
    return false;
  }
  for (std::size_t nl; (nl = c.buffer.find('\n')) != std::string::npos;) {
    const std::string line = c.buffer.substr(0, nl);
    c.buffer.erase(0, nl + 1);
    if (sandbox_of(line) != c.first) ++figures_[c.group].moved;
    ++figures_[c.group].exchanges;
    figures_[c.group].longest_wait_ms = std::max(figures_[c.group].longest_wait_ms, ms_between(c.sent, now));
    c.pending = false;
    c.answered = now;
  }
  return true;
}

void FlowLoad::run(std::chrono::milliseconds interval, std::chrono::seconds max_run) {
  const auto deadline = std::chrono::steady_clock::now() + max_run;
  std::vector<pollfd> fds;
  std::vector<std::size_t> which;
  while (!stop_ && std::chrono::steady_clock::now() < deadline) {
    auto now = std::chrono::steady_clock::now();
    fds.clear();
    which.clear();
    for (std::size_t i = 0; i < conns_.size(); ++i) {
      Conn& c = conns_[i];
      if (c.dead) continue;
      if (!c.pending && now - c.answered >= interval) send_who(c, now);
      if (c.dead) continue;
      fds.push_back({c.fd, POLLIN, 0});
      which.push_back(i);
    }
    if (fds.empty()) break;
    if (poll(fds.data(), fds.size(), 5) <= 0) continue;
    now = std::chrono::steady_clock::now();
    for (std::size_t k = 0; k < fds.size(); ++k)
      if (fds[k].revents) read_answers(conns_[which[k]], now);
  }
  // Waits still open at the end count as waits too.
  const auto now = std::chrono::steady_clock::now();
  for (Conn& c : conns_)
    if (!c.dead && c.pending)
      figures_[c.group].longest_wait_ms = std::max(figures_[c.group].longest_wait_ms, ms_between(c.sent, now));
}

std::vector<std::pair<std::string, FlowFigures>> FlowLoad::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  // The final check: one more answer from every live connection (after any still pending).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  for (Conn& c : conns_)
    if (!c.dead && !c.pending) send_who(c, std::chrono::steady_clock::now());
  for (;;) {
    std::vector<pollfd> fds;
    std::vector<std::size_t> which;
    for (std::size_t i = 0; i < conns_.size(); ++i)
      if (!conns_[i].dead && conns_[i].pending) {
        fds.push_back({conns_[i].fd, POLLIN, 0});
        which.push_back(i);
      }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (fds.empty() || left.count() <= 0) break;
    if (poll(fds.data(), fds.size(), static_cast<int>(left.count())) <= 0) continue;
    for (std::size_t k = 0; k < fds.size(); ++k)
      if (fds[k].revents) read_answers(conns_[which[k]], std::chrono::steady_clock::now());
  }
  for (const Conn& c : conns_)
    if (!c.dead && c.pending) ++figures_[c.group].silent_at_end;
  std::vector<std::pair<std::string, FlowFigures>> out;
  for (std::size_t g = 0; g < groups_.size(); ++g) out.emplace_back(groups_[g].name, figures_[g]);
  return out;
}

}  // namespace portway::itest
