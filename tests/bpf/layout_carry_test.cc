// The counter carry of a layout upgrade (controller/dataplane/xdp/layout_upgrade.h) and the
// layout record (meta_maps.h), on a pin folder of the test's own: layout-1-sized pw_drops and
// pw_events pinned with bpf_map_create, then the real load over them.
#include <gtest/gtest.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <filesystem>

#include "dataplane/xdp/layout_upgrade.h"
#include "dataplane/xdp/meta_maps.h"
#include "dataplane/xdp/pin_layout.h"
#include "loader/bpffs.h"
#include "loader/map_info.h"
#include "loader/unique_fd.h"
#include "loader/xdp_link.h"
#include "portway/lb_abi.h"
#include "support/root.h"

namespace portway::dataplane::xdp {
namespace {

namespace fs = std::filesystem;

constexpr std::uint32_t kLayout1Drops = PW_DROP_INTERNAL + 1;      // 19
constexpr std::uint32_t kLayout1Events = PW_EV_FLOW_BASELINE + 1;  // 11

std::size_t cpus() { return static_cast<std::size_t>(libbpf_num_possible_cpus()); }

std::vector<std::uint64_t> read_counters(int fd, std::uint32_t entries) {
  std::vector<std::uint64_t> out(entries * cpus());
  for (std::uint32_t k = 0; k < entries; ++k) EXPECT_EQ(bpf_map_lookup_elem(fd, &k, out.data() + k * cpus()), 0);
  return out;
}

std::uint32_t map_id(int fd) {
  bpf_map_info info{};
  std::uint32_t len = sizeof info;
  return bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0;
}

loader::LbCapacities small() {
  loader::LbCapacities c;
  c.frontends = 64;
  c.service_addrs = 64;
  c.node_addrs = 8;
  c.backends = 64;
  c.backend_sets = 16;
  c.maglev_slots = 1024;
  c.flows = 256;
  c.fragments = 64;
  return c;
}

class LayoutCarryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PORTWAY_REQUIRE_ROOT();
    loader::ensure_bpffs(pins_.dir);
    fs::create_directories(pins_.maps());
    fs::create_directories(pins_.progs());
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(pins_.dir, ec);  // only pins: the objects go with their last holder
  }

  // A layout-1-sized per-CPU counter map, pinned; key k on CPU c holds 1000 * (k + 1) + c.
  loader::UniqueFd pin_layout1(const char* name, std::uint32_t entries, std::vector<std::uint64_t>& marks) {
    loader::UniqueFd fd{bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, name, 4, 8, entries, nullptr)};
    EXPECT_TRUE(fd) << name;
    marks.assign(entries * cpus(), 0);
    for (std::uint32_t k = 0; k < entries; ++k) {
      for (std::size_t c = 0; c < cpus(); ++c) marks[k * cpus() + c] = 1000u * (k + 1) + c;
      EXPECT_EQ(bpf_map_update_elem(fd.get(), &k, marks.data() + k * cpus(), BPF_ANY), 0);
    }
    loader::pin_object(fd.get(), pins_.map(name));
    return fd;
  }

  const PinLayout pins_{"/sys/fs/bpf/portway-layoutcarry-" + std::to_string(getpid())};
};

TEST_F(LayoutCarryTest, TheLoadCopiesEveryCounterAndTheFinishAddsWhatTheOldMapsCountedSince) {
  std::vector<std::uint64_t> drops, events;
  const loader::UniqueFd old_drops = pin_layout1("pw_drops", kLayout1Drops, drops);
  const loader::UniqueFd old_events = pin_layout1("pw_events", kLayout1Events, events);
  CounterCarry carry;
  (void)carry.load(pins_, small());
  ASSERT_TRUE(carry.carrying());

  const loader::UniqueFd new_drops = loader::open_pinned(pins_.map("pw_drops"));
  const loader::UniqueFd new_events = loader::open_pinned(pins_.map("pw_events"));
  ASSERT_EQ(loader::map_info(new_drops.get()).max_entries, PW_DROP_SLOTS);
  ASSERT_EQ(loader::map_info(new_events.get()).max_entries, PW_EVENT_SLOTS);
  ASSERT_NE(map_id(new_drops.get()), map_id(old_drops.get()));
  std::vector<std::uint64_t> want_drops(PW_DROP_SLOTS * cpus(), 0), want_events(PW_EVENT_SLOTS * cpus(), 0);
  std::copy(drops.begin(), drops.end(), want_drops.begin());
  std::copy(events.begin(), events.end(), want_events.begin());
  EXPECT_EQ(read_counters(new_drops.get(), PW_DROP_SLOTS), want_drops);
  EXPECT_EQ(read_counters(new_events.get(), PW_EVENT_SLOTS), want_events) << "the baseline is the old map's";

  // The old programs count on until every attachment runs the new ones.
  std::vector<std::uint64_t> more(cpus());
  const std::uint32_t key = PW_DROP_TTL_EXPIRED;
  ASSERT_EQ(bpf_map_lookup_elem(old_drops.get(), &key, more.data()), 0);
  for (std::size_t c = 0; c < cpus(); ++c) more[c] += 7 + c;
  ASSERT_EQ(bpf_map_update_elem(old_drops.get(), &key, more.data(), BPF_ANY), 0);
  carry.finish(pins_);
  EXPECT_FALSE(carry.carrying());
  for (std::size_t c = 0; c < cpus(); ++c) want_drops[key * cpus() + c] += 7 + c;
  EXPECT_EQ(read_counters(new_drops.get(), PW_DROP_SLOTS), want_drops);
  EXPECT_EQ(read_counters(new_events.get(), PW_EVENT_SLOTS), want_events);
}

