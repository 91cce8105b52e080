#include "daemon/store_watch.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <system_error>

namespace portway::daemon {

StoreWatch::StoreWatch(const std::string& state_path) {
  const std::filesystem::path path(state_path);
  db_name_ = path.filename().string();
  wal_name_ = db_name_ + "-wal";
  fd_ = loader::UniqueFd(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!fd_) throw std::system_error(errno, std::generic_category(), "inotify");
  const std::string dir = path.has_parent_path() ? path.parent_path().string() : ".";
  // IN_MODIFY: a commit appends to the -wal file (or, without WAL, writes the database);
  // the rest: the file replaced, created, removed or its mode changed.
  const std::uint32_t mask = IN_MODIFY | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_TO |
                             IN_MOVED_FROM | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF;
  if (::inotify_add_watch(fd_.get(), dir.c_str(), mask) < 0)
    throw std::system_error(errno, std::generic_category(), "watching " + dir + " for store changes");
}

bool StoreWatch::drain() {
  bool relevant = false;
  alignas(inotify_event) char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd_.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      throw std::system_error(errno, std::generic_category(), "reading store change events");
    }
    if (n == 0) break;
    for (ssize_t at = 0; at < n;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(buf + at);
      // IN_Q_OVERFLOW: events were lost, so assume the store changed.
      if (ev->mask & (IN_Q_OVERFLOW | IN_DELETE_SELF | IN_MOVE_SELF)) relevant = true;
      if (ev->len > 0) {
        const std::string name(ev->name);
        if (name == db_name_ || name == wal_name_) relevant = true;
      }
      at += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
    }
  }
  return relevant;
}

}  // namespace portway::daemon
