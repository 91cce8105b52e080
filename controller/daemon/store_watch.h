// Tells the daemon's loop that the state database may have changed: inotify on the
// database's directory, filtered to the database file and its write-ahead log. A commit by
// any process (the CLI on the same file, the API) writes the -wal file, so the loop wakes
// within milliseconds; it then compares Transaction::generation() to know whether anything
// really changed (a read or a checkpoint also touches the files). Replacing or removing the
// file (a restore from backup) shows too.
#pragma once

#include <string>

#include "loader/unique_fd.h"

namespace portway::daemon {

class StoreWatch {
 public:
  // Throws std::system_error when the directory cannot be watched (it must exist).
  explicit StoreWatch(const std::string& state_path);

  int fd() const { return fd_.get(); }

  // Reads every pending event; true when one of them concerned the database's files.
  bool drain();

 private:
  loader::UniqueFd fd_;
  std::string db_name_, wal_name_;
};

}  // namespace portway::daemon
