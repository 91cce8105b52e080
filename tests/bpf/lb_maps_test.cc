// loader::LbMaps and the capacities against the real kernel maps of portway_lb.
#include "loader/lb_maps.h"

#include <linux/bpf.h>

#include <gtest/gtest.h>

#include <bpf/bpf.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <iostream>
#include <thread>

#include "lb_fixture.h"
#include "loader/error.h"
#include "loader/lb_capacities.h"
#include "loader/lb_skeleton.h"
#include "loader/libbpf_log.h"
#include "loader/map_info.h"
#include "loader/unique_fd.h"
#include "support/cpu_pin.h"
#include "lb_maps_test_support.h"
#include "support/root.h"

namespace portway::test::lb {
namespace {

using loader::LbCapacities;
using loader::LbMaps;
using loader::open_and_load_lb;

class LbMapsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PORTWAY_REQUIRE_ROOT();
    loader::route_libbpf_logs_to_spdlog();
  }
};

TEST_F(LbMapsTest, CapacitiesAreTheMapsRealSizes) {
  const auto caps = small_caps();
  auto skel = open_and_load_lb(caps);
  const LbMaps maps(loader::lb_map_fds(*skel));
  EXPECT_EQ(maps.capacities(), caps);
  // The maps sized along with another one.
  EXPECT_EQ(loader::map_info(bpf_map__fd(skel->maps.pw_frontend_stats)).max_entries,
            caps.frontends);
  EXPECT_EQ(loader::map_info(bpf_map__fd(skel->maps.pw_backend_stats)).max_entries,
            caps.backends);
  EXPECT_EQ(loader::map_info(bpf_map__fd(skel->maps.pw_reverse)).max_entries, caps.flows);
  EXPECT_EQ(loader::map_info(bpf_map__fd(skel->maps.pw_drops)).max_entries, PW_DROP_SLOTS);
}

TEST_F(LbMapsTest, ZeroCapacityAndLateChangesAreRefused) {
  auto caps = small_caps();
  caps.flows = 0;
  expect_error([&] { (void)open_and_load_lb(caps); }, EINVAL, "flows = 0");
  auto skel = open_and_load_lb(small_caps());
  EXPECT_THROW(loader::apply_capacities(*skel, small_caps()), loader::Error);
}

TEST_F(LbMapsTest, MapsOfTheWrongShapeAreRefused) {
  auto skel = open_and_load_lb(small_caps());
  auto fds = loader::lb_map_fds(*skel);
  std::swap(fds.frontends, fds.flows);
  expect_error([&] { LbMaps maps(fds); }, EINVAL, "swapped fds");
  fds = loader::lb_map_fds(*skel);
  fds.drops = -1;
  EXPECT_THROW(LbMaps maps(fds), loader::Error);
}

TEST_F(LbMapsTest, FrontendsAndAddressesRoundTrip) {
  auto skel = open_and_load_lb(small_caps());
  LbMaps maps(loader::lb_map_fds(*skel));
  pw_frontend_key k{};
  k.addr = be32(kSvcA);
  k.port = be16(443);
  k.proto = kTcp;
  k.kind = PW_FRONTEND_SERVICE;
  pw_frontend v{};
  v.id = 7;
  v.set_id = 3;
  v.target_port = be16(8443);
  maps.upsert_frontend(k, v);
  const auto got = maps.frontend(k);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->id, 7u);
  EXPECT_EQ(got->target_port, be16(8443));
  EXPECT_EQ(maps.frontends().size(), 1u);
  EXPECT_TRUE(maps.erase_frontend(k));
  EXPECT_FALSE(maps.erase_frontend(k));
  EXPECT_FALSE(maps.frontend(k).has_value());

  maps.upsert_service_addr(be32(kSvcA));
  maps.upsert_node_addr(be32(kNode), pw_node_addr{.flags = PW_NODE_ADDR_HAIRPIN});
  EXPECT_EQ(maps.service_addrs(), std::vector<std::uint32_t>{be32(kSvcA)});
  ASSERT_EQ(maps.node_addrs().size(), 1u);
  EXPECT_EQ(maps.node_addrs()[0].second.flags, PW_NODE_ADDR_HAIRPIN);
  EXPECT_TRUE(maps.erase_service_addr(be32(kSvcA)));
  EXPECT_TRUE(maps.erase_node_addr(be32(kNode)));
  EXPECT_TRUE(maps.node_addrs().empty());
}

