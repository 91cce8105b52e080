// The SQLite schema of the state database and its versioning. docs/model.md describes the
// tables; this is the one place that creates or migrates them.
#pragma once

#include <cstdint>

#include "store/sqlite_handle.h"

namespace portway::store::sqlite {

inline constexpr int kSchemaVersion = 2;
// PRAGMA application_id: "PWAY", so `file state.db` and portway itself can tell a portway
// database from any other SQLite file before touching it.
inline constexpr std::int32_t kApplicationId = 0x50574159;

// Creates the schema in an empty database or migrates an older one up to kSchemaVersion, in
// one write transaction. Throws StoreError for a foreign database or a newer schema.
void prepare_schema(Connection& conn);

// The schema version recorded in the database (0 for an empty database).
int schema_version(Connection& conn);

}  // namespace portway::store::sqlite
