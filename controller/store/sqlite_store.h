// The embedded store: one SQLite file in WAL mode (docs/model.md "The SQLite file"). Readers never
// block the writer; writers are serialized across processes by BEGIN IMMEDIATE plus a busy timeout,
// so two `portway apply` runs at once queue instead of interleaving.
//
// Not thread-safe: one SqliteStore per thread (each is one connection).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "store/sqlite_handle.h"
#include "store/store.h"

namespace portway::store {

struct SqliteOptions {
  // false: the database must exist and be initialised (StoreMissingError otherwise), and
  // opening it writes nothing; only the schema migration of an older file takes the lock.
  bool create = true;
  // How long a writer waits for the write lock (and a reader for a WAL recovery) before
  // StoreBusyError. Writers queue: thirty commands started at once on a loaded 2-core node
  // need seconds between the first and the last (docs/model.md "The SQLite file").
  std::chrono::milliseconds busy_timeout{30000};
  // How many generations the change journal keeps (docs/model.md "The change journal"): a reader
  // further behind than that compiles everything. A daemon catches up within one or a few.
  std::uint64_t journal_generations = 1000;
};

// The file every commit that changed something touches once it is visible to readers
// (docs/daemon.md "Noticing store changes"). Watchers wake on it: the -wal write that inotify
// reports comes before SQLite publishes the commit in its wal-index, so a reader woken by the
// -wal write alone can find nothing new yet.
std::string commit_marker_path(const std::string& database_path);

// True when `path` lies on a file system mounted read-only.
bool file_system_read_only(const std::string& path);

class SqliteStore final : public Store {
 public:
  // Opens (and, with create, creates) the database, checks it is a portway database and
  // brings its schema to the current version. A foreign or newer file is refused before
  // anything is written to it. Throws StoreError (StoreMissingError: see `create`).
  // On a read-only file system the database is opened for reading only (nothing is created,
  // migrated or written; begin_write throws StoreError saying why): readers keep working.
  static std::unique_ptr<SqliteStore> open(const std::string& path, SqliteOptions options = {});

  std::unique_ptr<Transaction> begin_read() override;
  std::unique_ptr<Transaction> begin_write() override;

  const std::string& path() const { return path_; }
  // Opened on a read-only file system (see open): reopen once it is writable to see new writes.
  bool read_only() const override { return read_only_; }
  int schema_version();

 private:
  friend class SqliteTransaction;
  SqliteStore(std::string path, sqlite::Connection conn, std::uint64_t journal_generations);
  static std::unique_ptr<SqliteStore> open_read_only(const std::string& path, SqliteOptions options);
  static void create_initialised(const std::string& path, const SqliteOptions& options);
  std::unique_ptr<Transaction> begin(bool write);
  sqlite::Statement& statement(std::string_view sql);  // prepared once, cached
  // Touches commit_marker_path(path_); best effort (a watcher that misses it re-reads).
  void announce_commit() noexcept;

  std::string path_;
  sqlite::Connection conn_;
  std::map<std::string, std::unique_ptr<sqlite::Statement>, std::less<>> statements_;
  std::uint64_t journal_generations_;
  bool transaction_open_ = false;
  bool read_only_ = false;
};

}  // namespace portway::store
