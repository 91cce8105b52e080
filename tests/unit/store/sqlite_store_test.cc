// The SQLite store against its contract (store/store.h) and docs/model.md "The SQLite file":
// WAL, foreign keys and cascades, schema version, 0600 files, atomic methods, transactions.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <fstream>

#include "model_support/fixtures.h"
#include "store/sqlite_test_support.h"
#include "model_support/temp_dir.h"
#include "store/sqlite_schema.h"
#include "store/sqlite_store.h"
#include "store/state_file.h"

namespace portway::store {
namespace {

using testing::ip4;
using testing::ip6;
using testing::TempDir;

mode_t mode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = SqliteStore::open(path_); }

  void put_app_with_service() {
    auto tx = store_->begin_write();
    tx->put_app(app("a"));
    auto s = service("a", "s", "198.18.0.1");
    s.ipv6 = ip6("2001:2::1");
    tx->put_service(s);
    tx->replace_claims("a", {{30053, config::Protocol::udp, "a", "s"}});
    tx->commit();
  }

  TempDir dir_;
  std::string path_ = dir_.file("state.db");
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(SqliteStoreTest, FilesAreOwnerOnlyAndInWalMode) {
  put_app_with_service();
  auto tx = store_->begin_read();  // keeps -wal and -shm in existence
  EXPECT_EQ(mode_of(path_), 0600u);
  EXPECT_EQ(mode_of(path_ + "-wal"), 0600u);
  EXPECT_EQ(mode_of(path_ + "-shm"), 0600u);
  tx.reset();
  // journal_mode is persistent in the file: any connection sees WAL.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "wal");
  sqlite3_finalize(st);
  sqlite3_close(db);
}

TEST_F(SqliteStoreTest, CreatesMissingParentDirectoriesPrivately) {
  const std::string nested = dir_.file("a/b/state.db");
  auto s = SqliteStore::open(nested);
  EXPECT_EQ(mode_of(dir_.file("a")), 0700u);
  EXPECT_EQ(mode_of(dir_.file("a/b")), 0700u);
  EXPECT_EQ(mode_of(nested), 0600u);
}

TEST_F(SqliteStoreTest, TightensAnExistingWorldReadableFile) {
  store_.reset();
  ASSERT_EQ(::chmod(path_.c_str(), 0644), 0);
  store_ = SqliteStore::open(path_);
  EXPECT_EQ(mode_of(path_), 0600u);
}

TEST_F(SqliteStoreTest, RefusesASymlinkedPath) {
  const std::string link = dir_.file("link.db");
  std::filesystem::create_symlink(path_, link);
  expect_store_error([&] { SqliteStore::open(link); }, "symlink", "opened a symlink");
}

TEST_F(SqliteStoreTest, WithoutCreateAMissingFileIsAnErrorAndIsNotCreated) {
  const std::string missing = dir_.file("missing.db");
  EXPECT_THROW(SqliteStore::open(missing, {.create = false}), StoreMissingError);
  EXPECT_FALSE(std::filesystem::exists(missing));
}

TEST_F(SqliteStoreTest, RecordsSchemaVersionAndApplicationId) {
  EXPECT_EQ(store_->schema_version(), sqlite::kSchemaVersion);
  EXPECT_EQ(raw_integer(path_, "SELECT max(version) FROM schema_version"), sqlite::kSchemaVersion);
  EXPECT_EQ(raw_integer(path_, "PRAGMA application_id"), sqlite::kApplicationId);
  // Reopening neither re-creates nor re-migrates.
  store_.reset();
  store_ = SqliteStore::open(path_);
  EXPECT_EQ(raw_integer(path_, "SELECT count(*) FROM schema_version"), sqlite::kSchemaVersion);
}

TEST_F(SqliteStoreTest, ServiceRangesRoundTrip) {
  EXPECT_FALSE(store_->begin_read()->service_ranges()) << "none until the first apply";
  const ServiceRanges v4_only{*net::parse_ipv4_prefix("198.18.0.0/24"), std::nullopt};
  const ServiceRanges both{*net::parse_ipv4_prefix("198.18.1.0/24"), net::parse_ipv6_prefix("2001:2::/64")};
  {
    auto tx = store_->begin_write();
    tx->put_service_ranges(v4_only);
    tx->commit();
  }
  EXPECT_EQ(store_->begin_read()->service_ranges(), v4_only);
  {
    auto tx = store_->begin_write();
    tx->put_service_ranges(both);
    EXPECT_EQ(tx->service_ranges(), both);
    // Destroyed without commit: rolled back.
  }
  EXPECT_EQ(store_->begin_read()->service_ranges(), v4_only);
}

TEST_F(SqliteStoreTest, AVersionOneStoreGainsTheServiceRangesTable) {
  store_.reset();
  downgrade_to_v2(path_);
  raw_integer(path_, "DROP TABLE service_ranges");
  raw_integer(path_, "DELETE FROM schema_version WHERE version = 2");
  store_ = SqliteStore::open(path_);
  EXPECT_EQ(store_->schema_version(), sqlite::kSchemaVersion);
  EXPECT_FALSE(store_->begin_read()->service_ranges());
}

// A state file written by the portway of schema version 3 (testdata/store/schema-v3.sql, a
// dump of one): its sandboxes keep their addresses and states, the generation does not move,
// and sandboxes with one family of either kind can be stored from then on.
TEST_F(SqliteStoreTest, AVersionThreeFileKeepsItsSandboxesAndTakesIpv6OnlyOnes) {
  const std::string old = dir_.file("v3.db");
  std::ifstream in(std::string(PORTWAY_SOURCE_DIR) + "/testdata/store/schema-v3.sql");
  ASSERT_TRUE(in) << "testdata/store/schema-v3.sql";
  const std::string dump((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  raw_exec(old, dump.c_str(), true);
  ASSERT_EQ(raw_integer(old, "SELECT max(version) FROM schema_version"), 3);

  auto store = SqliteStore::open(old);
  EXPECT_EQ(store->schema_version(), sqlite::kSchemaVersion);
  {
    auto tx = store->begin_read();
    EXPECT_EQ(tx->generation(), 3u) << "the migration is not a change of the records";
    EXPECT_EQ(tx->changes_since(3), ChangeSet{});
    const auto sandboxes = tx->sandboxes();
    ASSERT_EQ(sandboxes.size(), 2u);
    EXPECT_EQ(sandboxes[0].id, "sb-dual");
    EXPECT_EQ(sandboxes[0].ipv4, ip4("198.18.1.1"));
    EXPECT_EQ(sandboxes[0].ipv6, ip6("2001:2::1"));
    EXPECT_EQ(sandboxes[0].iface, "veth0");
    EXPECT_EQ(sandboxes[0].labels, (Labels{{"app", "a"}, {"service", "s"}, {"tier", "x"}}));
    EXPECT_EQ(sandboxes[1].id, "sb-v4");
    EXPECT_EQ(sandboxes[1].ipv4, ip4("198.18.1.2"));
    EXPECT_FALSE(sandboxes[1].ipv6);
    EXPECT_EQ(sandboxes[1].state, SandboxState::draining);
  }
  SandboxRecord v6_only = sandbox("sb-v6", "198.18.1.3");
  v6_only.ipv4.reset();
  v6_only.ipv6 = ip6("2001:2::3");
  {
    auto tx = store->begin_write();
    tx->put_sandbox(v6_only);
    tx->commit();
  }
  auto tx = store->begin_read();
  EXPECT_EQ(tx->find_sandbox("sb-v6"), v6_only);
  ASSERT_TRUE(tx->changes_since(3));
  EXPECT_EQ(tx->changes_since(3)->sandboxes, std::vector<std::string>{"sb-v6"}) << "journaled as before";
  tx.reset();
  store.reset();
  // The schema itself keeps a sandbox without any address out (a hand edit, say).
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(old.c_str(), &db), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(db, "UPDATE sandboxes SET ipv4 = NULL WHERE id = 'sb-v4'", nullptr, nullptr, nullptr),
            SQLITE_CONSTRAINT);
  sqlite3_close(db);
}

TEST_F(SqliteStoreTest, AServiceMayHaveOnlyAnIpv6Address) {
  ServiceRecord s = service("a", "s", "198.18.0.1");
  s.ipv4.reset();
  s.ipv6 = ip6("2001:2::1");
  {
    auto tx = store_->begin_write();
    tx->put_app(app("a"));
    tx->put_service(s);
    ServiceRecord none = service("a", "t", "198.18.0.2");
    none.ipv4.reset();
    expect_store_error([&] { tx->put_service(none); }, "no address", "stored a Service without an address");
    tx->commit();
  }
  EXPECT_EQ(store_->begin_read()->find_service("svc/a/s"), s);
}

TEST_F(SqliteStoreTest, RefusesANewerSchema) {
  store_.reset();
  raw_integer(path_, "INSERT INTO schema_version (version, applied_at_ms) VALUES (99, 0)");
  expect_store_error([&] { SqliteStore::open(path_); }, "schema version 99", "opened a database from the future");
}

TEST_F(SqliteStoreTest, RefusesAForeignDatabase) {
  const std::string other = dir_.file("other.db");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(other.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE mine (x INTEGER)", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  expect_store_error([&] { SqliteStore::open(other); }, "not a portway state database",
                     "took over a foreign database");
  EXPECT_EQ(raw_integer(other, "SELECT count(*) FROM sqlite_schema"), 1) << "left untouched";
}

TEST_F(SqliteStoreTest, RefusesAFileThatIsNotSqlite) {
  const std::string junk = dir_.file("junk.db");
  std::ofstream(junk) << std::string(4096, 'x');
  EXPECT_THROW(SqliteStore::open(junk), StoreError);
}

TEST_F(SqliteStoreTest, RoundTripsEveryRecord) {
  put_app_with_service();
  auto sb = sandbox("sb-1", "198.18.1.1");
  sb.ipv6 = ip6("2001:2::1:1");
  {
    auto tx = store_->begin_write();
    tx->put_sandbox(sb);
    tx->put_sandbox(sandbox("sb-0", "198.18.1.2"));
    tx->commit();
  }
  auto tx = store_->begin_read();
  auto a = tx->find_app("a");
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, app("a"));
  auto want = service("a", "s", "198.18.0.1");
  want.ipv6 = ip6("2001:2::1");
  EXPECT_EQ(tx->find_service("svc/a/s"), want);
  EXPECT_EQ(tx->services(), std::vector<ServiceRecord>{want});
  EXPECT_EQ(tx->services_of_app("a"), std::vector<ServiceRecord>{want});
  EXPECT_TRUE(tx->services_of_app("b").empty());
  EXPECT_EQ(tx->claims(), (std::vector<NodePortClaim>{{30053, config::Protocol::udp, "a", "s"}}));
  EXPECT_EQ(tx->find_sandbox("sb-1"), sb);
  const auto all = tx->sandboxes();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].id, "sb-0") << "ordered by id";
  EXPECT_FALSE(tx->find_sandbox("nope"));
  EXPECT_FALSE(tx->find_service("svc/a/x"));
}

