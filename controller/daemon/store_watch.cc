#include "daemon/store_watch.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <system_error>

#include "store/sqlite_store.h"

namespace portway::daemon {

StoreWatch::StoreWatch(const std::string& state_path) {
  const std::filesystem::path path(state_path);
  db_name_ = path.filename().string();
  wal_name_ = db_name_ + "-wal";
  marker_name_ = std::filesystem::path(store::commit_marker_path(state_path)).filename().string();
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

StoreWatch::Change StoreWatch::drain() {
  Change change = Change::kNone;
  const auto note = [&](Change c) { change = std::max(change, c); };
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
      if (ev->mask & (IN_Q_OVERFLOW | IN_DELETE_SELF | IN_MOVE_SELF)) note(Change::kCommitted);
      if (ev->len > 0) {
        const std::string name(ev->name);
        // The database file itself created, replaced or removed: a restore, visible at once.
        if (name == db_name_ && (ev->mask & (IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM)))
          note(Change::kCommitted);
        else if (name == db_name_ || name == wal_name_)
          note(Change::kWritten);
        else if (name == marker_name_)
          note(Change::kCommitted);
      }
      at += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
    }
  }
  return change;
}

}  // namespace portway::daemon
