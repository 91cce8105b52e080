#include "private_netns.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>

#include "dataplane/nft/nft_context.h"

namespace portway::dataplane::nft::testing {
namespace {

void write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
  if (!f.flush()) throw std::system_error(errno, std::generic_category(), path);
}

struct NoNamespaces : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void enter_namespaces() {
  const uid_t uid = geteuid();
  const gid_t gid = getegid();
  if (uid == 0) {
    if (unshare(CLONE_NEWNET) != 0) throw std::system_error(errno, std::generic_category(), "unshare(net)");
    return;
  }
  if (unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0)
    throw NoNamespaces(std::string("unprivileged user namespaces unavailable: ") + std::strerror(errno));
  write_file("/proc/self/setgroups", "deny");
  write_file("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1");
  write_file("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1");
}

void write_all(int fd, const std::string& s) {
  std::size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = write(fd, s.data() + off, s.size() - off);
    if (n <= 0) return;
    off += static_cast<std::size_t>(n);
  }
}

}  // namespace

ChildResult in_private_netns(const std::function<std::string()>& fn) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
  const pid_t pid = fork();
  if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (pid == 0) {
    close(fds[0]);
    char status = '1';
    std::string out;
    try {
      enter_namespaces();
      out = fn();
      status = '0';
    } catch (const NoNamespaces& e) {
      status = '2';
      out = e.what();
    } catch (const std::exception& e) {
      out = e.what();
    }
    write_all(fds[1], std::string(1, status) + out);
    _exit(0);
  }
  close(fds[1]);
  std::string all;
  char buf[65536];
  for (;;) {
    const ssize_t n = read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    all.append(buf, static_cast<std::size_t>(n));
  }
  close(fds[0]);
  int wstatus = 0;
  waitpid(pid, &wstatus, 0);
  ChildResult r;
  if (all.empty()) {
    r.output = "child died without an answer";
    return r;
  }
  r.ok = all[0] == '0';
  r.skipped = all[0] == '2';
  r.output = all.substr(1);
  return r;
}

ChildResult nft_dry_run(const std::string& text) {
  return in_private_netns([&] {
    NftContext(true).run(text);
    return std::string();
  });
}

}  // namespace portway::dataplane::nft::testing
