// The set-associative connection tables (lb_abi.h, pw_conn_sets; bpf/lib/conn_set.h and
// conn_ctl.h, loader/conn_sets.h): the programs and user space agree on a client's set, a full
// set gives a new connection its least recently used way, the controller's writes never evict
// and go through the control program's checks. Real packets through the loaded programs.
#include <linux/bpf.h>

#include <gtest/gtest.h>

#include <bpf/bpf.h>

#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "lb_fixture.h"
#include "loader/map_info.h"
#include "loader/prog_test_run.h"
#include "portway/conn_hash.h"
#include "support/root.h"

namespace portway::test::lb {
namespace {

pw_conn_key conn_key(const Ipv4Address& client, std::uint16_t port) {
  pw_conn_key k{};
  k.client_addr = be32(client);
  k.client_port = be16(port);
  k.proto = kTcp;
  return k;
}

std::uint32_t set_count(LbLab& lab) { return loader::map_info(lab.fds().conn_sets).max_entries; }

std::uint32_t set_of(LbLab& lab, const pw_conn_key& k) {
  return pw_conn_set_index(pw_conn_hash4(k.client_addr, k.client_port, k.proto), set_count(lab));
}

pw_conn_set read_set(LbLab& lab, std::uint32_t index) {
  pw_conn_set set{};
  EXPECT_EQ(bpf_map_lookup_elem_flags(lab.fds().conn_sets, &index, &set, BPF_F_LOCK), 0);
  return set;
}

struct Client {
  Ipv4Address addr;
  std::uint16_t port = 0;
};

// `n` clients (198.18.0.1-250, ports 20000 up) whose connections share one set.
std::vector<Client> clients_in_one_set(LbLab& lab, std::size_t n) {
  const Client first{kClient, 20000};
  const std::uint32_t target = set_of(lab, conn_key(first.addr, first.port));
  std::vector<Client> out{first};
  for (std::uint8_t host = 1; host <= 250 && out.size() < n; ++host) {
    const Ipv4Address addr{198, 18, 0, host};
    for (std::uint16_t port = 20001; port < 40000 && out.size() < n; ++port)
      if (set_of(lab, conn_key(addr, port)) == target) out.push_back({addr, port});
  }
  EXPECT_EQ(out.size(), n) << "too few clients share a set";
  return out;
}

std::vector<std::uint8_t> syn_from(const Client& c) {
  return from_client(kSvcA, 80).src_ip(c.addr).src_port(c.port).tcp_flags(tcp_flags::kSyn).tcp();
}

std::vector<std::uint8_t> ack_from(const Client& c) {
  return from_client(kSvcA, 80).src_ip(c.addr).src_port(c.port).tcp_flags(tcp_flags::kAck).tcp();
}

bool has_conn(LbLab& lab, const Client& c) {
  const pw_conn_key k = conn_key(c.addr, c.port);
  for (const auto& [key, conn] : lab.maps().conns())
    if (std::memcmp(&key, &k, sizeof(k)) == 0) return true;
  return false;
}

// The flow of kClient:port to A:80 on the sandbox, as the controller carries one.
pw_flow flow_to_a(LbLab& lab) {
  pw_flow f{};
  f.backend_id = kBeSandbox;
  f.backend_addr = be32(kSandbox);
  f.target_port = be16(kTargetTcp);
  f.frontend_id = kFeATcp;
  f.frontend_gen = lab.maps().frontend_gens().at(kFeATcp);
  return f;
}

class LbConnSetsTest : public ::testing::Test {
 protected:
  void SetUp() override { PORTWAY_REQUIRE_ROOT(); }
};

// The program writes a new connection into the set user space computes for it, tagged as
// user space computes; a flow user space writes is found by the program as established.
TEST_F(LbConnSetsTest, ProgramsAndUserSpaceAgreeOnAClientsSetAndTag) {
  LbLab lab;
  ASSERT_EQ(lab.run_xdp(syn_from({kClient, 41000})).retval, static_cast<std::uint32_t>(XDP_REDIRECT));
  const pw_conn_key k = conn_key(kClient, 41000);
  const std::uint32_t h = pw_conn_hash4(k.client_addr, k.client_port, k.proto);
  const pw_conn_set set = read_set(lab, set_of(lab, k));
  int found = 0;
  for (std::uint32_t w = 0; w < PW_CONN_WAYS; ++w)
    found += set.tag[w] == pw_conn_tag(h) && std::memcmp(&set.way[w].key, &k, sizeof(k)) == 0;
  EXPECT_EQ(found, 1);

  const pw_flow_key carried = flow_key(kClient, kSvcA, 41001, 80, kTcp);
  const std::pair<pw_flow_key, pw_flow> entry{carried, flow_to_a(lab)};
  lab.maps().upsert_flows({&entry, 1});
  const auto inserts = lab.maps().all_events()[PW_EV_FLOW_INSERTS];
  ASSERT_EQ(lab.run_xdp(ack_from({kClient, 41001})).retval, static_cast<std::uint32_t>(XDP_REDIRECT));
  EXPECT_EQ(lab.maps().all_events()[PW_EV_FLOW_INSERTS], inserts) << "found established, not created";
}

// A ninth client in a full set: the controller's write never evicts one of the eight (the
// flow goes to pw_flows + pw_reverse), and every flow stays found.
TEST_F(LbConnSetsTest, CarriedFlowsNeverEvictAConnection) {
  LbLab lab;
  const auto clients = clients_in_one_set(lab, PW_CONN_WAYS + 1);
  ASSERT_EQ(clients.size(), PW_CONN_WAYS + 1);
  std::vector<std::pair<pw_flow_key, pw_flow>> flows;
  for (const Client& c : clients) flows.emplace_back(flow_key(c.addr, kSvcA, c.port, 80, kTcp), flow_to_a(lab));
  lab.maps().upsert_flows(flows);
  EXPECT_EQ(lab.maps().conns().size(), PW_CONN_WAYS);
  EXPECT_EQ(lab.maps().reverse_count(), 1u);
  EXPECT_EQ(lab.maps().flows().size(), flows.size());
  for (const auto& [key, flow] : flows) EXPECT_TRUE(lab.maps().flow(key).has_value());
}

// A full set gives a new connection its least recently used way: eight connections made a
// few ticks apart, the first used again last, then a ninth: the second goes.
TEST_F(LbConnSetsTest, ANewConnectionEvictsTheLeastRecentlyUsedWayOfItsSet) {
  LbLab lab;
  const auto clients = clients_in_one_set(lab, PW_CONN_WAYS + 1);
  ASSERT_EQ(clients.size(), PW_CONN_WAYS + 1);
  // Ages count units of 2^PW_CONN_AGE_SHIFT ns (16.8 ms): 40 ms apart is two units or more.
  const auto apart = [] { std::this_thread::sleep_for(std::chrono::milliseconds(40)); };
  for (std::size_t i = 0; i < PW_CONN_WAYS; ++i) {
    ASSERT_EQ(lab.run_xdp(syn_from(clients[i])).retval, static_cast<std::uint32_t>(XDP_REDIRECT));
    apart();
  }
  ASSERT_EQ(lab.run_xdp(ack_from(clients[0])).retval, static_cast<std::uint32_t>(XDP_REDIRECT));
  apart();
  const auto before = lab.maps().all_events();
  ASSERT_EQ(lab.run_xdp(syn_from(clients[PW_CONN_WAYS])).retval, static_cast<std::uint32_t>(XDP_REDIRECT));
  EXPECT_EQ(lab.maps().all_events()[PW_EV_FLOW_INSERTS] - before[PW_EV_FLOW_INSERTS], 1u);
  EXPECT_EQ(lab.maps().conns().size(), PW_CONN_WAYS);
  EXPECT_TRUE(has_conn(lab, clients[0])) << "used last but one";
  EXPECT_FALSE(has_conn(lab, clients[1])) << "the least recently used";
  EXPECT_TRUE(has_conn(lab, clients[PW_CONN_WAYS]));
  // The evicted client's next packet is a new flow again (Maglev: the same backend).
  ASSERT_EQ(lab.run_xdp(ack_from(clients[1])).retval, static_cast<std::uint32_t>(XDP_REDIRECT));
  EXPECT_TRUE(has_conn(lab, clients[1]));
}

// Draining a backend deletes its connections only.
TEST_F(LbConnSetsTest, ErasingABackendsFlowsKeepsTheOthers) {
  LbLab lab;
  pw_flow to_c = flow_to_a(lab);
  to_c.backend_id = kBeC0;
  to_c.backend_addr = be32(backend_c_addr(0));
  to_c.frontend_id = kFeCTcp;
  to_c.frontend_gen = lab.maps().frontend_gens().at(kFeCTcp);
  const std::vector<std::pair<pw_flow_key, pw_flow>> flows{
      {flow_key(kClient, kSvcA, 30000, 80, kTcp), flow_to_a(lab)},
      {flow_key(kClient, kSvcA, 30001, 80, kTcp), flow_to_a(lab)},
      {flow_key(kClient, kSvcC, 30002, 80, kTcp), to_c}};
  lab.maps().upsert_flows(flows);
  ASSERT_EQ(lab.maps().conns().size(), 3u);
  EXPECT_EQ(lab.maps().erase_flows_for_backend(kBeSandbox), 2u);
  ASSERT_EQ(lab.maps().conns().size(), 1u);
  EXPECT_EQ(lab.maps().conns().front().second.flow.backend_id, kBeC0);
  lab.maps().clear_conntrack();
  EXPECT_TRUE(lab.maps().conns().empty());
}

// The control program's own checks: an unknown code and a hairpin are refused, a delete of
// what is not there says so, a delete for another backend leaves the connection.
TEST_F(LbConnSetsTest, TheControlProgramRefusesWhatItMustNotWrite) {
  LbLab lab;
  const auto run = [&](std::vector<pw_conn_ctl> ops) {
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(ops.data());
    const auto r = loader::test_run(lab.fds().conn_ctl4, std::span(bytes, ops.size() * sizeof(pw_conn_ctl)));
    std::memcpy(ops.data(), r.output.data(), ops.size() * sizeof(pw_conn_ctl));
    return ops;
  };
  std::vector<pw_conn_ctl> ops(5);
  ops[0].code = static_cast<pw_conn_ctl_code>(9);
  ops[1].code = PW_CONN_CTL_PUT;
  ops[1].key = conn_key(kClient, 30010);
  ops[1].conn.flow = flow_to_a(lab);
  ops[1].conn.flow.flags = PW_FLOW_HAIRPIN;
  ops[2].code = PW_CONN_CTL_DELETE;
  ops[2].backend_id = PW_CONN_CTL_ANY_BACKEND;
  ops[2].key = conn_key(kClient, 30011);
  ops[3].code = PW_CONN_CTL_PUT;
  ops[3].key = conn_key(kClient, 30012);
  ops[3].conn.flow = flow_to_a(lab);
  ops[3].conn.frontend_addr = be32(kSvcA);
  ops[3].conn.frontend_port = be16(80);
  ops[4].code = PW_CONN_CTL_DELETE;
  ops[4].backend_id = kBeC0;
  ops[4].key = conn_key(kClient, 30012);
  const auto done = run(ops);
  EXPECT_EQ(done[0].result, PW_CONN_CTL_INVALID);
  EXPECT_EQ(done[1].result, PW_CONN_CTL_INVALID);
  EXPECT_EQ(done[2].result, PW_CONN_CTL_ABSENT);
  EXPECT_EQ(done[3].result, PW_CONN_CTL_STORED);
  EXPECT_EQ(done[4].result, PW_CONN_CTL_ABSENT) << "another backend's connection";
  EXPECT_EQ(lab.maps().conns().size(), 1u);
  EXPECT_EQ(run({ops[3]})[0].result, PW_CONN_CTL_REPLACED);
}

}  // namespace
}  // namespace portway::test::lb