TEST_F(LayoutCarryTest, AFailedLoadPinsTheOldMapsBack) {
  std::vector<std::uint64_t> drops, events;
  const loader::UniqueFd old_drops = pin_layout1("pw_drops", kLayout1Drops, drops);
  const loader::UniqueFd old_events = pin_layout1("pw_events", kLayout1Events, events);
  // A pinned pw_flows of another size than the settings': libbpf refuses to reuse it.
  const loader::UniqueFd flows{bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "pw_flows", sizeof(pw_flow_key),
                                              sizeof(pw_flow), 512, nullptr)};
  ASSERT_TRUE(flows);
  loader::pin_object(flows.get(), pins_.map("pw_flows"));
  CounterCarry carry;
  EXPECT_THROW((void)carry.load(pins_, small()), std::exception);
  EXPECT_FALSE(carry.carrying());
  EXPECT_EQ(map_id(loader::open_pinned(pins_.map("pw_drops")).get()), map_id(old_drops.get()));
  EXPECT_EQ(map_id(loader::open_pinned(pins_.map("pw_events")).get()), map_id(old_events.get()));
  EXPECT_EQ(read_counters(old_drops.get(), kLayout1Drops), drops);
  EXPECT_FALSE(fs::exists(pins_.map("pw_frontend_gens"))) << "nothing of the failed load stays pinned";
}

TEST_F(LayoutCarryTest, CurrentPinsCarryNothing) {
  CounterCarry carry;
  (void)carry.load(pins_, small());  // a fresh load: maps of this layout
  EXPECT_FALSE(carry.carrying());
  const loader::UniqueFd drops = loader::open_pinned(pins_.map("pw_drops"));
  const std::uint32_t id = map_id(drops.get());
  (void)carry.load(pins_, small());
  EXPECT_FALSE(carry.carrying());
  EXPECT_EQ(map_id(loader::open_pinned(pins_.map("pw_drops")).get()), id) << "reused, not re-created";
}

TEST_F(LayoutCarryTest, TheRecordedLayout) {
  EXPECT_EQ(MetaMaps::pinned_layout(pins_), 0u) << "nothing pinned";
  CounterCarry carry;
  (void)carry.load(pins_, small());
  EXPECT_EQ(MetaMaps::pinned_layout(pins_), 1u) << "maps without a record are layout 1";
  MetaMaps meta = MetaMaps::open_or_create(pins_, 16, 64);
  EXPECT_EQ(MetaMaps::pinned_layout(pins_), 1u) << "an empty record is no record";
  meta.set_layout_version(PW_LAYOUT_VERSION);
  EXPECT_EQ(MetaMaps::pinned_layout(pins_), PW_LAYOUT_VERSION);
  EXPECT_NO_THROW((void)refuse_newer_layout(pins_));
  meta.set_layout_version(PW_LAYOUT_VERSION + 1);
  // A newer layout is that layout even with a map pin missing (a repair would re-pin it).
  ASSERT_TRUE(fs::remove(pins_.map("pw_frontends")));
  EXPECT_EQ(MetaMaps::pinned_layout(pins_), PW_LAYOUT_VERSION + 1);
  try {
    (void)refuse_newer_layout(pins_);
    FAIL() << "expected NewerLayout";
  } catch (const NewerLayout& e) {
    EXPECT_EQ(e.exit_code(), kExitEnvironment);
  }
}

}  // namespace
}  // namespace portway::dataplane::xdp
