// The status record next to the state database: the daemon's fields round-trip, and a record
// written by a `portway sync` of a build before the daemon still reads (a sync programmed the
// generation it read, at the time it ran).
#include <gtest/gtest.h>

#include "dataplane/sync_status.h"

namespace portway::dataplane {
namespace {

TEST(SyncStatusRecord, TheDaemonsFieldsRoundTrip) {
  SyncStatus s;
  s.dataplane = "xdp";
  s.requested = "auto";
  s.reason = "loaded";
  s.last_sync_ms = 10;
  s.store_generation = 8;
  s.programmed_generation = 7;
  s.last_programmed_ms = 9;
  s.daemon_pid = 1234;
  s.last_check_ms = 11;
  s.last_change_seconds = 0.004;
  s.store_error = "file is not a database";
  s.program_error = "no";
  s.ready = false;
  s.drift_repairs = {{"nft_table", 2}};
  EXPECT_EQ(sync_status_from_json(to_json(s)), s);
}

TEST(SyncStatusRecord, ARecordWithoutTheDaemonsFieldsReads) {
  const auto j = nlohmann::json::parse(R"({"dataplane":"nft","requested":"nft","reason":"asked",
      "last_sync_ms":5000,"store_generation":3,"changes":2,"notes":[]})");
  const SyncStatus s = sync_status_from_json(j);
  EXPECT_EQ(s.programmed_generation, 3u);
  EXPECT_EQ(s.last_programmed_ms, 5000);
  EXPECT_EQ(s.daemon_pid, 0);
  EXPECT_TRUE(s.store_error.empty());
  EXPECT_TRUE(s.drift_repairs.empty());
}

}  // namespace
}  // namespace portway::dataplane
