#include "udp_stream.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include "netlink/links.h"
#include "netlink/netns.h"

namespace portway::itest {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::string_view kTag = "PWSEQ ";

long ms(Clock::time_point origin, Clock::time_point t) {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(t - origin).count());
}

}  // namespace

std::string UdpFigures::to_string(Clock::time_point origin) const {
  std::string s = std::to_string(sent) + " sent, " + std::to_string(received) + " echoed, " + std::to_string(lost) +
                  " lost (" + std::to_string(send_errors) + " refused by the kernel), " + std::to_string(foreign) +
                  " foreign answers";
  for (const UdpGap& g : gaps)
    s += "\n    gap: " + std::to_string(g.count) + " datagrams #" + std::to_string(g.first) + " sent " +
         std::to_string(ms(origin, g.from)) + ".." + std::to_string(ms(origin, g.to)) + " ms";
  return s;
}

std::uint64_t lost_outside(const std::vector<UdpGap>& gaps, const std::vector<TimeWindow>& windows) {
  std::uint64_t out = 0;
  for (const UdpGap& g : gaps) {
    const bool inside = std::any_of(windows.begin(), windows.end(),
                                    [&](const TimeWindow& w) { return g.from >= w.first && g.to <= w.second; });
    if (!inside) out += g.count;
  }
  return out;
}

namespace {

// One counter of the calling thread's namespace: /proc/thread-self/net follows setns(), where
// /proc/self/net would show the main thread's namespace. `snmp` has a header line and a value
// line per protocol ("Udp: InDatagrams ... RcvbufErrors ..."); `snmp6` a "name value" line
// per counter.
std::uint64_t snmp_counter(const std::string& file, std::string_view protocol, std::string_view name) {
  std::ifstream in("/proc/thread-self/net/" + file);
  if (!in) throw std::system_error(errno, std::generic_category(), "read /proc/thread-self/net/" + file);
  std::string line, header;
  while (std::getline(in, line)) {
    if (protocol.empty()) {
      std::istringstream fields(line);
      std::string key;
      std::uint64_t value = 0;
      if (fields >> key >> value && key == name) return value;
      continue;
    }
    if (!line.starts_with(std::string(protocol) + ":")) continue;
    if (header.empty()) {
      header = line;
      continue;
    }
    std::istringstream names(header), values(line);
    std::string n, v;
    while (names >> n && values >> v)
      if (n == name) return std::stoull(v);
  }
  throw std::runtime_error("no counter " + std::string(name) + " in /proc/net/" + file);
}

std::uint64_t receive_buffer_drops(const std::vector<std::string>& netns) {
  std::uint64_t total = 0;
  for (const std::string& ns : netns) {
    netlink::NetnsGuard in(ns);
    total += snmp_counter("snmp", "Udp", "RcvbufErrors") + snmp_counter("snmp6", "", "Udp6RcvbufErrors");
  }
  return total;
}

std::uint64_t tx_drops(const std::string& netns, const std::string& link) {
  netlink::NetnsGuard in(netns);
  return netlink::link_drops(link).tx;
}

}  // namespace

OutsideDrops::OutsideDrops(std::string node_netns, std::string uplink, std::vector<std::string> receivers)
    : node_netns_(std::move(node_netns)), uplink_(std::move(uplink)), receivers_(std::move(receivers)),
      ring_before_(tx_drops(node_netns_, uplink_)), buffers_before_(receive_buffer_drops(receivers_)) {}

std::uint64_t OutsideDrops::client_ring() const { return tx_drops(node_netns_, uplink_) - ring_before_; }

std::uint64_t OutsideDrops::receive_buffers() const { return receive_buffer_drops(receivers_) - buffers_before_; }

std::string OutsideDrops::to_string() const {
  return "dropped outside the node: " + std::to_string(client_ring()) + " frames at the client's receive ring (" +
         uplink_ + " tx_dropped), " + std::to_string(receive_buffers()) + " datagrams at full receive buffers";
}

