// Many TCP connections held open to frontends, with traffic on all of them all the time: each
// connection asks "WHO" again as soon as its previous answer arrived (and at most every
// `interval`), and every answer must come from the sandbox that answered when it was opened.
// For the dataplane-switch fault tests: a connection that is reset, answered by another
// sandbox, or silent for long is counted.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace portway::itest {

struct FlowGroup {
  std::string name;   // for messages: "client->service"
  std::string netns;  // where the connections are opened
  std::string addr;
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
  std::string to_string() const;
};

class FlowLoad {
 public:
  // Opens every group's connections one at a time, each answered before the next is opened.
  explicit FlowLoad(const std::vector<FlowGroup>& groups);
  ~FlowLoad();
  FlowLoad(const FlowLoad&) = delete;
  FlowLoad& operator=(const FlowLoad&) = delete;

  int opened(const std::string& group) const;
  // Connections reset so far, all groups (while the load runs).
  int resets() const { return resets_; }
  // Starts the traffic (bounded: it stops by itself after `max_run`).
  void start(std::chrono::milliseconds interval = std::chrono::milliseconds(50),
             std::chrono::seconds max_run = std::chrono::seconds(100));
  // Stops the traffic, then asks every connection once more; figures per group.
  std::vector<std::pair<std::string, FlowFigures>> stop();

 private:
  struct Conn {
    int fd = -1;
    std::size_t group = 0;
    std::string first;  // sandbox of the first answer
    std::string buffer;
    bool pending = false, dead = false;
    std::chrono::steady_clock::time_point sent{}, answered{};
  };
  void run(std::chrono::milliseconds interval, std::chrono::seconds max_run);
  // Reads what is there; returns false when the connection died.
  bool read_answers(Conn& c, std::chrono::steady_clock::time_point now);
  void send_who(Conn& c, std::chrono::steady_clock::time_point now);

  std::vector<FlowGroup> groups_;
  std::vector<Conn> conns_;
  std::vector<FlowFigures> figures_;
  std::atomic<bool> stop_{false};
  std::atomic<int> resets_{0};
  std::thread thread_;
};

}  // namespace portway::itest
