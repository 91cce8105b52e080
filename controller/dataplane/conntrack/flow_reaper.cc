#include "dataplane/conntrack/flow_reaper.h"

#include <spdlog/spdlog.h>

namespace portway::dataplane::conntrack {

FlowReaper::FlowReaper(std::unique_ptr<ConntrackTable> table)
    : table_(std::move(table)), worker_([this] { run(); }) {}

FlowReaper::~FlowReaper() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  worker_.join();
}

void FlowReaper::submit(std::vector<FlowMatch> matches) {
  if (matches.empty()) return;
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(matches));
    ++submitted_;
  }
  cv_.notify_all();
}

void FlowReaper::drain() {
  std::unique_lock lock(mu_);
  const std::size_t target = submitted_;
  cv_.wait(lock, [&] { return done_ >= target; });
}

std::size_t FlowReaper::ended() const {
  std::lock_guard lock(mu_);
  return ended_;
}

void FlowReaper::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stop_ with nothing left
    // Everything queued so far in one table walk.
    std::vector<FlowMatch> batch;
    std::size_t taken = 0;
    while (!queue_.empty()) {
      auto& m = queue_.front();
      batch.insert(batch.end(), m.begin(), m.end());
      queue_.pop_front();
      ++taken;
    }
    lock.unlock();
    std::size_t n = 0;
    try {
      n = table_->delete_flows(batch);
    } catch (const std::exception& e) {
      spdlog::warn("conntrack: could not end the flows of removed backends: {}", e.what());
    }
    lock.lock();
    ended_ += n;
    done_ += taken;
    cv_.notify_all();
  }
}

}  // namespace portway::dataplane::conntrack
