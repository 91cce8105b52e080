#include "lab/cgroup_dir.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <sstream>
#include <system_error>
#include <thread>
#include <utility>

#include "loader/cgroup_link.h"

namespace portway::lab {

std::string cgroup_path_for(const std::string& name) {
  const auto root = loader::cgroup2_mount();
  return root ? *root + "/portway-" + name : std::string{};
}

CgroupDir::CgroupDir(std::string path) : path_(std::move(path)) {
  if (mkdir(path_.c_str(), 0755) != 0 && errno != EEXIST)
    throw std::system_error(errno, std::generic_category(), "create cgroup " + path_);
}

CgroupDir::CgroupDir(CgroupDir&& other) noexcept : path_(other.release()) {}

CgroupDir::~CgroupDir() {
  if (!path_.empty()) remove_cgroup_dir(path_);
}

std::string CgroupDir::release() { return std::exchange(path_, std::string{}); }

bool remove_cgroup_dir(const std::string& path) {
  if (path.empty()) return true;
  // A cgroup with members cannot go (EBUSY); members leave only by dying or being moved.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (true) {
    if (rmdir(path.c_str()) == 0 || errno == ENOENT) return true;
    if (errno != EBUSY || std::chrono::steady_clock::now() > deadline) return false;
    std::ifstream procs(path + "/cgroup.procs");
    for (pid_t pid; procs >> pid;) kill(pid, SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

namespace {

void write_all(int fd, const std::string& s) {
  std::size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = write(fd, s.data() + off, s.size() - off);
    if (n <= 0) return;
    off += static_cast<std::size_t>(n);
  }
}

std::string encode(const ProbeResult& r) {
  std::ostringstream o;
  o << static_cast<int>(r.status) << ' ' << r.local_port << ' ' << r.reply.size() << ' '
    << r.error.size() << '\n'
    << r.reply << r.error;
  return o.str();
}

ProbeResult decode(const std::string& s) {
  ProbeResult r;
  std::istringstream in(s);
  int status = 0;
  std::size_t reply_len = 0, error_len = 0;
  if (!(in >> status >> r.local_port >> reply_len >> error_len) || in.get() != '\n') {
    r.status = ProbeStatus::other_error;
    r.error = "probe child died without an answer";
    return r;
  }
  r.status = static_cast<ProbeStatus>(status);
  const auto body = static_cast<std::size_t>(in.tellg());
  if (body + reply_len + error_len > s.size()) {
    r.status = ProbeStatus::other_error;
    r.error = "probe child's answer cut short";
    return r;
  }
  r.reply = s.substr(body, reply_len);
  r.error = s.substr(body + reply_len, error_len);
  return r;
}

}  // namespace

ProbeResult probe_in_cgroup(const std::string& cgroup, const std::function<ProbeResult()>& probe) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
  const std::string procs = cgroup + "/cgroup.procs";
  const pid_t pid = fork();
  if (pid < 0) {
    const int err = errno;
    close(fds[0]);
    close(fds[1]);
    throw std::system_error(err, std::generic_category(), "fork");
  }
  if (pid == 0) {
    close(fds[0]);
    ProbeResult r;
    // "0" moves the writing process; only then does the socket it creates belong here.
    std::ofstream join(procs);
    join << 0 << std::flush;
    if (!join) {
      r.error = "cannot join cgroup " + cgroup;
    } else {
      try {
        r = probe();
      } catch (const std::exception& e) {
        r.status = ProbeStatus::other_error;
        r.error = e.what();
      }
    }
    write_all(fds[1], encode(r));
    _exit(0);
  }
  close(fds[1]);
  std::string answer;
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    answer.append(buf, static_cast<std::size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return decode(answer);
}

}  // namespace portway::lab