TEST_F(LbMapsTest, IdsBeyondCapacityAreRefused) {
  const auto caps = small_caps();
  auto skel = open_and_load_lb(caps);
  LbMaps maps(loader::lb_map_fds(*skel));
  expect_error([&] { maps.set_backend(caps.backends, pw_backend{}); }, EINVAL, "backend id");
  pw_backend b{};
  b.set_id = caps.backend_sets;
  expect_error([&] { maps.set_backend(0, b); }, EINVAL, "backend set id");
  pw_frontend f{};
  f.id = caps.frontends;
  expect_error([&] { maps.upsert_frontend(pw_frontend_key{}, f); }, EINVAL, "frontend id");
  f.id = 0;
  f.set_id = caps.backend_sets;
  expect_error([&] { maps.upsert_frontend(pw_frontend_key{}, f); }, EINVAL, "frontend set id");

  const std::vector<std::uint32_t> good(251, 1);
  maps.install_backend_set(2, good);
  std::vector<std::uint32_t> bad(251, 1);
  bad[100] = caps.backends;
  expect_error([&] { maps.install_backend_set(2, bad); }, EINVAL, "backend id in table");
  EXPECT_EQ(maps.backend_set(2), good) << "a refused table must leave the old one in place";
  expect_error([&] { maps.install_backend_set(caps.backend_sets, good); }, EINVAL, "set id");
}

TEST_F(LbMapsTest, BackendSetSwapReplacesTheWholeTableWithoutWaiting) {
  auto skel = open_and_load_lb(small_caps());
  LbMaps maps(loader::lb_map_fds(*skel));
  std::vector<std::uint32_t> first(251);
  std::vector<std::uint32_t> second(1021);
  for (std::uint32_t i = 0; i < first.size(); ++i) {
    first[i] = i % 7;
  }
  for (std::uint32_t i = 0; i < second.size(); ++i) {
    second[i] = 100 + i % 13;
  }
  EXPECT_TRUE(maps.backend_set(4).empty());
  maps.install_backend_set(4, first);
  EXPECT_EQ(maps.backend_set(4), first);
  // Opening the maps retires every free slot (a previous owner may have just switched away
  // from them), so the first install waits once; later ones find free slots.
  EXPECT_EQ(maps.grace_period_waits(), 1u);
  const std::uint64_t first_desc = maps.backend_set_descriptor(4);
  EXPECT_EQ(pw_set_desc_m(first_desc), 251u);

  constexpr int kSwaps = 10;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kSwaps; ++i) {
    maps.install_backend_set(4, i % 2 == 0 ? second : first);
  }
  const auto per_swap = std::chrono::duration<double, std::micro>(
                            std::chrono::steady_clock::now() - start) / kSwaps;
  maps.install_backend_set(4, second);
  EXPECT_EQ(maps.backend_set(4), second);
  // 16384 slots hold 11 tables of up to 1021 without reusing one: no wait.
  EXPECT_EQ(maps.grace_period_waits(), 1u);
  EXPECT_NE(pw_set_desc_offset(maps.backend_set_descriptor(4)), pw_set_desc_offset(first_desc))
      << "a new table goes to other slots than the one programs may be reading";
  std::cout << "backend set swap (M = 251/1021): " << per_swap.count()
            << " us per install_backend_set (copy into the mmap + descriptor switch)\n";
  // The same table again is not rewritten.
  const std::uint64_t desc = maps.backend_set_descriptor(4);
  maps.install_backend_set(4, second);
  EXPECT_EQ(maps.backend_set_descriptor(4), desc);
}

TEST_F(LbMapsTest, ManySetsSwitchInOneBatch) {
  auto caps = small_caps();
  caps.backend_sets = 2000;
  caps.maglev_slots = 1u << 20;
  auto skel = open_and_load_lb(caps);
  LbMaps maps(loader::lb_map_fds(*skel));
  std::vector<std::vector<std::uint32_t>> tables(2000);
  std::vector<loader::BackendSetTable> sets;
  for (std::uint32_t i = 0; i < tables.size(); ++i) {
    tables[i].assign(251, i % caps.backends);
    sets.push_back({i, tables[i]});
  }
  const auto start = std::chrono::steady_clock::now();
  maps.install_backend_sets(sets);
  const auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                            start);
  std::cout << "2000 backend sets (M = 251) built and switched in " << ms.count() << " ms\n";
  RecordProperty("sets_2000_ms", static_cast<int>(ms.count()));
  for (const std::uint32_t i : {0u, 999u, 1999u}) {
    EXPECT_EQ(maps.backend_set(i), tables[i]) << "set " << i;
  }
  // One bad table: nothing switched.
  std::vector<std::uint32_t> bad(251, caps.backends);
  std::vector<std::uint32_t> other(251, 5);
  const loader::BackendSetTable mixed[] = {{0, other}, {1, bad}};
  expect_error([&] { maps.install_backend_sets(mixed); }, EINVAL, "bad table in batch");
  EXPECT_EQ(maps.backend_set(0), tables[0]);
}

