#include "store/sqlite_schema.h"

#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>

#include "store/store.h"

namespace portway::store::sqlite {
namespace {

// Version 1. Conventions:
// - STRICT tables, so a wrong column type is an error instead of a silent conversion.
// - Addresses are BLOBs in network byte order (4 or 16 bytes): BLOB comparison is memcmp,
//   so index order is numeric order and the allocator's range probes use the index.
// - Children reference their owner ON DELETE CASCADE: deleting an app removes its Services,
//   their ports, their address allocations and the app's node-port claims in one statement,
//   so no code path can forget one. (Hence no INSERT OR REPLACE on owners: REPLACE deletes
//   the old row and would cascade.)
// - Sandboxes reference nothing: they may be registered before their app is applied.
// - JSON columns (labels, parsed) carry no json_valid() CHECK: with trusted_schema off (see
//   sqlite_store.cc) schema code may only call innocuous functions; the readers decode
//   strictly instead.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE schema_version (
  version       INTEGER NOT NULL PRIMARY KEY,
  applied_at_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE counters (
  name  TEXT NOT NULL PRIMARY KEY,
  value INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
INSERT INTO counters (name, value) VALUES ('generation', 0);

CREATE TABLE apps (
  name          TEXT NOT NULL PRIMARY KEY,
  source        TEXT NOT NULL,
  parsed        TEXT NOT NULL,
  version       INTEGER NOT NULL CHECK (version >= 1),
  updated_at_ms INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE services (
  id               TEXT NOT NULL PRIMARY KEY,
  app              TEXT NOT NULL REFERENCES apps (name) ON DELETE CASCADE,
  service          TEXT NOT NULL,
  labels           TEXT NOT NULL,
  selector_app     TEXT NOT NULL,
  selector_service TEXT NOT NULL,
  revision         INTEGER NOT NULL CHECK (revision >= 1),
  UNIQUE (app, service)
) STRICT, WITHOUT ROWID;

CREATE TABLE service_ports (
  service_id  TEXT NOT NULL REFERENCES services (id) ON DELETE CASCADE,
  position    INTEGER NOT NULL CHECK (position >= 0),
  name        TEXT NOT NULL,
  port        INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
  target_port INTEGER NOT NULL CHECK (target_port BETWEEN 1 AND 65535),
  protocol    TEXT NOT NULL CHECK (protocol IN ('tcp', 'udp')),
  type        TEXT NOT NULL CHECK (type IN ('http', 'tcp', 'udp')),
  node_port   INTEGER NOT NULL CHECK (node_port BETWEEN 0 AND 65535),
  PRIMARY KEY (service_id, position),
  UNIQUE (service_id, name),
  UNIQUE (service_id, port, protocol)
) STRICT, WITHOUT ROWID;

CREATE TABLE ip_allocations (
  address    BLOB NOT NULL PRIMARY KEY,
  family     INTEGER NOT NULL CHECK (family IN (4, 6)),
  service_id TEXT NOT NULL REFERENCES services (id) ON DELETE CASCADE,
  CHECK (length(address) = CASE family WHEN 4 THEN 4 ELSE 16 END),
  UNIQUE (service_id, family)
) STRICT, WITHOUT ROWID;

CREATE TABLE node_port_claims (
  node_port INTEGER NOT NULL CHECK (node_port BETWEEN 1 AND 65535),
  protocol  TEXT NOT NULL CHECK (protocol IN ('tcp', 'udp')),
  app       TEXT NOT NULL REFERENCES apps (name) ON DELETE CASCADE,
  service   TEXT NOT NULL,
  PRIMARY KEY (node_port, protocol)
) STRICT, WITHOUT ROWID;
CREATE INDEX node_port_claims_by_app ON node_port_claims (app);

CREATE TABLE sandboxes (
  id            TEXT NOT NULL PRIMARY KEY,
  app           TEXT NOT NULL,
  service       TEXT NOT NULL,
  labels        TEXT NOT NULL,
  ipv4          BLOB NOT NULL CHECK (length(ipv4) = 4),
  ipv6          BLOB CHECK (ipv6 IS NULL OR length(ipv6) = 16),
  iface         TEXT NOT NULL,
  state         TEXT NOT NULL CHECK (state IN ('running', 'draining', 'stopped')),
  changed_at_ms INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX sandboxes_by_selector ON sandboxes (app, service);
)sql";

// Version 2: the node's service ranges, one row (docs/model.md "The node's service ranges"),
// prefixes as text ("198.18.0.0/24"), decoded strictly.
constexpr const char* kSchemaV2 = R"sql(
CREATE TABLE service_ranges (
  id   INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
  ipv4 TEXT NOT NULL,
  ipv6 TEXT
) STRICT;
)sql";

// Version 3: the change journal (docs/model.md "The change journal"). Triggers write it, in the
// transaction that makes the change, so no write path (and no cascade: deleting an app
// deletes its Services and claims, and SQLite fires triggers for cascaded deletes) can
// forget an entry. Rows carry the generation the transaction will commit as (the counter
// plus one: commit() bumps it). journal_since is the oldest generation the journal can answer
// for: the generation at migration (changes before it were never journaled), raised as old
// rows are pruned.
// Service ports and addresses are written only by put_service, which always upserts the
// Service row too, so the services triggers cover them.
constexpr const char* kSchemaV3Tables = R"sql(
CREATE TABLE changes (
  generation INTEGER NOT NULL CHECK (generation >= 1),
  kind       TEXT NOT NULL CHECK (kind IN ('app', 'service', 'sandbox', 'claim')),
  key        TEXT NOT NULL,
  PRIMARY KEY (generation, kind, key)
) STRICT, WITHOUT ROWID;
INSERT INTO counters (name, value)
  SELECT 'journal_since', value FROM counters WHERE name = 'generation';
)sql";

struct JournaledTable {
  const char* table;
  const char* kind;
  const char* key;  // over a row named R
};
constexpr JournaledTable kJournaled[] = {
    {"apps", "app", "R.name"},
    {"services", "service", "R.id"},
    {"sandboxes", "sandbox", "R.id"},
    {"node_port_claims", "claim", "R.node_port || '/' || R.protocol"},
};

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (auto at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
  return s;
}

// One INSERT of the journal row for `row` (NEW or OLD), skipped when the transaction already
// wrote it (the primary key would refuse it, and a conflict clause inside a trigger is
// overridden by the outer statement's).
std::string journal_insert(const JournaledTable& t, const char* row) {
  const std::string key = replace_all(t.key, "R.", std::string(row) + ".");
  return std::string("INSERT INTO changes (generation, kind, key) SELECT c.value + 1, '") + t.kind +
         "', " + key + " FROM counters c WHERE c.name = 'generation' AND NOT EXISTS (SELECT 1 FROM "
         "changes WHERE generation = c.value + 1 AND kind = '" + t.kind + "' AND key = " + key + ");\n";
}

// The three journal triggers of one table.
std::string journal_triggers(const JournaledTable& t) {
  const std::string name = std::string("journal_") + t.table;
  return "CREATE TRIGGER " + name + "_insert AFTER INSERT ON " + t.table + " BEGIN " +
         journal_insert(t, "NEW") + "END;\n" +
         "CREATE TRIGGER " + name + "_update AFTER UPDATE ON " + t.table + " BEGIN " +
         journal_insert(t, "OLD") + journal_insert(t, "NEW") + "END;\n" +
         "CREATE TRIGGER " + name + "_delete AFTER DELETE ON " + t.table + " BEGIN " +
         journal_insert(t, "OLD") + "END;\n";
}

std::string schema_v3() {
  std::string sql = kSchemaV3Tables;
  for (const JournaledTable& t : kJournaled) sql += journal_triggers(t);
  return sql;
}

// Version 4: a sandbox may have an IPv4 address, an IPv6 address or both (docs/model.md
// "Address families"). SQLite cannot change a column's constraint in place, so the table is
// rebuilt (copy, drop, rename: the documented twelve-step procedure, trimmed to what this
// table has: no foreign keys point at it, and its index and journal triggers are re-created
// since dropping the old table drops them). The copy fires no journal trigger (it writes the
// new table), and it changes no record, so the generation stays where it is.
// Services need no change: each address is its own ip_allocations row already.
std::string schema_v4() {
  std::string sql = R"sql(
CREATE TABLE sandboxes_v4 (
  id            TEXT NOT NULL PRIMARY KEY,
  app           TEXT NOT NULL,
  service       TEXT NOT NULL,
  labels        TEXT NOT NULL,
  ipv4          BLOB CHECK (ipv4 IS NULL OR length(ipv4) = 4),
  ipv6          BLOB CHECK (ipv6 IS NULL OR length(ipv6) = 16),
  iface         TEXT NOT NULL,
  state         TEXT NOT NULL CHECK (state IN ('running', 'draining', 'stopped')),
  changed_at_ms INTEGER NOT NULL,
  CHECK (ipv4 IS NOT NULL OR ipv6 IS NOT NULL)
) STRICT, WITHOUT ROWID;
INSERT INTO sandboxes_v4 (id, app, service, labels, ipv4, ipv6, iface, state, changed_at_ms)
  SELECT id, app, service, labels, ipv4, ipv6, iface, state, changed_at_ms FROM sandboxes;
DROP TABLE sandboxes;
ALTER TABLE sandboxes_v4 RENAME TO sandboxes;
CREATE INDEX sandboxes_by_selector ON sandboxes (app, service);
)sql";
  for (const JournaledTable& t : kJournaled) {
    if (std::string_view(t.table) == "sandboxes") sql += journal_triggers(t);
  }
  return sql;
}

// migration(v) takes the schema from version v to v + 1.
std::string migration(int from) {
  switch (from) {
    case 0: return kSchemaV1;
    case 1: return kSchemaV2;
    case 2: return schema_v3();
    case 3: return schema_v4();
  }
  throw std::logic_error("no migration from schema version " + std::to_string(from));
}

bool has_table(Connection& conn, const char* name) {
  Statement s(conn, "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1");
  Use u(s);
  u.bind(1, std::string_view(name));
  return u.step();
}

std::int64_t single_integer(Connection& conn, const char* sql) {
  Statement s(conn, sql);
  Use u(s);
  return u.step() ? u.integer(0) : 0;
}

// Rolls back an explicit transaction that is still open when a scope is left by an error.
class RollbackUnlessDone {
 public:
  explicit RollbackUnlessDone(Connection& conn) : conn_(conn) {}
  ~RollbackUnlessDone() {
    if (conn_.in_transaction()) sqlite3_exec(conn_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
  RollbackUnlessDone(const RollbackUnlessDone&) = delete;
  RollbackUnlessDone& operator=(const RollbackUnlessDone&) = delete;

 private:
  Connection& conn_;
};

// Within an open transaction.
Inspection inspect_in_transaction(Connection& conn) {
  const std::int64_t app_id = single_integer(conn, "PRAGMA application_id");
  const bool no_tables = single_integer(conn, "SELECT count(*) FROM sqlite_schema") == 0;
  if (no_tables && (app_id == 0 || app_id == kApplicationId)) return {Content::empty, 0};
  if (app_id != kApplicationId || !has_table(conn, "schema_version")) return {Content::foreign, 0};
  return {Content::portway, schema_version(conn)};
}

}  // namespace

int schema_version(Connection& conn) {
  if (!has_table(conn, "schema_version")) return 0;
  return static_cast<int>(single_integer(conn, "SELECT coalesce(max(version), 0) FROM schema_version"));
}

Inspection inspect_schema(Connection& conn) {
  RollbackUnlessDone guard(conn);
  conn.exec("BEGIN DEFERRED");
  const Inspection found = inspect_in_transaction(conn);
  conn.exec("COMMIT");
  return found;
}

void refuse_unusable(const Inspection& found, const std::string& path) {
  if (found.content == Content::foreign) {
    throw StoreError(path + ": not a portway state database (it holds other tables or another "
                            "program's application_id); refusing to use it, and it was left "
                            "unchanged");
  }
  if (found.content == Content::portway && found.version > kSchemaVersion) {
    throw StoreError(path + ": state database has schema version " + std::to_string(found.version) +
                     ", newer than this portway understands (" + std::to_string(kSchemaVersion) +
                     "); use a newer portway");
  }
}

bool needs_upgrade(const Inspection& found) {
  return found.content == Content::empty ||
         (found.content == Content::portway && found.version < kSchemaVersion);
}

void upgrade_schema(Connection& conn, const std::string& path) {
  RollbackUnlessDone guard(conn);
  // IMMEDIATE: two processes opening a fresh file at once must not both create the schema;
  // the second one finds the first one's schema when it gets the lock.
  conn.exec("BEGIN IMMEDIATE");
  const Inspection found = inspect_in_transaction(conn);
  refuse_unusable(found, path);
  if (!needs_upgrade(found)) {
    conn.exec("COMMIT");
    return;
  }
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  for (int v = found.version; v < kSchemaVersion; ++v) {
    conn.exec(migration(v).c_str());
    Statement s(conn, "INSERT INTO schema_version (version, applied_at_ms) VALUES (?1, ?2)");
    Use u(s);
    u.bind(1, std::int64_t{v + 1}).bind(2, std::int64_t{now_ms}).run();
  }
  if (found.content == Content::empty) {
    conn.exec(("PRAGMA application_id = " + std::to_string(kApplicationId)).c_str());
  }
  conn.exec("COMMIT");
}

}  // namespace portway::store::sqlite