UdpStream::UdpStream(const std::string& netns, const std::string& addr, std::uint16_t port,
                     std::chrono::microseconds interval, std::chrono::seconds max_run) {
  capacity_ = static_cast<std::size_t>(std::chrono::duration_cast<std::chrono::microseconds>(max_run) / interval) + 1;
  sent_at_.resize(capacity_);
  echoed_.assign(capacity_, 0);
  {
    netlink::NetnsGuard in(netns);  // the socket stays in this namespace
    fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  }
  if (fd_ < 0) throw std::system_error(errno, std::system_category(), "UDP socket");
  // Room for the echoes of a whole second at 1 per ms, should the receiver be slow.
  const int buffer = 4 << 20;
  setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
  const timeval tv{0, 100000};
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  inet_pton(AF_INET, addr.c_str(), &to.sin_addr);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    const int e = errno;
    close(fd_);
    throw std::system_error(e, std::system_category(), "connect UDP to " + addr);
  }
  started_ = Clock::now();
  receiver_ = std::thread([this] { receive_loop(); });
  sender_ = std::thread([this, interval, max_run] { send_loop(interval, max_run); });
}

UdpStream::~UdpStream() {
  stop_sending_ = stop_receiving_ = true;
  if (sender_.joinable()) sender_.join();
  if (receiver_.joinable()) receiver_.join();
  close(fd_);
}

void UdpStream::send_loop(std::chrono::microseconds interval, std::chrono::seconds max_run) {
  const auto deadline = started_ + max_run;
  auto due = started_;
  for (std::uint64_t n = 0; n < capacity_ && !stop_sending_ && due < deadline; ++n) {
    std::this_thread::sleep_until(due);
    // A sender that was not scheduled for a while resumes at its pace instead of catching up:
    // a burst of the datagrams it missed would measure the veth rings, not the dataplane.
    due = std::max(due + interval, Clock::now());
    const std::string msg = std::string(kTag) + std::to_string(n);
    sent_at_[n] = Clock::now();
    // Counted before it leaves: its echo may be back before send() returns.
    sent_.store(n + 1, std::memory_order_release);
    // A connected UDP socket reports an ICMP error of an earlier datagram on the next send:
    // the one refused is counted (and lost, unless an echo came back anyway).
    if (send(fd_, msg.data(), msg.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(msg.size())) {
      ++send_errors_;
    }
  }
}

void UdpStream::receive_loop() {
  char buf[256];
  while (!stop_receiving_) {
    const ssize_t n = recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) continue;  // timeout, or an ICMP error (the send side counts those)
    const std::string_view got(buf, static_cast<std::size_t>(n));
    std::uint64_t seq = 0;
    const bool ours = got.starts_with(kTag) &&
                      std::from_chars(got.data() + kTag.size(), got.data() + got.size(), seq).ec == std::errc{} &&
                      seq < sent_.load(std::memory_order_acquire);
    if (!ours) {
      ++foreign_;
      continue;
    }
    if (!echoed_[seq]) {
      echoed_[seq] = 1;
      ++received_;
    }
  }
}

UdpFigures UdpStream::stop(std::chrono::milliseconds linger) {
  stop_sending_ = true;
  if (sender_.joinable()) sender_.join();
  const auto until = Clock::now() + linger;
  while (received_ < sent_ && Clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  stop_receiving_ = true;
  if (receiver_.joinable()) receiver_.join();
  UdpFigures f;
  f.sent = sent_;
  f.send_errors = send_errors_;
  f.received = received_;
  f.foreign = foreign_;
  for (std::uint64_t n = 0; n < f.sent; ++n) {
    if (echoed_[n]) continue;
    ++f.lost;
    if (!f.gaps.empty() && f.gaps.back().first + f.gaps.back().count == n) {
      ++f.gaps.back().count;
      f.gaps.back().to = sent_at_[n];
    } else {
      f.gaps.push_back({n, 1, sent_at_[n], sent_at_[n]});
    }
  }
  return f;
}

}  // namespace portway::itest
