#include "lab/node_file_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "config/node_settings_toml.h"

namespace portway::lab {
namespace {

[[noreturn]] void fail(const std::string& what, const std::string& path) {
  throw std::runtime_error("cannot " + what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

std::string node_file_text(const config::NodeSettings& settings) {
  return "# written by portway lab: the lab node's settings\n" + config::to_toml(settings);
}

void write_node_file(const std::string& path, const config::NodeSettings& settings) {
  const std::string text = node_file_text(settings);
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) fail("create", tmp);
  bool ok = ::fchmod(fd, 0600) == 0;
  for (std::size_t done = 0; ok && done < text.size();) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<std::size_t>(n);
  }
  const int saved = errno;
  if (::close(fd) != 0 && ok) ok = false;
  else errno = saved;
  if (!ok) {
    const int e = errno;
    ::unlink(tmp.c_str());
    errno = e;
    fail("write", tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    errno = e;
    fail("replace", path);
  }
}

}  // namespace portway::lab
