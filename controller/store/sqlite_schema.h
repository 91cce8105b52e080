// The SQLite schema of the state database and its versioning. docs/model.md describes the
// tables; this is the one place that creates or migrates them.
#pragma once

#include <cstdint>
#include <string>

#include "store/sqlite_handle.h"

namespace portway::store::sqlite {

inline constexpr int kSchemaVersion = 4;
// PRAGMA application_id: "PWAY", so `file state.db` and portway itself can tell a portway
// database from any other SQLite file before touching it.
inline constexpr std::int32_t kApplicationId = 0x50574159;

// What a database file holds, found without writing to it.
enum class Content {
  empty,    // no tables, application_id 0 or portway's: never initialised
  portway,  // portway's application_id and a schema_version table
  foreign,  // anything else: another program's database, never touched
};

struct Inspection {
  Content content = Content::empty;
  int version = 0;  // the schema version of a portway database
};

// Reads the application_id and the schema in one read transaction; writes nothing, so a
// foreign file is left exactly as it was (not even switched to WAL).
Inspection inspect_schema(Connection& conn);

// StoreError (not a portway database, or a schema newer than this binary) when `found` is
// not a database this binary may use; `path` names it.
void refuse_unusable(const Inspection& found, const std::string& path);

// True when `found` needs upgrade_schema(): empty, or an older schema version.
bool needs_upgrade(const Inspection& found);

// Creates the schema in an empty database or migrates an older one up to kSchemaVersion, in
// one BEGIN IMMEDIATE transaction that inspects the file again first (another process may
// have done it meanwhile). Throws StoreError for a foreign database or a newer schema.
void upgrade_schema(Connection& conn, const std::string& path);

// The schema version recorded in the database (0 for an empty database).
int schema_version(Connection& conn);

}  // namespace portway::store::sqlite
