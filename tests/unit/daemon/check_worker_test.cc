#include "daemon/check_worker.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace portway::daemon {
namespace {

// The check's read must yield the cores to the loop: its thread runs at nice 19 while the
// caller's priority is untouched.
TEST(CheckWorkerTest, ReadsAtTheLowestPriorityAndLeavesTheCallersAlone) {
  errno = 0;
  const int caller_before = ::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()));
  ASSERT_EQ(errno, 0);
  CheckWorker worker;
  const pid_t tid = worker.thread_id();
  ASSERT_GT(tid, 0);
  EXPECT_NE(tid, ::gettid());
  errno = 0;
  EXPECT_EQ(::getpriority(PRIO_PROCESS, static_cast<id_t>(tid)), 19);
  EXPECT_EQ(errno, 0);
  EXPECT_EQ(::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid())), caller_before);
}


// Resident kB of this process (VmRSS).
long rss_kb() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

// A reading made of many small heap blocks, as a dump of 10,000 Services is.
class BigReading : public dataplane::KernelReading {
 public:
  explicit BigReading(std::size_t blocks) {
    for (std::size_t i = 0; i < blocks; ++i) {
      chunks_.emplace_back(new char[1000]);
      std::memset(chunks_.back().get(), 1, 1000);  // resident
    }
  }

 private:
  std::vector<std::unique_ptr<char[]>> chunks_;
};

// glibc keeps freed heap mapped while anything above it is in use (the fence here; the
// daemon's long-lived state in practice): a discarded reading's pages must still go back.
TEST(CheckWorkerTest, ADiscardedReadingsPagesGoBackToTheKernel) {
  CheckWorker worker;
  auto reading = std::make_unique<BigReading>(100000);  // ~100 MB
  auto fence = std::make_unique<char[]>(1000);
  std::memset(fence.get(), 1, 1000);
  const long with = rss_kb();
  ASSERT_GT(with, 100000);
  worker.discard(std::move(reading));
  bool fell = false;
  for (int i = 0; i < 100 && !fell; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    fell = rss_kb() < with - 60000;
  }
  EXPECT_TRUE(fell) << "RSS " << with << " kB with the reading, " << rss_kb() << " kB after discarding it";
}

}  // namespace
}  // namespace portway::daemon
