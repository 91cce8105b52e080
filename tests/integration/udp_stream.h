// A UDP stream with sequence numbers through a frontend, for the fault tests that must show
// no datagram is lost while the controller dies or is replaced: one datagram "PWSEQ <n>" every
// `interval` from a connected socket, echoed by the sandbox's test app, and every echo
// accounted for. Lost datagrams are grouped into gaps (runs of consecutive sequence numbers)
// with the moments they were sent, so a test can tell losses inside a window it expects
// (a kill and restart) from losses anywhere else.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace portway::itest {

struct UdpGap {
  std::uint64_t first = 0, count = 0;  // sequence numbers first .. first + count - 1
  std::chrono::steady_clock::time_point from{}, to{};  // when the first and last were sent
};

struct UdpFigures {
  std::uint64_t sent = 0;      // datagrams handed to the kernel
  std::uint64_t send_errors = 0;  // sends the kernel refused (an ICMP error came back)
  std::uint64_t received = 0;  // distinct echoes
  std::uint64_t lost = 0;      // sent (or refused) and never echoed
  std::uint64_t foreign = 0;   // answers that were not an echo of ours
  std::vector<UdpGap> gaps;
  std::string to_string(std::chrono::steady_clock::time_point origin) const;
};

using TimeWindow = std::pair<std::chrono::steady_clock::time_point, std::chrono::steady_clock::time_point>;

// Datagrams of `gaps` sent outside every window (a datagram sent before a window opened but
// lost in it counts as outside: windows are taken as given, callers pad them if they want).
std::uint64_t lost_outside(const std::vector<UdpGap>& gaps, const std::vector<TimeWindow>& windows);

// Drops the kernel counted outside the node's dataplane while a UDP stream ran, to tell them
// from the dataplane's own:
//   - frames the node's uplink could not hand to the client's receive ring: the lab client's
//     veth end carries an XDP program (lab/xdp_pass.h), so it receives through a 256-frame
//     NAPI ring, which overflows when the CPU its NAPI runs on is busy elsewhere (the uplink's
//     tx_dropped counts them; a real uplink is a NIC with rings of thousands);
//   - datagrams a receiving socket had no room for (Udp RcvbufErrors, Udp6RcvbufErrors) in the
//     client and sandbox namespaces: a process that did not get the CPU in time.
class OutsideDrops {
 public:
  OutsideDrops(std::string node_netns, std::string uplink, std::vector<std::string> receivers);
  std::uint64_t client_ring() const;      // since construction
  std::uint64_t receive_buffers() const;  // since construction
  std::string to_string() const;

 private:
  std::string node_netns_, uplink_;
  std::vector<std::string> receivers_;
  std::uint64_t ring_before_ = 0, buffers_before_ = 0;
};

class UdpStream {
 public:
  // Starts at once; stops by itself after `max_run` (bounded in count and time).
  UdpStream(const std::string& netns, const std::string& addr, std::uint16_t port,
            std::chrono::microseconds interval = std::chrono::microseconds(1000),
            std::chrono::seconds max_run = std::chrono::seconds(100));
  ~UdpStream();
  UdpStream(const UdpStream&) = delete;
  UdpStream& operator=(const UdpStream&) = delete;

  std::chrono::steady_clock::time_point started() const { return started_; }
  std::uint64_t sent() const { return sent_; }
  std::uint64_t received() const { return received_; }
  // Stops sending, waits `linger` for late echoes, and counts.
  UdpFigures stop(std::chrono::milliseconds linger = std::chrono::milliseconds(500));

 private:
  void send_loop(std::chrono::microseconds interval, std::chrono::seconds max_run);
  void receive_loop();

  int fd_ = -1;
  std::size_t capacity_ = 0;
  std::vector<std::chrono::steady_clock::time_point> sent_at_;  // by sequence number
  std::vector<char> echoed_;                                      // by sequence number
  std::chrono::steady_clock::time_point started_{};
  std::atomic<std::uint64_t> sent_{0}, received_{0}, foreign_{0}, send_errors_{0};
  std::atomic<bool> stop_sending_{false}, stop_receiving_{false};
  std::thread sender_, receiver_;
};

}  // namespace portway::itest
