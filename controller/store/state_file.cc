#include "store/state_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "store/store.h"

namespace portway::store {
namespace {

namespace fs = std::filesystem;

std::string errno_text(int err) { return std::strerror(err); }

void create_parents(const fs::path& dir) {
  if (dir.empty()) return;
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return;
  create_parents(dir.parent_path());
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    throw StoreError("cannot create state directory " + dir.string() + ": " + errno_text(errno));
  }
}

void restrict_fd(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw StoreError("cannot stat " + path + ": " + errno_text(errno));
  if (!S_ISREG(st.st_mode)) throw StoreError(path + " is not a regular file");
  if ((st.st_mode & 0777) != 0600 && ::fchmod(fd, 0600) != 0) {
    throw StoreError("cannot restrict " + path + " to mode 0600: " + errno_text(errno));
  }
}

}  // namespace

std::string resolve_state_path(const std::optional<std::string>& flag) {
  if (flag) return *flag;
  if (const char* env = std::getenv(kStatePathEnv); env && *env) return env;
  return kDefaultStatePath;
}

void prepare_state_file(const std::string& path) {
  if (path.empty()) throw StoreError("the state database path is empty");
  create_parents(fs::path(path).parent_path());
  // O_NONBLOCK: a FIFO at that path must fail the regular-file check, not hang the open.
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW, 0600);
  if (fd < 0) {
    const int err = errno;
    if (err == ELOOP) throw StoreError("state database " + path + " is a symlink; give the real path");
    throw StoreError("cannot open state database " + path + ": " + errno_text(err));
  }
  try {
    restrict_fd(fd, path);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
}

void restrict_companion_files(const std::string& path) {
  for (const char* suffix : {"-wal", "-shm"}) {
    const std::string companion = path + suffix;
    const int fd = ::open(companion.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) continue;  // not created yet: SQLite will copy the main file's mode
    try {
      restrict_fd(fd, companion);
    } catch (...) {
      ::close(fd);
      throw;
    }
    ::close(fd);
  }
}

}  // namespace portway::store
