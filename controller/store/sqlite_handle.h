// RAII around the SQLite C API: a connection that closes itself, prepared statements that
// finalize themselves, and a per-use guard that resets a statement even when a step throws
// (an un-reset statement would keep a read open and block COMMIT/ROLLBACK).
// Every error becomes a StoreError carrying SQLite's message.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace portway::store::sqlite {

class Connection {
 public:
  // flags: SQLITE_OPEN_* (SQLITE_OPEN_NOFOLLOW etc.). Throws StoreError.
  Connection(const std::string& path, int flags);

  sqlite3* get() const { return db_.get(); }
  // Runs SQL that returns no rows (may hold several statements).
  void exec(const char* sql);
  // Throws StoreError (StoreBusyError for SQLITE_BUSY/LOCKED) describing `what` failed.
  [[noreturn]] void fail(int rc, std::string_view what) const;
  bool in_transaction() const { return sqlite3_get_autocommit(db_.get()) == 0; }

 private:
  struct Close {
    void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
  };
  std::unique_ptr<sqlite3, Close> db_;
  std::string path_;
};

class Statement {
 public:
  Statement(Connection& conn, std::string_view sql);

  sqlite3_stmt* get() const { return stmt_.get(); }
  Connection& connection() const { return *conn_; }
  std::string_view sql() const { return sqlite3_sql(stmt_.get()); }

 private:
  struct Finalize {
    void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
  };
  Connection* conn_;
  std::unique_ptr<sqlite3_stmt, Finalize> stmt_;
};

// One execution of a prepared statement: bind, step, read columns; reset on destruction.
// Parameters are 1-based, columns 0-based, as in SQLite.
class Use {
 public:
  explicit Use(Statement& s) : s_(&s) {}
  ~Use();
  Use(const Use&) = delete;
  Use& operator=(const Use&) = delete;

  Use& bind(int i, std::int64_t v);
  Use& bind(int i, std::string_view v);
  Use& bind_blob(int i, std::span<const std::uint8_t> v);
  Use& bind_null(int i);

  bool step();  // true: a row is ready; false: done
  void run();   // steps a statement that returns no rows to completion

  std::int64_t integer(int col) const;
  std::string text(int col) const;
  std::vector<std::uint8_t> blob(int col) const;
  bool is_null(int col) const;

 private:
  Statement* s_;
};

}  // namespace portway::store::sqlite
