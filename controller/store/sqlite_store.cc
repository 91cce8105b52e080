#include "store/sqlite_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <cctype>
#include <stdexcept>

#include "store/sqlite_schema.h"
#include "store/sqlite_transaction.h"
#include "store/state_file.h"

namespace portway::store {

using sqlite::Use;

namespace {

// WAL: readers never block the writer nor wait for it. Only called on a file known to be
// portway's or empty, since switching the journal mode writes the file's header.
void use_wal(sqlite::Connection& conn, const std::string& path) {
  {
    // Asking first: a portway file is in WAL mode already (the mode is persistent), and
    // setting it would take a lock on every open for nothing.
    sqlite::Statement s(conn, "PRAGMA journal_mode");
    Use u(s);
    if (u.step() && u.text(0) == "wal") return;
  }
  // journal_mode answers with the mode in force; anything but wal (a read-only medium, a
  // network filesystem) would silently lose the readers-never-block property.
  sqlite::Statement s(conn, "PRAGMA journal_mode = WAL");
  Use u(s);
  if (!u.step() || u.text(0) != "wal") {
    throw StoreError("state database " + path + " cannot use WAL mode (got journal mode \"" +
                     (u.is_null(0) ? std::string() : u.text(0)) + "\")");
  }
}

// The path as an SQLite URI (file:...), every byte that URI syntax gives a meaning escaped.
std::string file_uri(const std::string& path) {
  std::string uri = "file:";
  for (const unsigned char c : path) {
    if (std::isalnum(c) || c == '/' || c == '-' || c == '_' || c == '.' || c == '~') {
      uri += static_cast<char>(c);
    } else {
      static const char* const kHex = "0123456789ABCDEF";
      uri += '%';
      uri += kHex[c >> 4];
      uri += kHex[c & 0xF];
    }
  }
  return uri;
}

void harden(sqlite3* db, const SqliteOptions& options) {
  // Refuse the tricks a tampered file could play on a root process: schema-defined SQL
  // functions and views with side effects, writes to sqlite_schema, ATTACH of other files.
  sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);
  sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 0);
  sqlite3_busy_timeout(db, static_cast<int>(options.busy_timeout.count()));
}

}  // namespace

// The database appears under its name only with its schema in it: it is built under a
// name of this process's and renamed into place without replacing anything (another process
// may have been first, which is as good). A reader that finds the file (a `sync`, which
// refuses an empty store) never finds one half-way through its creation.
void SqliteStore::create_initialised(const std::string& path, const SqliteOptions& options) {
  const std::string building = path + ".init-" + std::to_string(::getpid());
  struct Remove {
    const std::string& p;
    ~Remove() {
      for (const char* suffix : {"", "-wal", "-shm", "-journal"}) ::unlink((p + suffix).c_str());
    }
  } remove{building};
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) ::unlink((building + suffix).c_str());
  if (!create_state_file(building)) throw StoreError("cannot create state database " + building + ": it exists");
  {
    sqlite::Connection conn(building, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX);
    harden(conn.get(), options);
    conn.exec("PRAGMA synchronous = FULL");
    use_wal(conn, building);
    sqlite::upgrade_schema(conn, building);
  }  // closed: the log is checkpointed into the file and removed
  if (::renameat2(AT_FDCWD, building.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) != 0 && errno != EEXIST)
    throw StoreError("cannot create state database " + path + ": " + std::strerror(errno));
}

bool file_system_read_only(const std::string& path) {
  struct statvfs st{};
  return ::statvfs(path.c_str(), &st) == 0 && (st.f_flag & ST_RDONLY) != 0;
}

