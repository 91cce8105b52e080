// Tells the daemon's loop that the state database may have changed: inotify on the
// database's directory, filtered to the database file, its write-ahead log and its commit
// marker (store/sqlite_store.h). portway's own writers touch the marker once a commit is
// visible, so a wake on it finds the new generation at once. Any other writer (the sqlite3
// shell) shows only as a -wal write, which comes just before the commit is visible: the loop
// then reads again a little later. It compares Transaction::generation() to know whether
// anything really changed (a read or a checkpoint also touches the files). Replacing or
// removing the file (a restore from backup) shows too.
#pragma once

#include <string>

#include "loader/unique_fd.h"

namespace portway::daemon {

class StoreWatch {
 public:
  // Throws std::system_error when the directory cannot be watched (it must exist).
  explicit StoreWatch(const std::string& state_path);

  int fd() const { return fd_.get(); }

  enum class Change {
    kNone,       // nothing about the database's files
    kWritten,    // its files were written: a commit may be about to become visible
    kCommitted,  // a commit is visible (the marker was touched), or the file was replaced
  };
  // Reads every pending event and says what they mean together.
  Change drain();

 private:
  loader::UniqueFd fd_;
  std::string db_name_, wal_name_, marker_name_;
};

}  // namespace portway::daemon