TEST_F(SqliteStoreTest, UpdatingAnAppKeepsItsServices) {
  // An upsert, not INSERT OR REPLACE: REPLACE would delete the row and cascade.
  put_app_with_service();
  {
    auto tx = store_->begin_write();
    tx->put_app(app("a", 2));
    tx->commit();
  }
  auto tx = store_->begin_read();
  EXPECT_EQ(tx->find_app("a")->version, 2u);
  EXPECT_TRUE(tx->find_service("svc/a/s"));
  EXPECT_EQ(tx->claims().size(), 1u);
}

TEST_F(SqliteStoreTest, DeletingAnAppCascadesToServicesAddressesAndClaims) {
  put_app_with_service();
  {
    auto tx = store_->begin_write();
    tx->put_sandbox(sandbox("sb-1", "198.18.1.1"));
    EXPECT_TRUE(tx->delete_app("a"));
    EXPECT_FALSE(tx->delete_app("a"));
    tx->commit();
  }
  auto tx = store_->begin_read();
  EXPECT_TRUE(tx->services().empty());
  EXPECT_TRUE(tx->claims().empty());
  EXPECT_TRUE(tx->allocated_ipv4(ip4("0.0.0.0"), ip4("255.255.255.255"), 10).empty());
  EXPECT_TRUE(tx->allocated_ipv6(ip6("::"), ip6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 10).empty());
  EXPECT_EQ(raw_integer(path_, "SELECT count(*) FROM service_ports"), 0);
  EXPECT_EQ(tx->sandboxes().size(), 1u) << "sandboxes belong to the runtime";
}

