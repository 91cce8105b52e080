// Every failure a command can raise becomes one message line and an exit code of 1 or 2;
// nothing escapes run_reporting_errors (docs/operations.md "Exit codes").
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "cli/command_line.h"
#include "cli/error_report.h"
#include "cli/exit_codes.h"
#include "loader/error.h"
#include "model/errors.h"
#include "netlink/netlink_socket.h"
#include "store/store.h"

namespace portway::cli {
namespace {

struct Reported {
  int code;
  std::string err;
};

template <typename Throw>
Reported report(Throw&& thrower) {
  std::ostringstream err;
  const int code = run_reporting_errors("stats", [&]() -> int { thrower(); return 0; }, err);
  return {code, err.str()};
}

TEST(ErrorReport, EveryErrorTypeMapsToItsExitCodeWithOneLine) {
  struct Case {
    const char* name;
    std::function<void()> raise;
    int code;
    const char* message;
  } const cases[] = {
      {"usage", [] { throw UsageError("unknown flag --x"); }, 2,
       "portway stats: unknown flag --x (see portway stats --help)\n"},
      {"environment", [] { throw EnvironmentError("no dataplane"); }, 2, "portway stats: no dataplane\n"},
      {"rejected", [] { throw RejectedError("conflict"); }, 1, "portway stats: conflict\n"},
      {"rejected, already printed", [] { throw RejectedError(""); }, 1, ""},
      {"store", [] { throw store::StoreError("locked"); }, 2, "portway stats: locked\n"},
      {"netlink", [] { throw netlink::NetlinkError("dump links", ENOBUFS); }, 2,
       "portway stats: dump links: No buffer space available\n"},
      {"allocation", [] { throw model::AllocationError("pool full"); }, 1, "portway stats: pool full\n"},
      {"any std::exception", [] { throw std::out_of_range("vector"); }, 2, "portway stats: vector\n"},
      {"newlines are folded", [] { throw std::runtime_error("one\ntwo\n"); }, 2, "portway stats: one two\n"},
      {"not an exception", [] { throw 42; }, 2, "portway stats: failed with an error of unknown type\n"},
  };
  for (const Case& c : cases) {
    const Reported r = report(c.raise);
    EXPECT_EQ(r.code, c.code) << c.name;
    EXPECT_EQ(r.err, c.message) << c.name;
  }
}

TEST(ErrorReport, EveryReasonOfARejectionIsItsOwnLine) {
  const Reported r = report([] { throw model::Rejected(std::vector<std::string>{"a: bad", "b: worse"}); });
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "portway stats: a: bad\nportway stats: b: worse\n");
}

TEST(ErrorReport, PermissionFailuresSayWhatPortwayNeeds) {
  const Reported sys = report([] {
    throw std::system_error(EPERM, std::generic_category(), "nf_tables answer");
  });
  EXPECT_EQ(sys.code, 2);
  EXPECT_NE(sys.err.find("CAP_NET_ADMIN"), std::string::npos) << sys.err;
  EXPECT_EQ(std::count(sys.err.begin(), sys.err.end(), '\n'), 1) << sys.err;

  const Reported bpf = report([] { throw loader::Error("create map", -EPERM); });
  EXPECT_EQ(bpf.code, 2);
  EXPECT_NE(bpf.err.find("CAP_BPF"), std::string::npos) << bpf.err;

  // Other errnos get no privilege hint: it would send the user the wrong way.
  const Reported other = report([] { throw loader::Error("create map", -ENOMEM); });
  EXPECT_EQ(other.err.find("CAP_BPF"), std::string::npos) << other.err;
}

TEST(ErrorReport, TerminateExitsTwoWithAMessageInsteadOfAborting) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::dup2(fds[1], STDERR_FILENO);
    exit_instead_of_abort_on_terminate();
    // An exception escaping a thread calls std::terminate.
    std::thread([] { throw std::runtime_error("escaped"); }).join();
    ::_exit(98);
  }
  ::close(fds[1]);
  std::string err;
  char buf[256];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) err.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "died by signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  EXPECT_EQ(WEXITSTATUS(status), 2);
  EXPECT_EQ(err, "portway: internal error, stopping: escaped\n");
}

}  // namespace
}  // namespace portway::cli
