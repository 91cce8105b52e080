// The SQLite store's change journal (store.h changes_since, docs/model.md "The change journal"):
// complete (cascades included), written with the change and rolled back with it, bounded,
// honest about what it cannot answer, and added to a schema version 2 file without loss.
#include <gtest/gtest.h>

#include "model_support/temp_dir.h"
#include "store/sqlite_schema.h"
#include "store/sqlite_store.h"
#include "store/sqlite_test_support.h"

namespace portway::store {
namespace {

using testing::TempDir;

class ChangeJournalTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = SqliteStore::open(path_, options_); }

  std::uint64_t generation() { return store_->begin_read()->generation(); }
  std::optional<ChangeSet> changes_since(std::uint64_t g) { return store_->begin_read()->changes_since(g); }

  template <class F>
  void write(F&& f) {
    auto tx = store_->begin_write();
    f(*tx);
    tx->commit();
  }

  void put_app_with_service() {
    write([](Transaction& tx) {
      tx.put_app(app("a"));
      tx.put_service(service("a", "s", "198.18.0.1"));
      tx.replace_claims("a", {{30053, config::Protocol::udp, "a", "s"}, {8080, config::Protocol::tcp, "a", "s"}});
    });
  }

  TempDir dir_;
  std::string path_ = dir_.file("state.db");
  SqliteOptions options_;
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(ChangeJournalTest, ListsTheKeysOfEveryRecordWritten) {
  const auto g0 = generation();
  EXPECT_EQ(changes_since(g0), ChangeSet{}) << "nothing happened since now";
  put_app_with_service();
  const auto g1 = generation();
  ChangeSet first;
  first.apps = {"a"};
  first.services = {"svc/a/s"};
  first.claims = {{8080, config::Protocol::tcp}, {30053, config::Protocol::udp}};  // numeric order
  EXPECT_EQ(changes_since(g0), first);

  write([](Transaction& tx) {
    tx.put_sandbox(sandbox("sb-2", "198.18.1.2"));
    tx.put_sandbox(sandbox("sb-1", "198.18.1.1"));
  });
  const auto g2 = generation();
  write([](Transaction& tx) { tx.delete_sandbox("sb-2"); });
  ChangeSet sandboxes;
  sandboxes.sandboxes = {"sb-1", "sb-2"};
  EXPECT_EQ(changes_since(g1), sandboxes);
  ChangeSet deleted;
  deleted.sandboxes = {"sb-2"};
  EXPECT_EQ(changes_since(g2), deleted);
  ChangeSet all = first;
  all.sandboxes = {"sb-1", "sb-2"};
  EXPECT_EQ(changes_since(g0), all) << "merged over generations, each key once";
}

TEST_F(ChangeJournalTest, DeletingAnAppListsTheServicesAndClaimsItCascadesTo) {
  put_app_with_service();
  const auto g = generation();
  write([](Transaction& tx) { tx.delete_app("a"); });
  ChangeSet want;
  want.apps = {"a"};
  want.services = {"svc/a/s"};
  want.claims = {{8080, config::Protocol::tcp}, {30053, config::Protocol::udp}};
  EXPECT_EQ(changes_since(g), want);
}

TEST_F(ChangeJournalTest, RolledBackAndEmptyTransactionsLeaveNoEntry) {
  put_app_with_service();
  const auto g = generation();
  {
    auto tx = store_->begin_write();
    tx->put_sandbox(sandbox("sb-1", "198.18.1.1"));
  }  // rolled back
  write([](Transaction& tx) { tx.find_app("a"); });
  EXPECT_EQ(generation(), g);
  EXPECT_EQ(changes_since(g), ChangeSet{});
  EXPECT_EQ(raw_integer(path_, ("SELECT count(*) FROM changes WHERE generation > " + std::to_string(g)).c_str()), 0);
}

TEST_F(ChangeJournalTest, AWriteTransactionSeesItsOwnChangesOnlyAfterCommit) {
  const auto g = generation();
  auto tx = store_->begin_write();
  tx->put_sandbox(sandbox("sb-1", "198.18.1.1"));
  EXPECT_EQ(tx->changes_since(g), ChangeSet{}) << "the generation is not bumped before commit";
}

TEST_F(ChangeJournalTest, IsBoundedAndSaysUnknownBeyondItsReach) {
  store_.reset();
  options_.journal_generations = 3;
  store_ = SqliteStore::open(path_, options_);
  const auto g0 = generation();
  for (int i = 0; i < 6; ++i) {
    write([&](Transaction& tx) { tx.put_sandbox(sandbox("sb-" + std::to_string(i), "198.18.1.1")); });
  }
  const auto now = generation();
  ASSERT_EQ(now, g0 + 6);
  EXPECT_EQ(raw_integer(path_, "SELECT count(DISTINCT generation) FROM changes"), 3);
  EXPECT_FALSE(changes_since(g0)) << "pruned: the reader must compile everything";
  EXPECT_FALSE(changes_since(now - 4));
  const auto reach = changes_since(now - 3);
  ASSERT_TRUE(reach);
  EXPECT_EQ(reach->sandboxes, (std::vector<std::string>{"sb-3", "sb-4", "sb-5"}));
}

TEST_F(ChangeJournalTest, AGenerationAheadOfTheStoreIsUnknown) {
  put_app_with_service();
  EXPECT_FALSE(changes_since(generation() + 1)) << "another file, or a restored backup";
}

TEST_F(ChangeJournalTest, AVersionTwoStoreGainsTheJournalAndKeepsItsRecords) {
  put_app_with_service();
  write([](Transaction& tx) { tx.put_sandbox(sandbox("sb-1", "198.18.1.1")); });
  const auto g = generation();
  store_.reset();
  downgrade_to_v2(path_);
  ASSERT_EQ(raw_integer(path_, "SELECT max(version) FROM schema_version"), 2);

  store_ = SqliteStore::open(path_);
  EXPECT_EQ(store_->schema_version(), sqlite::kSchemaVersion);
  {
    auto tx = store_->begin_read();
    EXPECT_EQ(tx->generation(), g) << "the migration is not a change of the records";
    EXPECT_EQ(tx->services().size(), 1u);
    EXPECT_EQ(tx->claims().size(), 2u);
    EXPECT_EQ(tx->find_sandbox("sb-1"), sandbox("sb-1", "198.18.1.1"));
    EXPECT_FALSE(tx->changes_since(g - 1)) << "changes before the migration were never journaled";
    EXPECT_EQ(tx->changes_since(g), ChangeSet{});
  }
  write([](Transaction& tx) { tx.delete_app("a"); });
  ChangeSet want;
  want.apps = {"a"};
  want.services = {"svc/a/s"};
  want.claims = {{8080, config::Protocol::tcp}, {30053, config::Protocol::udp}};
  EXPECT_EQ(changes_since(g), want);
}

TEST_F(ChangeJournalTest, HandEditedGarbageIsReportedAsCorruption) {
  const auto g = generation();
  write([](Transaction& tx) { tx.put_sandbox(sandbox("sb-1", "198.18.1.1")); });
  raw_exec(path_, "UPDATE changes SET key = 'x/tcp', kind = 'claim'");
  expect_store_error([&] { changes_since(g); }, "corrupt", "garbage decoded");
}

}  // namespace
}  // namespace portway::store
