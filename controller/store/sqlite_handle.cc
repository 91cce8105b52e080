#include "store/sqlite_handle.h"

#include <cstring>

#include "store/store.h"

namespace portway::store::sqlite {
namespace {

// SQLite's own words for a file-system fault ("disk I/O error") do not say what to fix; the
// operating system's error behind it does (no space left, read-only file system).
std::string with_cause(sqlite3* db, int rc, std::string msg) {
  const int primary = rc & 0xFF;
  const int sys = db ? sqlite3_system_errno(db) : 0;
  if (primary == SQLITE_FULL) return msg + " (the file system is full: free space, then retry)";
  if (primary == SQLITE_READONLY)
    return msg + " (the database or its folder is read-only: a read-only mount or file mode)";
  if ((primary == SQLITE_IOERR || primary == SQLITE_CANTOPEN) && sys != 0) return msg + " (" + std::strerror(sys) + ")";
  return msg;
}

// A statement's first line, cut short: the message names it, it does not reprint it.
std::string shorten(std::string_view sql) {
  sql = sql.substr(0, sql.find('\n', 1));
  constexpr std::size_t kMax = 60;
  return sql.size() <= kMax ? std::string(sql) : std::string(sql.substr(0, kMax)) + "...";
}

}  // namespace

Connection::Connection(const std::string& path, int flags) : path_(path) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  db_.reset(raw);  // sqlite3_open_v2 may hand back a handle even on failure
  if (rc != SQLITE_OK) {
    std::string msg = raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    throw StoreError(with_cause(raw, rc, "cannot open state database " + path + ": " + msg));
  }
  sqlite3_extended_result_codes(raw, 1);
}

void Connection::exec(const char* sql) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db_.get(), sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    if ((rc & 0xFF) == SQLITE_BUSY || (rc & 0xFF) == SQLITE_LOCKED)
      throw StoreBusyError("state database " + path_ + " is busy: " + msg);
    throw StoreError(with_cause(db_.get(), rc, "state database " + path_ + ": " + msg + " (in: " + shorten(sql) + ")"));
  }
}

void Connection::fail(int rc, std::string_view what) const {
  const std::string msg = with_cause(db_.get(), rc, "state database " + path_ + ": " + shorten(what) + ": " +
                                                        sqlite3_errmsg(db_.get()));
  if ((rc & 0xFF) == SQLITE_BUSY || (rc & 0xFF) == SQLITE_LOCKED) {
    throw StoreBusyError(msg + " (another portway process holds the state database)");
  }
  throw StoreError(msg);
}

Statement::Statement(Connection& conn, std::string_view sql) : conn_(&conn) {
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v3(conn.get(), sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  stmt_.reset(raw);
  if (rc != SQLITE_OK) conn.fail(rc, "preparing \"" + std::string(sql) + "\"");
}

Use::~Use() {
  // The step's error (if any) was already thrown; reset only repeats it.
  sqlite3_reset(s_->get());
  sqlite3_clear_bindings(s_->get());
}

Use& Use::bind(int i, std::int64_t v) {
  const int rc = sqlite3_bind_int64(s_->get(), i, v);
  if (rc != SQLITE_OK) s_->connection().fail(rc, "binding a parameter");
  return *this;
}

Use& Use::bind(int i, std::string_view v) {
  const int rc = sqlite3_bind_text64(s_->get(), i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK) s_->connection().fail(rc, "binding a parameter");
  return *this;
}

Use& Use::bind_blob(int i, std::span<const std::uint8_t> v) {
  // A zero-length blob must stay a blob, not become NULL: pass a non-null pointer.
  static const std::uint8_t kEmpty = 0;
  const int rc = sqlite3_bind_blob64(s_->get(), i, v.empty() ? &kEmpty : v.data(), v.size(),
                                     SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) s_->connection().fail(rc, "binding a parameter");
  return *this;
}

Use& Use::bind_null(int i) {
  const int rc = sqlite3_bind_null(s_->get(), i);
  if (rc != SQLITE_OK) s_->connection().fail(rc, "binding a parameter");
  return *this;
}

bool Use::step() {
  const int rc = sqlite3_step(s_->get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  s_->connection().fail(rc, "running \"" + std::string(s_->sql()) + "\"");
}

void Use::run() {
  while (step()) {
  }
}

std::int64_t Use::integer(int col) const { return sqlite3_column_int64(s_->get(), col); }

std::string Use::text(int col) const {
  const auto* p = sqlite3_column_text(s_->get(), col);
  const int n = sqlite3_column_bytes(s_->get(), col);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n)) : std::string();
}

std::vector<std::uint8_t> Use::blob(int col) const {
  const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(s_->get(), col));
  const int n = sqlite3_column_bytes(s_->get(), col);
  return p ? std::vector<std::uint8_t>(p, p + n) : std::vector<std::uint8_t>();
}

bool Use::is_null(int col) const { return sqlite3_column_type(s_->get(), col) == SQLITE_NULL; }

}  // namespace portway::store::sqlite