TEST_F(LbMapsTest, EmptyAndClearedSets) {
  auto skel = open_and_load_lb(small_caps());
  LbMaps maps(loader::lb_map_fds(*skel));
  maps.install_backend_set(1, {});
  EXPECT_TRUE(maps.backend_set(1).empty());
  EXPECT_EQ(maps.backend_set_descriptor(1), 0u);
  EXPECT_FALSE(maps.clear_backend_set(1)) << "an empty set has no table to clear";
  maps.install_backend_set(1, std::vector<std::uint32_t>(251, 3));
  EXPECT_EQ(maps.backend_set(1).size(), 251u);
  EXPECT_TRUE(maps.clear_backend_set(1));
  EXPECT_FALSE(maps.clear_backend_set(1));
  EXPECT_TRUE(maps.backend_set(1).empty());
  EXPECT_EQ(maps.slot_allocator().retired_slots() + maps.slot_allocator().free_slots(),
            small_caps().maglev_slots)
      << "every slot is free or waiting for a grace period again";
}

TEST_F(LbMapsTest, BackendsReadBackAndClear) {
  auto skel = open_and_load_lb(small_caps());
  LbMaps maps(loader::lb_map_fds(*skel));
  pw_backend b{};
  b.addr = be32(kSandbox);
  b.ifindex = 3;
  b.set_id = 2;
  b.state = PW_BACKEND_DRAINING;
  maps.set_backend(17, b);
  EXPECT_EQ(maps.backend(17).addr, be32(kSandbox));
  EXPECT_EQ(maps.backend(17).state, PW_BACKEND_DRAINING);
  maps.clear_backend(17);
  EXPECT_EQ(maps.backend(17).state, PW_BACKEND_UNUSED);
  EXPECT_EQ(maps.backend(17).addr, 0u);
}

// pw_uplinks follows pw_interfaces for uplinks whose ifindex fits (lb_abi.h): written with the
// entry, cleared when the entry stops being an uplink or is erased; an ifindex beyond its slots
// lives in pw_interfaces alone.
TEST_F(LbMapsTest, UplinkEntriesAreMirroredIntoTheArrayTheL2CheckReads) {
  auto skel = open_and_load_lb(small_caps());
  LbMaps maps(loader::lb_map_fds(*skel));
  ASSERT_TRUE(maps.has_uplinks());
  const auto slot_mac = [&](std::uint32_t ifindex) {
    const pw_interface e = maps.uplink_slot(ifindex);
    return std::pair{e.flags, std::vector<std::uint8_t>(e.mac, e.mac + 6)};
  };
  pw_interface up{{0x02, 0, 0, 0, 0x01, 0x01}, PW_IF_UPLINK, 0};
  maps.set_interface(7, up);
  EXPECT_EQ(slot_mac(7), (std::pair{std::uint8_t{PW_IF_UPLINK}, std::vector<std::uint8_t>{2, 0, 0, 0, 1, 1}}));
  up.mac[5] = 0x02;  // the uplink's address changed
  maps.set_interface(7, up);
  EXPECT_EQ(slot_mac(7).second, (std::vector<std::uint8_t>{2, 0, 0, 0, 1, 2}));

  // No longer an uplink (a sandbox interface that takes XDP frames): the slot is cleared.
  maps.set_interface(7, pw_interface{{}, PW_IF_XDP_READY, 0});
  EXPECT_EQ(maps.uplink_slot(7).flags, 0u);
  maps.set_interface(7, up);
  ASSERT_EQ(maps.uplink_slot(7).flags, PW_IF_UPLINK);
  EXPECT_TRUE(maps.erase_interface(7));
  EXPECT_EQ(maps.uplink_slot(7).flags, 0u);

  // An ifindex beyond the array: pw_interfaces only (the program falls back to it).
  maps.set_interface(PW_UPLINK_SLOTS + 5, up);
  EXPECT_EQ(maps.uplink_slot(PW_UPLINK_SLOTS + 5).flags, 0u);
  const auto all = maps.interfaces();
  EXPECT_TRUE(std::any_of(all.begin(), all.end(), [](const auto& e) { return e.first == PW_UPLINK_SLOTS + 5; }));
  EXPECT_TRUE(maps.erase_interface(PW_UPLINK_SLOTS + 5));
}