TEST_F(SqliteStoreTest, AServiceNeedsItsApp) {
  auto tx = store_->begin_write();
  EXPECT_THROW(tx->put_service(service("ghost", "s", "198.18.0.1")), StoreError);
}

TEST_F(SqliteStoreTest, AFailedMethodLeavesTheTransactionAsItWasAndUsable) {
  put_app_with_service();
  auto tx = store_->begin_write();
  tx->put_app(app("b"));
  // svc/b/t wants svc/a/s's address: its row and ports would be written before the address
  // check fails; the savepoint must take them back.
  expect_store_error([&] { tx->put_service(service("b", "t", "198.18.0.1")); },
                     "198.18.0.1 is already allocated to svc/a/s", "two Services got one address");
  EXPECT_FALSE(tx->find_service("svc/b/t"));
  tx->put_service(service("b", "t", "198.18.0.2"));
  tx->commit();
  auto rd = store_->begin_read();
  EXPECT_EQ(rd->find_service("svc/b/t")->ipv4, ip4("198.18.0.2"));
  EXPECT_EQ(raw_integer(path_, "SELECT count(*) FROM service_ports WHERE service_id = 'svc/b/t'"), 2);
}

TEST_F(SqliteStoreTest, PutServiceReplacesPortsAndAddresses) {
  put_app_with_service();
  auto s = service("a", "s", "198.18.0.9", 2);
  s.ports.pop_back();
  {
    auto tx = store_->begin_write();
    tx->put_service(s);
    tx->commit();
  }
  auto tx = store_->begin_read();
  EXPECT_EQ(tx->find_service("svc/a/s"), s) << "IPv6 dropped, one port, new address";
  EXPECT_EQ(tx->allocated_ipv4(ip4("198.18.0.0"), ip4("198.18.0.255"), 10),
            std::vector<net::Ipv4>{ip4("198.18.0.9")});
}

