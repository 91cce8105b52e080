// Many TCP connections held open to frontends, with traffic on all of them all the time: each
// connection asks "WHO" again once its previous answer arrived and `interval` has passed, and
// every answer must come from the sandbox that answered when it was opened. For the fault
// tests (dataplane switches, daemon kills and upgrades): a connection that is reset, answered
// by another sandbox, or silent for long is counted.
//
// Scales to 10,000 connections and more: one epoll set, and a queue of connections ordered by
// when they are due to ask again (no pass over every connection per wake-up). The caller
// raises RLIMIT_NOFILE (raise_fd_limit) and keeps the count within the client's ephemeral
// ports (every connection binds a source port of its own).
#pragma once

#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <thread>
#include <vector>

namespace portway::itest {

struct FlowGroup {
  std::string name;   // for messages: "client->service"
  std::string netns;  // where the connections are opened
  std::string addr;   // IPv4 or IPv6, as text
  std::uint16_t port = 0;
  int count = 0;
};

struct FlowFigures {
  int opened = 0;
  int reset = 0;            // reset or closed by the other end
  int moved = 0;            // an answer from another sandbox than the first one
  long exchanges = 0;       // answers received while the load ran
  double longest_wait_ms = 0;  // longest time a connection waited for an answer
  int silent_at_end = 0;    // no answer to the final check within 3 s
  // The silent connections as "local -> peer" (the kernel's view of the socket), for the
  // dataplane's tables to be searched when a test fails.
  std::vector<std::string> silent;
  // Connections that no longer work as they did when opened (reset, moved or silent).
  int lost() const { return reset + moved + silent_at_end; }
  std::string to_string() const;
};

// Raises this process's soft RLIMIT_NOFILE to `wanted` (capped at the hard limit); returns the
// new soft limit. Children started afterwards (the sandboxes' test apps) inherit it.
rlim_t raise_fd_limit(rlim_t wanted);

class FlowLoad {
 public:
  // Opens every group's connections one at a time, each answered before the next is opened;
  // gives up opening after `open_for` (opened() then says how many there are).
  explicit FlowLoad(const std::vector<FlowGroup>& groups,
                    std::chrono::seconds open_for = std::chrono::seconds(60));
  ~FlowLoad();
  FlowLoad(const FlowLoad&) = delete;
  FlowLoad& operator=(const FlowLoad&) = delete;

  int opened(const std::string& group) const;
  int opened() const { return static_cast<int>(conns_.size()); }
  // Connections reset so far, all groups (while the load runs).
  int resets() const { return resets_; }
  // Answers received so far, all groups (while the load runs).
  long exchanges() const { return exchanges_; }
  // Starts the traffic (bounded: it stops by itself after `max_run`).
  void start(std::chrono::milliseconds interval = std::chrono::milliseconds(50),
             std::chrono::seconds max_run = std::chrono::seconds(100));
  // Stops the traffic, then asks every connection once more; figures per group.
  std::vector<std::pair<std::string, FlowFigures>> stop();

 private:
  using Clock = std::chrono::steady_clock;
  struct Conn {
    int fd = -1;
    std::size_t group = 0;
    std::string first;  // sandbox of the first answer
    std::string buffer;
    bool pending = false, dead = false;
    Clock::time_point sent{};
  };
  void run(std::chrono::milliseconds interval, std::chrono::seconds max_run);
  // Reads what is there; returns true when an answer completed.
  bool read_answers(Conn& c, Clock::time_point now);
  void send_who(Conn& c, Clock::time_point now);
  void mark_dead(Conn& c);
  // Waits for the answers of every pending connection, at most until `deadline`.
  void drain(Clock::time_point deadline);

  std::vector<FlowGroup> groups_;
  std::vector<Conn> conns_;
  std::vector<FlowFigures> figures_;
  int epoll_ = -1;
  std::deque<std::pair<Clock::time_point, std::size_t>> due_;  // (when, connection), in order
  std::atomic<bool> stop_{false};
  std::atomic<int> resets_{0};
  std::atomic<long> exchanges_{0};
  std::thread thread_;
};

}  // namespace portway::itest
