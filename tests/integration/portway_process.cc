#include "portway_process.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace portway::itest {
namespace {

std::string read_all(int fd) {
  std::string out;
  if (::lseek(fd, 0, SEEK_SET) != 0) return out;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "portway_process fd");
  }
  ~Fd() { ::close(fd_); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Between fork and exec: only async-signal-safe calls (other test threads may hold locks).
[[noreturn]] void exec_child(const PortwayRun& run, const char* binary, char* const* argv,
                             char* const* envp, int out, int err) {
  if (::dup2(out, 1) < 0 || ::dup2(err, 2) < 0) ::_exit(120);
  if (run.netns_fd >= 0 && ::setns(run.netns_fd, CLONE_NEWNET) != 0) ::_exit(121);
  if (run.fresh_netns && ::unshare(CLONE_NEWNET) != 0) ::_exit(122);
  if (run.hide_var_lib) {
    if (::unshare(CLONE_NEWNS) != 0) ::_exit(123);
    // Private first, so the tmpfs below never propagates to the node's mounts.
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) ::_exit(124);
    if (::mount("tmpfs", "/var/lib", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") != 0) ::_exit(125);
  }
  ::execve(binary, argv, envp);
  ::_exit(126);
}

}  // namespace

std::string PortwayResult::describe() const {
  if (timed_out) return "timed out (killed)";
  if (signal != 0) return "killed by signal " + std::to_string(signal) + ": " + err;
  return "exit " + std::to_string(exit_code) + ": " + err;
}

PortwayResult run_portway(const std::string& binary, const PortwayRun& run) {
  std::vector<std::string> argv_text{binary};
  argv_text.insert(argv_text.end(), run.args.begin(), run.args.end());
  std::vector<char*> argv, envp;
  for (auto& a : argv_text) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_text = run.env;
  for (auto& e : env_text) envp.push_back(e.data());
  envp.push_back(nullptr);

  Fd out(::memfd_create("portway-out", MFD_CLOEXEC));
  Fd err(::memfd_create("portway-err", MFD_CLOEXEC));
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (pid == 0) exec_child(run, binary.c_str(), argv.data(), envp.data(), out.get(), err.get());

  PortwayResult r;
  Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  pollfd p{pidfd.get(), POLLIN, 0};
  const int ready = ::poll(&p, 1, static_cast<int>(run.timeout.count()));
  if (ready == 0) {
    ::kill(pid, SIGKILL);
    r.timed_out = true;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  r.out = read_all(out.get());
  r.err = read_all(err.get());
  return r;
}

OwnNetns::OwnNetns() {
  int err = 0;
  // On a thread of its own: CLONE_NEWNET applies to the calling thread only, and this thread
  // ends right after, so no test thread ever leaves its namespace.
  std::thread([&] {
    if (::unshare(CLONE_NEWNET) != 0) {
      err = errno;
      return;
    }
    fd_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) err = errno;
  }).join();
  if (fd_ < 0) throw std::system_error(err, std::generic_category(), "a network namespace for the test");
}

OwnNetns::~OwnNetns() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace portway::itest