TEST_F(SqliteStoreTest, AllocatedRangeScanIsOrderedBoundedAndFamilySpecific) {
  {
    auto tx = store_->begin_write();
    tx->put_app(app("a"));
    int n = 0;
    for (const char* a : {"198.18.0.7", "198.18.0.3", "198.18.0.5", "198.18.1.0"}) {
      tx->put_service(service("a", "s" + std::to_string(n++), a));
    }
    tx->commit();
  }
  auto tx = store_->begin_read();
  EXPECT_EQ(tx->allocated_ipv4(ip4("198.18.0.4"), ip4("198.18.0.255"), 10),
            (std::vector<net::Ipv4>{ip4("198.18.0.5"), ip4("198.18.0.7")}));
  EXPECT_EQ(tx->allocated_ipv4(ip4("198.18.0.0"), ip4("198.18.1.0"), 2),
            (std::vector<net::Ipv4>{ip4("198.18.0.3"), ip4("198.18.0.5")}));
  EXPECT_TRUE(tx->allocated_ipv6(ip6("::"), ip6("ffff::"), 10).empty());
}

TEST_F(SqliteStoreTest, ReplaceClaimsTouchesOnlyThatApp) {
  {
    auto tx = store_->begin_write();
    tx->put_app(app("a"));
    tx->put_app(app("b"));
    tx->replace_claims("a", {{1000, config::Protocol::tcp, "a", "x"}, {1000, config::Protocol::udp, "a", "x"}});
    tx->replace_claims("b", {{2000, config::Protocol::tcp, "b", "y"}});
    tx->replace_claims("a", {{1001, config::Protocol::tcp, "a", "x"}});
    // Store-level uniqueness: b cannot take a's claim even if the model forgot to check.
    EXPECT_THROW(tx->replace_claims("b", {{1001, config::Protocol::tcp, "b", "y"}}), StoreError);
    tx->commit();
  }
  EXPECT_EQ(store_->begin_read()->claims(),
            (std::vector<NodePortClaim>{{1001, config::Protocol::tcp, "a", "x"},
                                        {2000, config::Protocol::tcp, "b", "y"}}));
}

