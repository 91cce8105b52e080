// The SQLite implementation of store::Transaction (store.h): the queries behind each method.
// Internal to the store library; SqliteStore::begin_read/begin_write hand these out.
#pragma once

#include <memory>

#include "store/store.h"

namespace portway::store {

class SqliteStore;

// Begins the transaction (BEGIN IMMEDIATE for writes): throws StoreBusyError past the busy
// timeout.
std::unique_ptr<Transaction> make_sqlite_transaction(SqliteStore& store, bool write);

}  // namespace portway::store
