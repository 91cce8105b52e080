// The daemon's store watch wakes for the database, its write-ahead log and its commit marker
// only (not for the status record the daemon itself writes next to them, which would wake it
// in a loop), and for the database being replaced. A real store's commit touches the marker
// only once the new generation is readable.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "daemon/store_watch.h"
#include "store/sqlite_store.h"

namespace portway::daemon {
namespace {

namespace fs = std::filesystem;

class StoreWatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("portway-store-watch-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "state.db") << "x";
  }
  void TearDown() override { fs::remove_all(dir_); }
  void append(const std::string& name) { std::ofstream(dir_ / name, std::ios::app) << "more"; }

  fs::path dir_;
};

using Change = StoreWatch::Change;

TEST_F(StoreWatchTest, WakesForTheDatabaseItsLogAndItsMarkerOnly) {
  StoreWatch watch((dir_ / "state.db").string());
  EXPECT_EQ(watch.drain(), Change::kNone) << "nothing happened yet";
  append("dataplane.json");
  append("state.db-shm");
  append("other.db");
  append("other.db-commit");
  EXPECT_EQ(watch.drain(), Change::kNone) << "other files in the directory";
  append("state.db-wal");
  EXPECT_EQ(watch.drain(), Change::kWritten) << "a commit appends to the -wal file";
  EXPECT_EQ(watch.drain(), Change::kNone) << "drained";
  append("state.db");
  EXPECT_EQ(watch.drain(), Change::kWritten);
  append("state.db-wal");
  append("state.db-commit");
  EXPECT_EQ(watch.drain(), Change::kCommitted) << "the marker says the commit is visible";
}

TEST_F(StoreWatchTest, WakesWhenTheDatabaseIsReplacedOrRemoved) {
  StoreWatch watch((dir_ / "state.db").string());
  std::ofstream(dir_ / "restore.tmp") << "y";
  (void)watch.drain();
  fs::rename(dir_ / "restore.tmp", dir_ / "state.db");
  EXPECT_EQ(watch.drain(), Change::kCommitted);
  fs::remove(dir_ / "state.db");
  EXPECT_EQ(watch.drain(), Change::kCommitted);
}

// Every commit that changed something touches the marker after COMMIT; a read-only
// transaction, or a write that changed nothing, does not (the daemon would wake for nothing).
TEST_F(StoreWatchTest, AStoreCommitTouchesTheMarkerOnceItIsReadable) {
  fs::remove(dir_ / "state.db");
  const std::string db = (dir_ / "state.db").string();
  auto writer = store::SqliteStore::open(db, {.create = true});
  auto reader = store::SqliteStore::open(db, {.create = false});
  StoreWatch watch(db);
  (void)watch.drain();
  for (int i = 0; i < 3; ++i) {
    const std::uint64_t before = reader->begin_read()->generation();
    {
      auto tx = writer->begin_write();
      store::SandboxRecord s;
      s.id = "sb-" + std::to_string(i);
      s.app = "app";
      s.service = "web";
      s.ipv4 = net::Ipv4{0xC6120001u + static_cast<std::uint32_t>(i)};  // a sandbox has an address
      tx->put_sandbox(s);
      tx->commit();
    }
    ASSERT_EQ(watch.drain(), Change::kCommitted) << "commit " << i;
    EXPECT_EQ(reader->begin_read()->generation(), before + 1) << "visible when the marker is touched";
  }
  (void)writer->begin_read()->generation();
  {
    auto tx = writer->begin_write();
    tx->commit();
  }
  EXPECT_NE(watch.drain(), Change::kCommitted) << "nothing changed, no marker";
}

TEST_F(StoreWatchTest, AMissingDirectoryIsAnError) {
  EXPECT_THROW(StoreWatch((dir_ / "absent" / "state.db").string()), std::system_error);
}

}  // namespace
}  // namespace portway::daemon