TEST_F(SqliteStoreTest, DestroyingAnUncommittedTransactionRollsBack) {
  {
    auto tx = store_->begin_write();
    tx->put_app(app("a"));
  }
  EXPECT_FALSE(store_->begin_read()->find_app("a"));
}

TEST_F(SqliteStoreTest, GenerationCountsOnlyTransactionsThatChangedSomething) {
  const auto g0 = store_->begin_read()->generation();
  {
    auto tx = store_->begin_write();
    tx->find_app("a");
    tx->commit();
  }
  EXPECT_EQ(store_->begin_read()->generation(), g0);
  put_app_with_service();
  EXPECT_EQ(store_->begin_read()->generation(), g0 + 1);
  {
    auto tx = store_->begin_write();
    tx->put_app(app("z"));
  }  // rolled back
  EXPECT_EQ(store_->begin_read()->generation(), g0 + 1);
}

TEST_F(SqliteStoreTest, ReadTransactionsRefuseWrites) {
  auto tx = store_->begin_read();
  EXPECT_FALSE(tx->writable());
  EXPECT_THROW(tx->put_app(app("a")), std::logic_error);
}

TEST_F(SqliteStoreTest, OneTransactionAtATimePerStoreObject) {
  auto tx = store_->begin_read();
  EXPECT_THROW(store_->begin_write(), std::logic_error);
  tx.reset();
  EXPECT_NO_THROW(store_->begin_write());
}

TEST_F(SqliteStoreTest, CommittedTransactionCannotBeUsedAgain) {
  auto tx = store_->begin_write();
  tx->commit();
  EXPECT_THROW(tx->find_app("a"), std::logic_error);
  EXPECT_THROW(tx->commit(), std::logic_error);
}

TEST_F(SqliteStoreTest, ASecondWriterWaitsThenGetsBusy) {
  auto other = SqliteStore::open(path_, {.create = false, .busy_timeout = std::chrono::milliseconds(50)});
  auto tx = store_->begin_write();
  EXPECT_THROW(other->begin_write(), StoreBusyError);
  // Readers are never blocked by the writer (WAL) and see the last committed state.
  tx->put_app(app("a"));
  EXPECT_FALSE(other->begin_read()->find_app("a"));
  tx->commit();
  EXPECT_TRUE(other->begin_read()->find_app("a"));
  EXPECT_NO_THROW(other->begin_write());
}

