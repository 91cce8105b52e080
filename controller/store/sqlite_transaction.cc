#include "store/sqlite_transaction.h"

#include <algorithm>
#include <charconv>
#include <stdexcept>
#include <type_traits>

#include "store/sqlite_codec.h"
#include "store/sqlite_store.h"

namespace portway::store {

using sqlite::Use;

namespace {

// Reads of the three service tables, by filter. The ports and addresses queries are ordered
// like the services query so one pass merges them (10,000 Services load in three scans, not
// 20,001 queries).
struct ServiceQueries {
  const char* services;
  const char* ports;
  const char* addresses;
};

constexpr ServiceQueries kAllServices{
    "SELECT id, app, service, labels, selector_app, selector_service, revision FROM services "
    "ORDER BY id",
    "SELECT service_id, name, port, target_port, protocol, type, node_port FROM service_ports "
    "ORDER BY service_id, position",
    "SELECT service_id, family, address FROM ip_allocations ORDER BY service_id, family",
};
constexpr ServiceQueries kServiceById{
    "SELECT id, app, service, labels, selector_app, selector_service, revision FROM services "
    "WHERE id = ?1",
    "SELECT service_id, name, port, target_port, protocol, type, node_port FROM service_ports "
    "WHERE service_id = ?1 ORDER BY position",
    "SELECT service_id, family, address FROM ip_allocations WHERE service_id = ?1 ORDER BY family",
};
constexpr ServiceQueries kServicesOfApp{
    "SELECT id, app, service, labels, selector_app, selector_service, revision FROM services "
    "WHERE app = ?1 ORDER BY id",
    "SELECT p.service_id, p.name, p.port, p.target_port, p.protocol, p.type, p.node_port "
    "FROM service_ports p JOIN services s ON s.id = p.service_id WHERE s.app = ?1 "
    "ORDER BY p.service_id, p.position",
    "SELECT a.service_id, a.family, a.address FROM ip_allocations a "
    "JOIN services s ON s.id = a.service_id WHERE s.app = ?1 ORDER BY a.service_id, a.family",
};

constexpr const char* kSandboxColumns =
    "SELECT id, app, service, labels, ipv4, ipv6, iface, state, changed_at_ms FROM sandboxes ";

}  // namespace

class SqliteTransaction final : public Transaction {
 public:
  SqliteTransaction(SqliteStore& store, bool write) : store_(store), write_(write) {
    conn().exec(write ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED");
    open_ = true;
    changes_at_begin_ = sqlite3_total_changes64(conn().get());
    // A deferred transaction takes its snapshot at the first read: take it now, so what
    // this transaction sees is the state at begin_read(), not at some later first query.
    if (!write) generation();
  }

  ~SqliteTransaction() override {
    if (open_ && conn().in_transaction()) {
      // Nothing useful to do with a failure here: the connection closing rolls back too.
      sqlite3_exec(conn().get(), "ROLLBACK", nullptr, nullptr, nullptr);
    }
    release();
  }

  bool writable() const override { return write_; }

  std::optional<AppRecord> find_app(std::string_view name) override {
    check_open();
    Use u(stmt("SELECT name, source, parsed, version, updated_at_ms FROM apps WHERE name = ?1"));
    u.bind(1, name);
    if (!u.step()) return std::nullopt;
    return read_app(u);
  }

  std::vector<AppRecord> apps() override {
    check_open();
    Use u(stmt("SELECT name, source, parsed, version, updated_at_ms FROM apps ORDER BY name"));
    std::vector<AppRecord> out;
    while (u.step()) out.push_back(read_app(u));
    return out;
  }

  void put_app(const AppRecord& app) override {
    check_write();
    atomically([&] {
      // An upsert, not INSERT OR REPLACE: REPLACE deletes the old row and the delete would
      // cascade to the app's Services and claims.
      Use u(stmt(
          "INSERT INTO apps (name, source, parsed, version, updated_at_ms) "
          "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (name) DO UPDATE SET source = excluded.source, "
          "parsed = excluded.parsed, version = excluded.version, "
          "updated_at_ms = excluded.updated_at_ms"));
      u.bind(1, app.name).bind(2, app.source).bind(3, app.parsed_json);
      u.bind(4, static_cast<std::int64_t>(app.version)).bind(5, app.updated_at_ms).run();
    });
  }

  bool delete_app(std::string_view name) override {
    check_write();
    return atomically([&] {
      Use u(stmt("DELETE FROM apps WHERE name = ?1"));
      u.bind(1, name).run();
      return sqlite3_changes64(conn().get()) > 0;
    });
  }

  std::optional<ServiceRecord> find_service(std::string_view id) override {
    check_open();
    auto found = load_services(kServiceById, id);
    if (found.empty()) return std::nullopt;
    return std::move(found.front());
  }

  std::vector<ServiceRecord> services() override {
    check_open();
    return load_services(kAllServices, std::nullopt);
  }

  std::vector<ServiceRecord> services_of_app(std::string_view app) override {
    check_open();
    return load_services(kServicesOfApp, app);
  }

  void put_service(const ServiceRecord& s) override {
    check_write();
    atomically([&] {
      {
        Use u(stmt(
            "INSERT INTO services (id, app, service, labels, selector_app, selector_service, "
            "revision) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (id) DO UPDATE SET "
            "app = excluded.app, service = excluded.service, labels = excluded.labels, "
            "selector_app = excluded.selector_app, selector_service = excluded.selector_service, "
            "revision = excluded.revision"));
        u.bind(1, s.id).bind(2, s.app).bind(3, s.service).bind(4, sqlite::encode_labels(s.labels));
        u.bind(5, s.selector.app).bind(6, s.selector.service);
        u.bind(7, static_cast<std::int64_t>(s.revision)).run();
      }
      {
        Use u(stmt("DELETE FROM service_ports WHERE service_id = ?1"));
        u.bind(1, s.id).run();
      }
      std::int64_t position = 0;
      for (const ServicePort& p : s.ports) {
        Use u(stmt(
            "INSERT INTO service_ports (service_id, position, name, port, target_port, protocol, "
            "type, node_port) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
        u.bind(1, s.id).bind(2, position++).bind(3, p.name).bind(4, std::int64_t{p.port});
        u.bind(5, std::int64_t{p.target_port}).bind(6, config::to_string(p.protocol));
        u.bind(7, config::to_string(p.type)).bind(8, std::int64_t{p.node_port}).run();
      }
      {
        Use u(stmt("DELETE FROM ip_allocations WHERE service_id = ?1"));
        u.bind(1, s.id).run();
      }
      if (!s.ipv4 && !s.ipv6) throw StoreError("Service " + s.id + " has no address of either family");
      if (s.ipv4) allocate(s.id, 4, sqlite::encode(*s.ipv4), net::to_string(*s.ipv4));
      if (s.ipv6) allocate(s.id, 6, sqlite::encode(*s.ipv6), net::to_string(*s.ipv6));
    });
  }

  bool delete_service(std::string_view id) override {
    check_write();
    return atomically([&] {
      Use u(stmt("DELETE FROM services WHERE id = ?1"));
      u.bind(1, id).run();
      return sqlite3_changes64(conn().get()) > 0;
    });
  }

  std::vector<net::Ipv4> allocated_ipv4(net::Ipv4 first, net::Ipv4 last,
                                        std::size_t limit) override {
    check_open();
    std::vector<net::Ipv4> out;
    const auto lo = sqlite::encode(first), hi = sqlite::encode(last);
    Use u(stmt("SELECT address FROM ip_allocations WHERE family = 4 AND address BETWEEN ?1 AND ?2 "
               "ORDER BY address LIMIT ?3"));
    u.bind_blob(1, lo).bind_blob(2, hi).bind(3, static_cast<std::int64_t>(limit));
    while (u.step()) out.push_back(sqlite::decode_ipv4(u.blob(0)));
    return out;
  }

  std::vector<net::Ipv6> allocated_ipv6(const net::Ipv6& first, const net::Ipv6& last,
                                        std::size_t limit) override {
    check_open();
    std::vector<net::Ipv6> out;
    Use u(stmt("SELECT address FROM ip_allocations WHERE family = 6 AND address BETWEEN ?1 AND ?2 "
               "ORDER BY address LIMIT ?3"));
    u.bind_blob(1, sqlite::encode(first)).bind_blob(2, sqlite::encode(last));
    u.bind(3, static_cast<std::int64_t>(limit));
    while (u.step()) out.push_back(sqlite::decode_ipv6(u.blob(0)));
    return out;
  }

  std::vector<NodePortClaim> claims() override {
    check_open();
    Use u(stmt("SELECT node_port, protocol, app, service FROM node_port_claims "
               "ORDER BY node_port, protocol"));
    std::vector<NodePortClaim> out;
    while (u.step()) {
      out.push_back({sqlite::decode_port(u.integer(0)), sqlite::decode_protocol(u.text(1)),
                     u.text(2), u.text(3)});
    }
    return out;
  }

  void replace_claims(std::string_view app, const std::vector<NodePortClaim>& claims) override {
    check_write();
    for (const NodePortClaim& c : claims) {
      if (c.app != app) throw std::logic_error("replace_claims: a claim of another app");
    }
    atomically([&] {
      {
        Use u(stmt("DELETE FROM node_port_claims WHERE app = ?1"));
        u.bind(1, app).run();
      }
      for (const NodePortClaim& c : claims) {
        Use u(stmt("INSERT INTO node_port_claims (node_port, protocol, app, service) "
                   "VALUES (?1, ?2, ?3, ?4)"));
        u.bind(1, std::int64_t{c.node_port}).bind(2, config::to_string(c.protocol));
        u.bind(3, c.app).bind(4, c.service).run();
      }
    });
  }

  std::optional<ServiceRanges> service_ranges() override {
    check_open();
    Use u(stmt("SELECT ipv4, ipv6 FROM service_ranges WHERE id = 1"));
    if (!u.step()) return std::nullopt;
    ServiceRanges r;
    const auto v4 = net::parse_ipv4_prefix(u.text(0));
    if (!v4) throw StoreError("corrupt state database: service_ranges.ipv4 is not a prefix");
    r.ipv4 = *v4;
    if (!u.is_null(1)) {
      const auto v6 = net::parse_ipv6_prefix(u.text(1));
      if (!v6) throw StoreError("corrupt state database: service_ranges.ipv6 is not a prefix");
      r.ipv6 = *v6;
    }
    return r;
  }

  void put_service_ranges(const ServiceRanges& r) override {
    check_write();
    atomically([&] {
      Use u(stmt("INSERT INTO service_ranges (id, ipv4, ipv6) VALUES (1, ?1, ?2) "
                 "ON CONFLICT (id) DO UPDATE SET ipv4 = excluded.ipv4, ipv6 = excluded.ipv6"));
      u.bind(1, net::to_string(r.ipv4));
      if (r.ipv6)
        u.bind(2, net::to_string(*r.ipv6));
      else
        u.bind_null(2);
      u.run();
    });
  }

  std::optional<SandboxRecord> find_sandbox(std::string_view id) override {
    check_open();
    Use u(stmt(std::string(kSandboxColumns) + "WHERE id = ?1"));
    u.bind(1, id);
    if (!u.step()) return std::nullopt;
    return read_sandbox(u);
  }

  std::vector<SandboxRecord> sandboxes() override {
    check_open();
    Use u(stmt(std::string(kSandboxColumns) + "ORDER BY id"));
    std::vector<SandboxRecord> out;
    while (u.step()) out.push_back(read_sandbox(u));
    return out;
  }

  void put_sandbox(const SandboxRecord& s) override {
    check_write();
    atomically([&] {
      Use u(stmt(
          "INSERT INTO sandboxes (id, app, service, labels, ipv4, ipv6, iface, state, "
          "changed_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (id) DO UPDATE "
          "SET app = excluded.app, service = excluded.service, labels = excluded.labels, "
          "ipv4 = excluded.ipv4, ipv6 = excluded.ipv6, iface = excluded.iface, "
          "state = excluded.state, changed_at_ms = excluded.changed_at_ms"));
      u.bind(1, s.id).bind(2, s.app).bind(3, s.service).bind(4, sqlite::encode_labels(s.labels));
      if (s.ipv4)
        u.bind_blob(5, sqlite::encode(*s.ipv4));
      else
        u.bind_null(5);
      if (s.ipv6)
        u.bind_blob(6, sqlite::encode(*s.ipv6));
      else
        u.bind_null(6);
      u.bind(7, s.iface).bind(8, to_string(s.state)).bind(9, s.changed_at_ms).run();
    });
  }

  bool delete_sandbox(std::string_view id) override {
    check_write();
    return atomically([&] {
      Use u(stmt("DELETE FROM sandboxes WHERE id = ?1"));
      u.bind(1, id).run();
      return sqlite3_changes64(conn().get()) > 0;
    });
  }

  std::uint64_t generation() override {
    check_open();
    Use u(stmt("SELECT value FROM counters WHERE name = 'generation'"));
    if (!u.step()) throw StoreError("corrupt state database: the generation counter is missing");
    return static_cast<std::uint64_t>(u.integer(0));
  }

  std::optional<ChangeSet> changes_since(std::uint64_t since) override {
    check_open();
    const std::uint64_t now = generation();
    if (since > now) return std::nullopt;
    if (since == now) return ChangeSet{};
    if (since < counter("journal_since")) return std::nullopt;
    ChangeSet out;
    Use u(stmt("SELECT DISTINCT kind, key FROM changes WHERE generation > ?1 ORDER BY kind, key"));
    u.bind(1, static_cast<std::int64_t>(since));
    while (u.step()) {
      const std::string kind = u.text(0);
      std::string key = u.text(1);
      if (kind == "app") {
        out.apps.push_back(std::move(key));
      } else if (kind == "service") {
        out.services.push_back(std::move(key));
      } else if (kind == "sandbox") {
        out.sandboxes.push_back(std::move(key));
      } else if (kind == "claim") {
        out.claims.push_back(decode_claim_key(key));
      } else {
        throw StoreError("corrupt state database: unknown change kind \"" + kind + "\"");
      }
    }
    // Text order is not numeric order ("443/tcp" < "80/tcp").
    std::sort(out.claims.begin(), out.claims.end());
    return out;
  }

  void commit() override {
    check_open();
    const bool changed = write_ && sqlite3_total_changes64(conn().get()) != changes_at_begin_;
    if (changed) {
      {
        Use u(stmt("UPDATE counters SET value = value + 1 WHERE name = 'generation'"));
        u.run();
      }
      prune_journal();
    }
    conn().exec("COMMIT");
    open_ = false;
    release();  // the store may begin its next transaction while this object lives on
    if (changed) store_.announce_commit();
  }

 private:
  sqlite::Connection& conn() { return store_.conn_; }

  std::uint64_t counter(const char* name) {
    Use u(stmt("SELECT value FROM counters WHERE name = ?1"));
    u.bind(1, std::string_view(name));
    if (!u.step()) throw StoreError(std::string("corrupt state database: the ") + name + " counter is missing");
    return static_cast<std::uint64_t>(u.integer(0));
  }

  // Keeps the journal to the last journal_generations_ generations, in the committing
  // transaction (one indexed range delete), and records how far back it still answers.
  void prune_journal() {
    const std::uint64_t now = generation();
    if (now <= store_.journal_generations_) return;
    const auto oldest_kept = static_cast<std::int64_t>(now - store_.journal_generations_);
    {
      Use u(stmt("DELETE FROM changes WHERE generation <= ?1"));
      u.bind(1, oldest_kept).run();
    }
    Use u(stmt("UPDATE counters SET value = ?1 WHERE name = 'journal_since' AND value < ?1"));
    u.bind(1, oldest_kept).run();
  }

  static ClaimKey decode_claim_key(const std::string& key) {
    const auto slash = key.find('/');
    std::int64_t port = 0;
    const auto digits = std::string_view(key).substr(0, slash);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (slash == std::string::npos || ec != std::errc() || end != digits.data() + digits.size()) {
      throw StoreError("corrupt state database: change key \"" + key + "\" is not a claim");
    }
    return {sqlite::decode_port(port), sqlite::decode_protocol(std::string_view(key).substr(slash + 1))};
  }

  void release() {
    if (holds_slot_) store_.transaction_open_ = false;
    holds_slot_ = false;
  }
  sqlite::Statement& stmt(std::string_view sql) { return store_.statement(sql); }

  void check_open() {
    if (!open_) throw std::logic_error("the transaction is already committed");
    // SQLite rolls a whole transaction back by itself on some errors (SQLITE_FULL, IOERR,
    // NOMEM). Carrying on would run later statements in autocommit mode, each committed on
    // its own: refuse instead.
    if (!conn().in_transaction()) {
      open_ = false;
      throw StoreError("state database " + store_.path_ +
                       ": the transaction was aborted by an earlier error");
    }
  }

  void check_write() {
    check_open();
    if (!write_) throw std::logic_error("write in a read transaction");
  }

  // Runs a multi-statement change under a savepoint, so a failure halfway leaves the
  // transaction exactly as before the call (the Transaction contract).
  template <class F>
  auto atomically(F&& f) -> decltype(f()) {
    conn().exec("SAVEPOINT portway_op");
    try {
      if constexpr (std::is_void_v<decltype(f())>) {
        f();
        conn().exec("RELEASE portway_op");
      } else {
        auto result = f();
        conn().exec("RELEASE portway_op");
        return result;
      }
    } catch (...) {
      if (conn().in_transaction()) {
        sqlite3_exec(conn().get(), "ROLLBACK TO portway_op; RELEASE portway_op", nullptr,
                     nullptr, nullptr);
      }
      throw;
    }
  }

  void allocate(const std::string& service_id, int family, std::span<const std::uint8_t> address,
                const std::string& shown) {
    {
      Use u(stmt("SELECT service_id FROM ip_allocations WHERE address = ?1"));
      u.bind_blob(1, address);
      if (u.step()) {
        throw StoreError("address " + shown + " is already allocated to " + u.text(0));
      }
    }
    Use u(stmt("INSERT INTO ip_allocations (address, family, service_id) VALUES (?1, ?2, ?3)"));
    u.bind_blob(1, address).bind(2, std::int64_t{family}).bind(3, service_id).run();
  }

  std::vector<ServiceRecord> load_services(const ServiceQueries& q,
                                           std::optional<std::string_view> key) {
    std::vector<ServiceRecord> out;
    {
      Use u(stmt(q.services));
      if (key) u.bind(1, *key);
      while (u.step()) {
        ServiceRecord s;
        s.id = u.text(0);
        s.app = u.text(1);
        s.service = u.text(2);
        s.labels = sqlite::decode_labels(u.text(3));
        s.selector = {u.text(4), u.text(5)};
        s.revision = static_cast<std::uint64_t>(u.integer(6));
        out.push_back(std::move(s));
      }
    }
    if (out.empty()) return out;
    // Merge the ordered child rows into their (id-ordered) parents.
    {
      Use u(stmt(q.ports));
      if (key) u.bind(1, *key);
      std::size_t i = 0;
      while (u.step()) {
        const std::string id = u.text(0);
        while (i < out.size() && out[i].id < id) ++i;
        if (i == out.size() || out[i].id != id) throw StoreError("corrupt state database: orphan port of " + id);
        out[i].ports.push_back({u.text(1), sqlite::decode_port(u.integer(2)),
                                sqlite::decode_port(u.integer(3)),
                                sqlite::decode_protocol(u.text(4)),
                                sqlite::decode_port_type(u.text(5)),
                                sqlite::decode_port(u.integer(6))});
      }
    }
    std::vector<bool> has_address(out.size(), false);
    {
      Use u(stmt(q.addresses));
      if (key) u.bind(1, *key);
      std::size_t i = 0;
      while (u.step()) {
        const std::string id = u.text(0);
        while (i < out.size() && out[i].id < id) ++i;
        if (i == out.size() || out[i].id != id) throw StoreError("corrupt state database: orphan address of " + id);
        if (u.integer(1) == 4)
          out[i].ipv4 = sqlite::decode_ipv4(u.blob(2));
        else
          out[i].ipv6 = sqlite::decode_ipv6(u.blob(2));
        has_address[i] = true;
      }
    }
    for (std::size_t i = 0; i < out.size(); ++i) {
      if (!has_address[i]) throw StoreError("corrupt state database: Service " + out[i].id + " has no address");
    }
    return out;
  }

  static AppRecord read_app(const Use& u) {
    return {u.text(0), u.text(1), u.text(2), static_cast<std::uint64_t>(u.integer(3)), u.integer(4)};
  }

  static SandboxRecord read_sandbox(const Use& u) {
    SandboxRecord s;
    s.id = u.text(0);
    s.app = u.text(1);
    s.service = u.text(2);
    s.labels = sqlite::decode_labels(u.text(3));
    if (!u.is_null(4)) s.ipv4 = sqlite::decode_ipv4(u.blob(4));
    if (!u.is_null(5)) s.ipv6 = sqlite::decode_ipv6(u.blob(5));
    s.iface = u.text(6);
    s.state = sqlite::decode_sandbox_state(u.text(7));
    s.changed_at_ms = u.integer(8);
    return s;
  }

  SqliteStore& store_;
  bool write_;
  bool open_ = false;
  bool holds_slot_ = true;  // of SqliteStore::transaction_open_, until commit or destruction
  std::int64_t changes_at_begin_ = 0;
};


std::unique_ptr<Transaction> make_sqlite_transaction(SqliteStore& store, bool write) {
  return std::make_unique<SqliteTransaction>(store, write);
}

}  // namespace portway::store
