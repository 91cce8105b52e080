// Records and raw-file helpers shared by the SQLite store's tests.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdint>
#include <string>

#include "model_support/fixtures.h"
#include "store/store.h"

namespace portway::store {

using testing::ip4;
using testing::ip6;

inline AppRecord app(const std::string& name, std::uint64_t version = 1) {
  return {name, "name = \"" + name + "\"\n", "{}", version, 5};
}

inline ServiceRecord service(const std::string& app, const std::string& name, const char* v4,
                             std::uint64_t revision = 1) {
  ServiceRecord s;
  s.id = "svc/" + app + "/" + name;
  s.app = app;
  s.service = name;
  s.labels = {{"app", app}, {"service", name}, {"managed-by", "portway"}};
  s.selector = {app, name};
  s.ports = {{"p", 7000, 7000, config::Protocol::tcp, config::PortType::tcp, 0},
             {"q", 53, 5353, config::Protocol::udp, config::PortType::udp, 30053}};
  s.ipv4 = ip4(v4);
  s.revision = revision;
  return s;
}

inline SandboxRecord sandbox(const std::string& id, const char* v4) {
  SandboxRecord s;
  s.id = id;
  s.app = "a";
  s.service = "s";
  s.labels = {{"app", "a"}, {"service", "s"}, {"tier", "x"}};
  s.ipv4 = ip4(v4);
  s.iface = "veth0";
  s.state = SandboxState::running;
  s.changed_at_ms = 42;
  return s;
}

// Runs one statement on the raw file (another connection, as an admin with sqlite3 would).
inline std::int64_t raw_integer(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &st, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  std::int64_t v = -1;
  if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

// `f` must throw a StoreError that says `fragment`; `if_not` says what it did instead.
template <typename F>
inline void expect_store_error(F&& f, const std::string& fragment, const char* if_not) {
  try {
    f();
    ADD_FAILURE() << if_not;
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

// Runs statements on the raw file, as an admin with sqlite3 would; `create` makes the file.
inline void raw_exec(const std::string& path, const char* sql, bool create = false) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0), nullptr),
            SQLITE_OK);
  char* error = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, &error), SQLITE_OK) << (error ? error : "");
  sqlite3_free(error);
  sqlite3_close(db);
}

// Takes a current database back to schema version 2 (before the change journal), as a
// portway of that version left it: the migration tests open what it leaves.
inline void downgrade_to_v2(const std::string& path) {
  std::string sql = "DROP TABLE changes; DELETE FROM counters WHERE name = 'journal_since'; "
                    "DELETE FROM schema_version WHERE version >= 3;";
  for (const char* table : {"apps", "services", "sandboxes", "node_port_claims"}) {
    for (const char* event : {"insert", "update", "delete"}) {
      sql += std::string("DROP TRIGGER journal_") + table + "_" + event + ";";
    }
  }
  raw_exec(path, sql.c_str());
}

}  // namespace portway::store