std::unique_ptr<SqliteStore> SqliteStore::open_read_only(const std::string& path, SqliteOptions options) {
  if (!check_state_file(path)) throw StoreMissingError("state database " + path + " does not exist");
  struct stat wal{};
  const bool wal_left = ::stat((path + "-wal").c_str(), &wal) == 0 && wal.st_size > 0;
  // Without a -wal file the database file holds every commit, and nothing can change it while
  // the file system stays read-only: immutable (no locks, no -shm, which cannot be created
  // here). With one (a writer that never closed), SQLite reads through it read-only, which
  // works when its -shm file is there too.
  const std::string uri = file_uri(path) + (wal_left ? "?mode=ro" : "?immutable=1");
  sqlite::Connection conn(uri, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX);
  harden(conn.get(), options);
  const sqlite::Inspection found = sqlite::inspect_schema(conn);
  sqlite::refuse_unusable(found, path);
  if (found.content == sqlite::Content::empty) {
    throw StoreMissingError("state database " + path + " is empty: nothing was ever applied to it");
  }
  if (sqlite::needs_upgrade(found)) {
    throw StoreError("state database " + path + " needs a schema upgrade, which cannot be written: its file system is read-only");
  }
  auto store = std::unique_ptr<SqliteStore>(
      new SqliteStore(path, std::move(conn), std::max<std::uint64_t>(options.journal_generations, 1)));
  store->read_only_ = true;
  return store;
}

std::unique_ptr<SqliteStore> SqliteStore::open(const std::string& path, SqliteOptions options) {
  if (file_system_read_only(path)) return open_read_only(path, options);
  if (!check_state_file(path)) {
    if (!options.create) throw StoreMissingError("state database " + path + " does not exist");
    create_initialised(path, options);
    check_state_file(path);
  }
  // NOFOLLOW: the file checked above is the file opened (and its -wal/-shm live next to it,
  // not next to a symlink's target). No CREATE: a file removed since the check is an error,
  // not a new database with SQLite's default mode. NOMUTEX: a SqliteStore is used by one
  // thread, so SQLite's per-call mutex would only cost time (about 6% of a snapshot read).
  sqlite::Connection conn(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX);
  harden(conn.get(), options);
  conn.exec("PRAGMA foreign_keys = ON");
  // FULL: a committed apply survives a power cut, not only a process crash. Writes are rare
  // (one per apply or sandbox change), so the extra fsync costs nothing that matters.
  conn.exec("PRAGMA synchronous = FULL");

  // Read-only first: a foreign file is refused before anything writes to it, and an opener
  // of a current database (every command but the first apply) never takes the write lock.
  const sqlite::Inspection found = sqlite::inspect_schema(conn);
  sqlite::refuse_unusable(found, path);
  if (found.content == sqlite::Content::empty && !options.create) {
    throw StoreMissingError("state database " + path + " is empty: nothing was ever applied to it");
  }
  use_wal(conn, path);
  if (sqlite::needs_upgrade(found)) sqlite::upgrade_schema(conn, path);
  return std::unique_ptr<SqliteStore>(new SqliteStore(path, std::move(conn), std::max<std::uint64_t>(options.journal_generations, 1)));
}

SqliteStore::SqliteStore(std::string path, sqlite::Connection conn, std::uint64_t journal_generations)
    : path_(std::move(path)), conn_(std::move(conn)), journal_generations_(journal_generations) {}

int SqliteStore::schema_version() { return sqlite::schema_version(conn_); }

std::unique_ptr<Transaction> SqliteStore::begin_read() { return begin(false); }
std::unique_ptr<Transaction> SqliteStore::begin_write() {
  if (read_only_) {
    throw StoreError("state database " + path_ +
                     ": its file system is read-only, so nothing can be written (nothing was changed)");
  }
  return begin(true);
}

std::unique_ptr<Transaction> SqliteStore::begin(bool write) {
  if (transaction_open_) throw std::logic_error("a transaction is already open on this store");
  auto tx = make_sqlite_transaction(*this, write);
  transaction_open_ = true;
  return tx;
}

sqlite::Statement& SqliteStore::statement(std::string_view sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    it = statements_.emplace(std::string(sql), std::make_unique<sqlite::Statement>(conn_, sql)).first;
  }
  return *it->second;
}

std::string commit_marker_path(const std::string& database_path) { return database_path + "-commit"; }

void SqliteStore::announce_commit() noexcept {
  const std::string marker = commit_marker_path(path_);
  // A time change is an IN_ATTRIB event for the watcher; creating the file an IN_CREATE.
  // Neither follows a symlink planted in the state folder.
  if (::utimensat(AT_FDCWD, marker.c_str(), nullptr, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT) return;
  const int fd = ::open(marker.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd >= 0) ::close(fd);
}

}  // namespace portway::store