TEST_F(SqliteStoreTest, AReadTransactionSeesOneSnapshot) {
  auto other = SqliteStore::open(path_, {.create = false});
  auto rd = other->begin_read();
  put_app_with_service();
  EXPECT_FALSE(rd->find_app("a")) << "the snapshot was taken at begin_read";
  EXPECT_TRUE(rd->services().empty());
}

TEST_F(SqliteStoreTest, RejectsValuesTheSchemaForbids) {
  auto tx = store_->begin_write();
  tx->put_app(app("a"));
  auto s = service("a", "s", "198.18.0.1");
  s.ports[1].name = s.ports[0].name;  // duplicate port name
  EXPECT_THROW(tx->put_service(s), StoreError);
  s = service("a", "s", "198.18.0.1");
  s.ports[0].port = 0;
  EXPECT_THROW(tx->put_service(s), StoreError);
  s = service("a", "s", "198.18.0.1");
  s.revision = 0;
  EXPECT_THROW(tx->put_service(s), StoreError);
  EXPECT_FALSE(tx->find_service("svc/a/s"));
}

TEST_F(SqliteStoreTest, HandEditedGarbageIsReportedAsCorruption) {
  {
    auto tx = store_->begin_write();
    tx->put_sandbox(sandbox("sb-1", "198.18.1.1"));
    tx->commit();
  }
  raw_integer(path_, "UPDATE sandboxes SET labels = 'not json'");
  expect_store_error([&] { store_->begin_read()->sandboxes(); }, "corrupt", "garbage decoded");
}

TEST(StatePath, FlagBeatsEnvironmentBeatsDefault) {
  ::unsetenv(kStatePathEnv);
  EXPECT_EQ(resolve_state_path(std::nullopt), "/var/lib/portway/state.db");
  ::setenv(kStatePathEnv, "/tmp/x.db", 1);
  EXPECT_EQ(resolve_state_path(std::nullopt), "/tmp/x.db");
  EXPECT_EQ(resolve_state_path(std::string("/tmp/y.db")), "/tmp/y.db");
  ::setenv(kStatePathEnv, "", 1);
  EXPECT_EQ(resolve_state_path(std::nullopt), "/var/lib/portway/state.db") << "empty = unset";
  ::unsetenv(kStatePathEnv);
}

}  // namespace
}  // namespace portway::store

namespace portway::store {
namespace {

// A reader that finds the file while another process creates it (a `sync`, which refuses
// an empty store, racing the first `apply`) never finds it empty: the database appears under
// its name only with its schema in it. Bounded: 100 creations.
TEST(SqliteStoreCreation, AFileBeingCreatedIsNeverSeenEmpty) {
  testing::TempDir dir;
  int seen = 0;
  for (int i = 0; i < 100; ++i) {
    const std::string path = dir.file("race-" + std::to_string(i) + ".db");
    // Another process, as a `sync` racing the first `apply` is (SQLite's locks are per process).
    const pid_t creator = ::fork();
    ASSERT_GE(creator, 0);
    if (creator == 0) {
      try {
        (void)SqliteStore::open(path, {.create = true});
      } catch (...) {
        ::_exit(1);
      }
      ::_exit(0);
    }
    int status = 0;
    const auto done = [&] { return ::waitpid(creator, &status, WNOHANG) == creator; };
    while (!done()) {
      if (!std::filesystem::exists(path)) continue;
      try {
        (void)SqliteStore::open(path, {.create = false});
        ++seen;
      } catch (const StoreMissingError& e) {
        ADD_FAILURE() << "a reader saw the store half-created: " << e.what();
        ::waitpid(creator, &status, 0);
        break;
      } catch (const StoreError&) {
        // busy during the creator's first transaction: not the subject here
      }
    }
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the creator failed";
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir.path(), ec))
      EXPECT_EQ(entry.path().filename().string().find(".init-"), std::string::npos) << entry.path();
  }
  std::printf("[ figures  ] 100 creations, %d reads of the file while it was being created\n", seen);
}

}  // namespace
}  // namespace portway::store
