#include "daemon/check_worker.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>

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

}  // namespace
}  // namespace portway::daemon
