// A rejected apply leaves the store exactly as it was (docs/model.md "Entities and who
// writes them"), also when the process dies
// in the middle of one. Each test forks a child that writes through the real store and dies
// at a chosen point (_exit inside apply, or SIGKILL from outside while it holds the write
// lock); the parent then reopens the file and checks that nothing half-applied is visible and
// that the store is writable at once (no stale lock).
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "model/app_ops.h"
#include "model_support/app_text.h"
#include "model_support/faulty_store.h"
#include "model_support/fixtures.h"

namespace portway::store {
namespace {

using namespace std::chrono_literals;
using testing::StoreTest;

const std::string kV1 = testing::app_text("game", {{"server", 27015, "game", "udp", 27015}});

// v2 changes server's ports, adds two Services and a claim: several put_service calls.
const std::string kV2 = testing::app_text("game", {{"server", 27016, "game", "udp", 27016},
                                                   {"query", 27020, "query", "tcp"},
                                                   {"rcon", 27030, "rcon", "tcp", 27030}});

struct Everything {
  std::vector<AppRecord> apps;
  std::vector<ServiceRecord> services;
  std::vector<NodePortClaim> claims;
  std::vector<SandboxRecord> sandboxes;
  std::uint64_t generation;
  bool operator==(const Everything&) const = default;
};

Everything everything(Store& s) {
  auto tx = s.begin_read();
  return {tx->apps(), tx->services(), tx->claims(), tx->sandboxes(), tx->generation()};
}


class CrashTest : public StoreTest {
 protected:
  // A test that stops early (a failed ASSERT, an exception) must not leave its child behind:
  // one paused while holding the write lock would also keep ctest waiting on its output.
  void TearDown() override {
    if (child_ > 0) {
      ::kill(child_, SIGKILL);
      ::waitpid(child_, nullptr, 0);
    }
    StoreTest::TearDown();
  }

  // The child must not share the parent's connection (a forked SQLite connection is not
  // usable in both processes): it is closed around the fork and the test reopens the store
  // once the child is done.
  template <class Child>
  pid_t fork_child(Child child) {
    store_.reset();
    const pid_t pid = ::fork();
    if (pid == 0) {
      try {
        child();
      } catch (...) {
        ::_exit(90);
      }
      ::_exit(91);
    }
    child_ = pid;
    return pid;
  }

  int wait_for(pid_t pid) {
    int status = 0;
    EXPECT_EQ(::waitpid(pid, &status, 0), pid);
    if (pid == child_) child_ = -1;
    return status;
  }

  void reopen() {
    store_.reset();
    store_ = SqliteStore::open(path_);
  }

  pid_t child_ = -1;  // forked and not yet reaped

  void expect_writable_now() {
    auto quick = SqliteStore::open(path_, {.create = false, .busy_timeout = 10ms});
    auto tx = quick->begin_write();
    tx->put_sandbox({"probe", "a", "s", {}, testing::ip4("198.18.9.9"), {}, "", SandboxState::running, 1});
    tx->commit();
  }
};

TEST_F(CrashTest, DyingInsideApplyLeavesThePreviousApply) {
  apply(kV1);
  const Everything before = everything(*store_);
  ASSERT_EQ(before.services.size(), 1u);

  const std::string path = path_;
  const auto pools = pools_;
  const pid_t pid = fork_child([&] {
    auto real = SqliteStore::open(path);
    testing::FaultyStore faulty(*real);
    // Die after the app record, the claims and the first Service were written.
    faulty.before_put_service = [&](const ServiceRecord&) {
      if (faulty.put_service_calls == 2) ::_exit(7);
    };
    auto tx = faulty.begin_write();
    model::apply_app(*tx, kV2, testing::parse_app(kV2), pools, 2000);
    tx->commit();
  });
  const int status = wait_for(pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 7) << "the child must die inside apply, not finish it";
  reopen();

  EXPECT_EQ(everything(*store_), before);
  expect_writable_now();
  // And the interrupted apply can simply be run again.
  EXPECT_EQ(apply(kV2).services.size(), 3u);
  EXPECT_EQ(service("svc/game/server")->ipv4, before.services[0].ipv4) << "address kept";
}

TEST_F(CrashTest, SigkillWhileHoldingALargeWriteLeavesNothing) {
  apply(kV1);
  const Everything before = everything(*store_);

  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const std::string path = path_;
  const pid_t pid = fork_child([&] {
    ::close(ready[0]);
    auto s = SqliteStore::open(path);
    auto tx = s->begin_write();
    tx->delete_app("game");
    // Enough rows to overflow SQLite's page cache, so uncommitted pages spill into the WAL
    // file: the reader must ignore frames without a commit record.
    for (int i = 0; i < 20000; ++i) {
      tx->put_sandbox({"sb-" + std::to_string(i), "game", "server", {{"k", std::string(40, 'v')}},
                       net::Ipv4{0xC6120000u + static_cast<std::uint32_t>(i)}, {}, "veth0",
                       SandboxState::running, 1});
    }
    if (::write(ready[1], "r", 1) != 1) ::_exit(92);
    for (;;) ::pause();  // holding the write lock, uncommitted
  });
  ::close(ready[1]);
  pollfd pfd{ready[0], POLLIN, 0};
  ASSERT_EQ(::poll(&pfd, 1, 60000), 1) << "the child never got to the middle of its transaction";
  char c;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);

  struct stat wal {};
  ASSERT_EQ(::stat((path_ + "-wal").c_str(), &wal), 0);
  EXPECT_GT(wal.st_size, 256 * 1024) << "uncommitted pages should have spilled into the WAL";

  ::kill(pid, SIGKILL);
  const int status = wait_for(pid);
  ASSERT_TRUE(WIFSIGNALED(status));

  reopen();
  EXPECT_EQ(everything(*store_), before);
  expect_writable_now();
}

TEST_F(CrashTest, ACommittedApplySurvivesTheProcessDyingRightAfter) {
  const std::string path = path_;
  const auto pools = pools_;
  const pid_t pid = fork_child([&] {
    auto s = SqliteStore::open(path);
    auto tx = s->begin_write();
    model::apply_app(*tx, kV1, testing::parse_app(kV1), pools, 2000);
    tx->commit();
    ::raise(SIGKILL);  // no close, no checkpoint: the commit lives only in the WAL
  });
  ASSERT_TRUE(WIFSIGNALED(wait_for(pid)));
  reopen();
  ASSERT_TRUE(service("svc/game/server"));
  EXPECT_EQ(claims().size(), 1u);
}

}  // namespace
}  // namespace portway::store
