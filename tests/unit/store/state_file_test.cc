// The state file's safety (docs/model.md "The SQLite file"): opening a store never drops the
// locks SQLite holds in this process, readers never create, initialise or lock the file for
// writing, and a file that is not portway's own (another program's database, another user's
// file) is refused exactly as it was found.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "model_support/fixtures.h"
#include "model_support/temp_dir.h"
#include "store/sqlite_store.h"

namespace portway::store {
namespace {

using namespace std::chrono_literals;
using testing::TempDir;

std::string bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool exists(const std::string& path) { return std::filesystem::exists(path); }

// `f` must throw exactly an E whose message says `fragment`.
template <typename E, typename F>
void expect_error(F&& f, const std::string& fragment) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one saying \"" << fragment << "\"";
  } catch (const E& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

// Another program's database, as sqlite3(1) leaves it: rollback journal, one table.
void make_foreign_database(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);
}

SandboxRecord sandbox(const std::string& id, std::uint32_t v4) {
  return {id, "a", "s", {}, net::Ipv4{v4}, {}, "veth0", SandboxState::running, 1};
}

// Whether another process sees any POSIX lock held on `path` (by this process): a forked
// child asks with F_GETLK, since any descriptor this process opened and closed on the file
// would itself drop the locks under test.
bool another_process_sees_a_lock(const std::string& path) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) ::_exit(2);
    struct flock probe {};
    probe.l_type = F_WRLCK;
    probe.l_whence = SEEK_SET;
    probe.l_start = 0;
    probe.l_len = 0;  // the whole file and beyond
    if (::fcntl(fd, F_GETLK, &probe) != 0) ::_exit(3);
    ::_exit(probe.l_type == F_UNLCK ? 1 : 0);
  }
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) <= 1) << "the probe failed: " << status;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

class StateFileTest : public ::testing::Test {
 protected:
  TempDir dir_;
  std::string path_ = dir_.file("state.db");
};

TEST_F(StateFileTest, OpeningAnotherStoreKeepsTheLocksOfTheFirst) {
  auto first = SqliteStore::open(path_);
  {
    auto tx = first->begin_write();
    tx->put_sandbox(sandbox("sb-1", 0xC6120101));
    tx->commit();
  }
  auto reading = first->begin_read();  // a read mark in -shm, as a running sync holds
  ASSERT_TRUE(another_process_sees_a_lock(path_ + "-shm"));
  // A second connection in the same process (a daemon's threads, these tests) opens and
  // checks the same files: that must not release the first one's locks, or another process
  // would think nobody uses the WAL index and rebuild or truncate it under the reader.
  auto second = SqliteStore::open(path_);
  auto third = SqliteStore::open(path_, {.create = false});
  EXPECT_TRUE(another_process_sees_a_lock(path_ + "-shm")) << "the locks on -shm were dropped";
  EXPECT_TRUE(another_process_sees_a_lock(path_)) << "the lock on the database was dropped";
  EXPECT_EQ(reading->sandboxes().size(), 1u);
}

TEST_F(StateFileTest, OpeningACurrentStoreWaitsForNoWriter) {
  auto writer = SqliteStore::open(path_);
  auto tx = writer->begin_write();
  tx->put_sandbox(sandbox("sb-1", 0xC6120101));
  // Readers (services, sync) open and read while the write transaction is open: no schema
  // preparation under the write lock on every open.
  for (bool create : {false, true}) {
    std::unique_ptr<SqliteStore> reader;
    ASSERT_NO_THROW(reader = SqliteStore::open(path_, {.create = create, .busy_timeout = 20ms}))
        << "create=" << create;
    EXPECT_TRUE(reader->begin_read()->sandboxes().empty());
  }
  tx->commit();
}

TEST_F(StateFileTest, WithoutCreateAnAbsentOrEmptyFileIsMissingAndStaysSo) {
  expect_error<StoreMissingError>([&] { SqliteStore::open(path_, {.create = false}); }, "does not exist");
  EXPECT_FALSE(exists(path_));

  std::ofstream(path_).close();  // 0 bytes: truncated, or created by `touch`
  ASSERT_EQ(::chmod(path_.c_str(), 0600), 0);
  expect_error<StoreMissingError>([&] { SqliteStore::open(path_, {.create = false}); },
                                  "nothing was ever applied");
  EXPECT_EQ(std::filesystem::file_size(path_), 0u) << "a reader initialised the file";
  EXPECT_FALSE(exists(path_ + "-wal"));
  EXPECT_FALSE(exists(path_ + "-shm"));

  // A writer makes it a store, as it would a missing one.
  SqliteStore::open(path_)->begin_write()->commit();
  EXPECT_NO_THROW(SqliteStore::open(path_, {.create = false}));
}

TEST_F(StateFileTest, AForeignDatabaseIsRefusedByteForByteUnchanged) {
  const std::string other = dir_.file("other.db");
  make_foreign_database(other, "CREATE TABLE mine (x INTEGER); INSERT INTO mine VALUES (1)");
  const std::string before = bytes_of(other);
  ASSERT_EQ(before[18], 1) << "the fixture is in rollback-journal mode";
  for (bool create : {true, false}) {
    expect_error<StoreError>([&] { SqliteStore::open(other, {.create = create}); },
                             "not a portway state database");
    EXPECT_TRUE(bytes_of(other) == before) << "create=" << create << ": the file was modified";
  }
  EXPECT_FALSE(exists(other + "-wal"));
}

TEST_F(StateFileTest, AnotherProgramsEmptyDatabaseIsNotTakenOver) {
  const std::string other = dir_.file("other.db");
  make_foreign_database(other, "PRAGMA application_id = 1234; PRAGMA user_version = 1");
  const std::string before = bytes_of(other);
  expect_error<StoreError>([&] { SqliteStore::open(other); }, "not a portway state database");
  EXPECT_TRUE(bytes_of(other) == before) << "the file was modified";
}

TEST_F(StateFileTest, AStateFileOwnedByAnotherUserIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "making a file another user's needs root (chown)";
  SqliteStore::open(path_)->begin_write()->commit();
  const std::string before = bytes_of(path_);
  ASSERT_EQ(::chown(path_.c_str(), 65534, 65534), 0);
  for (bool create : {true, false}) {
    expect_error<StoreError>([&] { SqliteStore::open(path_, {.create = create}); }, "owned by uid 65534");
  }
  EXPECT_TRUE(bytes_of(path_) == before) << "the file was modified";
  ASSERT_EQ(::chown(path_.c_str(), 0, 0), 0);

  // A WAL another user left next to it would be replayed into the store: refused too.
  std::ofstream(path_ + "-wal").close();
  ASSERT_EQ(::chown((path_ + "-wal").c_str(), 65534, 65534), 0);
  expect_error<StoreError>([&] { SqliteStore::open(path_); }, "owned by uid 65534");
}

TEST_F(StateFileTest, ACompanionOthersCanReadIsTightened) {
  SqliteStore::open(path_)->begin_write()->commit();
  std::ofstream(path_ + "-shm").close();
  ASSERT_EQ(::chmod((path_ + "-shm").c_str(), 0644), 0);
  auto s = SqliteStore::open(path_);
  struct stat st {};
  ASSERT_EQ(::stat((path_ + "-shm").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(StateFileTest, AFifoIsRefusedWithoutHanging) {
  ASSERT_EQ(::mkfifo(path_.c_str(), 0600), 0);
  expect_error<StoreError>([&] { SqliteStore::open(path_); }, "not a regular file");
}

}  // namespace
}  // namespace portway::store
