// The daemon's store watch wakes for the database and its write-ahead log only (not for the
// status record the daemon itself writes next to them, which would wake it in a loop), and for
// the database being replaced.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "daemon/store_watch.h"

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

TEST_F(StoreWatchTest, WakesForTheDatabaseAndItsLogOnly) {
  StoreWatch watch((dir_ / "state.db").string());
  EXPECT_FALSE(watch.drain()) << "nothing happened yet";
  append("dataplane.json");
  append("state.db-shm");
  append("other.db");
  EXPECT_FALSE(watch.drain()) << "other files in the directory";
  append("state.db-wal");
  EXPECT_TRUE(watch.drain()) << "a commit appends to the -wal file";
  EXPECT_FALSE(watch.drain()) << "drained";
  append("state.db");
  EXPECT_TRUE(watch.drain());
}

TEST_F(StoreWatchTest, WakesWhenTheDatabaseIsReplacedOrRemoved) {
  StoreWatch watch((dir_ / "state.db").string());
  std::ofstream(dir_ / "restore.tmp") << "y";
  (void)watch.drain();
  fs::rename(dir_ / "restore.tmp", dir_ / "state.db");
  EXPECT_TRUE(watch.drain());
  fs::remove(dir_ / "state.db");
  EXPECT_TRUE(watch.drain());
}

TEST_F(StoreWatchTest, AMissingDirectoryIsAnError) {
  EXPECT_THROW(StoreWatch((dir_ / "absent" / "state.db").string()), std::system_error);
}

}  // namespace
}  // namespace portway::daemon
