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

class PathFd {
 public:
  explicit PathFd(int fd) : fd_(fd) {}
  ~PathFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  PathFd(const PathFd&) = delete;
  PathFd& operator=(const PathFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// One file of the database (main file or companion). `what` names it in errors.
bool check_one(const std::string& path, const char* what) {
  // O_PATH: the descriptor reaches the inode without opening the file, so closing it drops
  // no POSIX lock (see state_file.h). O_NOFOLLOW with O_PATH opens a symlink itself, which
  // fstat then reports as one.
  PathFd fd(::open(path.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return false;
    throw StoreError("cannot open " + std::string(what) + " " + path + ": " + errno_text(errno));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    throw StoreError("cannot stat " + std::string(what) + " " + path + ": " + errno_text(errno));
  }
  if (S_ISLNK(st.st_mode)) {
    throw StoreError(std::string(what) + " " + path + " is a symlink; give the real path");
  }
  if (!S_ISREG(st.st_mode)) throw StoreError(std::string(what) + " " + path + " is not a regular file");
  const uid_t me = ::geteuid();
  if (st.st_uid != me) {
    throw StoreError(std::string(what) + " " + path + " is owned by uid " + std::to_string(st.st_uid) +
                     ", not by this user (uid " + std::to_string(me) +
                     "): the state database decides what the node forwards, so portway refuses "
                     "one another user could rewrite; chown it or give another --state");
  }
  if ((st.st_mode & 07777) != 0600) {
    // chmod through /proc/self/fd: an O_PATH descriptor cannot be fchmod()ed, and a path
    // lookup of `path` could meet a different file than the one checked above.
    const std::string by_fd = "/proc/self/fd/" + std::to_string(fd.get());
    if (::chmod(by_fd.c_str(), 0600) != 0) {
      throw StoreError("cannot restrict " + std::string(what) + " " + path +
                       " to mode 0600: " + errno_text(errno));
    }
  }
  return true;
}

}  // namespace

std::string resolve_state_path(const std::optional<std::string>& flag) {
  if (flag) return *flag;
  if (const char* env = std::getenv(kStatePathEnv); env && *env) return env;
  return kDefaultStatePath;
}

bool check_state_file(const std::string& path) {
  if (path.empty()) throw StoreError("the state database path is empty");
  if (!check_one(path, "state database")) return false;
  // SQLite creates its companions with the main file's mode and owner; these checks catch
  // ones another tool or user left behind, whose content SQLite would replay.
  for (const char* suffix : {"-wal", "-shm"}) check_one(path + suffix, "state database companion");
  return true;
}

bool create_state_file(const std::string& path) {
  if (path.empty()) throw StoreError("the state database path is empty");
  create_parents(fs::path(path).parent_path());
  // O_EXCL: the descriptor closed below is of a file this call created, so no connection of
  // this process can hold a lock on it.
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return false;
    throw StoreError("cannot create state database " + path + ": " + errno_text(errno));
  }
  ::close(fd);
  return true;
}

}  // namespace portway::store