// Flows created by real packets through the program, then found and erased per backend.
TEST_F(LbMapsTest, FlowQueriesFindAndEraseABackendsFlows) {
  LbLab lab;
  auto& maps = lab.maps();
  std::map<std::uint32_t, std::size_t> per_backend;
  for (std::uint16_t i = 0; i < 40; ++i) {
    const std::uint16_t sport = static_cast<std::uint16_t>(42000 + i);
    const auto r = lab.run_xdp(from_client(kSvcC, 80).src_port(sport).tcp());
    ASSERT_EQ(r.retval, static_cast<std::uint32_t>(XDP_PASS));
    per_backend[predict_pick(table_c(), kClient, kSvcC, sport, 80, kTcp)]++;
  }
  ASSERT_GE(per_backend.size(), 2u) << "40 flows should spread over several backends";
  EXPECT_EQ(maps.flows().size(), 40u);
  // One pw_conns entry per flow (40 client ports), nothing in pw_flows/pw_reverse.
  EXPECT_EQ(maps.conns().size(), 40u);
  EXPECT_EQ(maps.reverse_count(), 0u);
  for (const auto& [id, n] : per_backend) {
    EXPECT_EQ(maps.count_flows_for_backend(id), n) << "backend " << id;
  }
  const auto [victim, victim_flows] = *per_backend.begin();
  EXPECT_EQ(maps.erase_flows_for_backend(victim), victim_flows);
  EXPECT_EQ(maps.count_flows_for_backend(victim), 0u);
  EXPECT_EQ(maps.flows().size(), 40u - victim_flows);
  EXPECT_EQ(maps.conns().size(), 40u - victim_flows);
  for (const auto& [key, flow] : maps.flows()) {
    const auto r = maps.reply_translation(loader::reverse_key_of(key, flow));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->frontend_addr, key.daddr);
    EXPECT_EQ(r->frontend_port, key.dport);
  }
  maps.clear_conntrack();
  EXPECT_TRUE(maps.flows().empty());
  EXPECT_TRUE(maps.conns().empty());
  EXPECT_EQ(maps.reverse_count(), 0u);
}

// Flows written by user space (the dataplane switch carries nft's flows in) are inserts the
// programs never counted: the accounting must count them, or every later eviction would be
// hidden behind them (evicted = inserted - deleted - entries).
TEST_F(LbMapsTest, FlowsWrittenByTheControllerCountAsInserts) {
  LbLab lab;
  auto& maps = lab.maps();
  for (std::uint16_t i = 0; i < 10; ++i) {
    const auto r = lab.run_xdp(from_client(kSvcC, 80).src_port(static_cast<std::uint16_t>(43000 + i)).tcp());
    ASSERT_EQ(r.retval, static_cast<std::uint32_t>(XDP_PASS));
  }
  const auto carried = maps.flows();
  ASSERT_EQ(carried.size(), 10u);
  maps.clear_conntrack();
  maps.upsert_flows(carried);
  maps.upsert_flows(carried);  // rewriting present keys inserts nothing
  const auto fill = maps.flow_fill();
  ASSERT_TRUE(fill.counted);
  EXPECT_EQ(fill.entries, 10u);
  EXPECT_EQ(fill.deleted, 10u);
  EXPECT_EQ(fill.inserted, 20u) << "10 by the program, 10 written back by the controller";
  EXPECT_EQ(fill.evicted, 0u);
}

TEST_F(LbMapsTest, CountersAreSummedOverCpus) {
  const auto cpus = allowed_cpus();
  ASSERT_FALSE(cpus.empty());
  LbLab lab;
  const auto frame = from_client(kSvcA, 80).tcp();
  for (const int cpu : {cpus.front(), cpus.back()}) {
    const ScopedCpuPin pin(cpu);
    (void)lab.run_xdp(frame);
  }
  const auto t = lab.maps().frontend_traffic(kFeATcp);
  EXPECT_EQ(t.packets, 2u);
  EXPECT_EQ(t.bytes, 2 * frame.size());
  EXPECT_EQ(t.new_flows, 1u);
  EXPECT_EQ(lab.maps().backend_traffic(kBeSandbox).packets, 2u);
}

}  // namespace
}  // namespace portway::test::lb
