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

class SqliteStore final : public Store {
 public:
  // Opens (and, with create, creates) the database, checks it is a portway database and
  // brings its schema to the current version. A foreign or newer file is refused before
  // anything is written to it. Throws StoreError (StoreMissingError: see `create`).
  static std::unique_ptr<SqliteStore> open(const std::string& path, SqliteOptions options = {});

  std::unique_ptr<Transaction> begin_read() override;
  std::unique_ptr<Transaction> begin_write() override;

  const std::string& path() const { return path_; }
  int schema_version();

 private:
  friend class SqliteTransaction;
  SqliteStore(std::string path, sqlite::Connection conn, std::uint64_t journal_generations);
  std::unique_ptr<Transaction> begin(bool write);
  sqlite::Statement& statement(std::string_view sql);  // prepared once, cached

  std::string path_;
  sqlite::Connection conn_;
  std::map<std::string, std::unique_ptr<sqlite::Statement>, std::less<>> statements_;
  std::uint64_t journal_generations_;
  bool transaction_open_ = false;
};

}  // namespace portway::store
