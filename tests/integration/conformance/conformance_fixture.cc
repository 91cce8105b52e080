#include "conformance_fixture.h"

#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <iostream>
#include <set>
#include <fstream>
#include <sstream>

#include "netlink/netns.h"
#include "parity.h"
#include "support/root.h"
#include "table_recorder.h"

namespace portway::conformance {
namespace {

// A run killed from outside (ctest's timeout, SIGKILL) cannot clean up after itself: the next
// run removes the labs and pin folders of conformance processes that no longer exist. Only
// names of this suite's own form ("pwc<pid>-...", /sys/fs/bpf/pwc<pid>) are touched.
// A zombie (killed, not yet waited for) counts as gone.
bool process_alive(const std::string& pid) {
  std::ifstream stat("/proc/" + pid + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  const auto paren = line.rfind(')');  // the command name may hold spaces and parentheses
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] != 'Z';
}

void reap_dead_runs() {
  std::set<std::string> dead;
  const auto owner_is_gone = [](const std::string& name) {
    std::size_t digits = 3;
    while (digits < name.size() && std::isdigit(static_cast<unsigned char>(name[digits]))) ++digits;
    if (name.rfind("pwc", 0) != 0 || digits == 3) return std::string();
    const std::string prefix = name.substr(0, digits);
    return process_alive(prefix.substr(3)) ? std::string() : prefix;
  };
  for (const auto& ns : netlink::list_named_netns())
    if (const auto p = owner_is_gone(ns); !p.empty() && ns.size() > p.size() && ns[p.size()] == '-') dead.insert(p);
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/sys/fs/bpf", ec))
    if (const auto p = owner_is_gone(entry.path().filename()); p == entry.path().filename()) dead.insert(p);
  for (const auto& p : dead) {
    std::cout << "[ reaped  ] leftovers of a killed run: " << p << "\n";
    lab::destroy_topology({p, static_cast<unsigned>(kSandboxes)});
    std::filesystem::remove_all("/sys/fs/bpf/" + p, ec);
  }
}

}  // namespace

void ConformanceTest::SetUp() {
  PORTWAY_REQUIRE_ROOT();
  static const bool reaped = (reap_dead_runs(), true);
  (void)reaped;
  TableRecorder::instance().begin(dataplane_name());
  const std::string prefix = "pwc" + std::to_string(getpid());  // full pid: reap_dead_runs() checks it
  // 30080/tcp and 30053/udp on the sandboxes themselves: node-port numbers sent to a sandbox
  // address must reach these listeners untouched.
  ground_ = std::make_unique<itest::LabGround>(
      itest::LabGroundSpec{prefix, kSandboxes, {7000, 7100, kNodePortTcp}, {7001, kNodePortUdp}, 150});
  bpffs_dir_ = "/sys/fs/bpf/" + prefix;
  dp_ = std::make_unique<itest::LabDataplane>(kind(), ground_->topo(), bpffs_dir_);
}

void ConformanceTest::TearDown() {
  // The table is written after every scenario: a crash later still leaves the rows so far.
  try {
    TableRecorder::instance().write_all(PORTWAY_CONFORMANCE_DIR);
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what();
  }
  if (dp_) {
    try {
      dp_->remove_all();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "remove_all: " << e.what();
    }
    dp_.reset();
  }
  if (ground_) {
    ground_->destroy();
    for (const auto& name : ground_->leftovers()) ADD_FAILURE() << "namespace left behind: " << name;
    ground_.reset();
  }
  if (!bpffs_dir_.empty()) {
    // remove_all() keeps the (empty) folder: it carries the writers' lock.
    std::error_code ec;
    EXPECT_TRUE(!std::filesystem::exists(bpffs_dir_) || std::filesystem::is_empty(bpffs_dir_, ec))
        << "pins left behind in " << bpffs_dir_;
    std::filesystem::remove_all(bpffs_dir_, ec);
  }
}

std::string_view to_string(Family f) { return f == Family::ipv4 ? "ipv4" : "ipv6"; }

std::string ConformanceTest::dataplane_name() const {
  return std::string(dataplane::to_string(kind())) + "-" + std::string(to_string(family()));
}

void ConformanceTest::record(const std::string& scenario, const std::string& field, const std::string& value) {
  TableRecorder::instance().set(dataplane_name(), scenario, field, value);
}

namespace {

const std::vector<ParityException>& listed_exceptions() {
  static const std::vector<ParityException> list = [] {
    std::ifstream in(PORTWAY_PARITY_EXCEPTIONS);
    std::stringstream text;
    text << in.rdbuf();
    std::vector<std::string> errors;
    return parse_exceptions(text.str(), errors);  // malformed lines: conformance_parity fails on them
  }();
  return list;
}

}  // namespace

void ConformanceTest::expect_field(const std::string& scenario, const std::string& field, const std::string& actual,
                                   const std::string& expected) {
  record(scenario, field, actual);
  for (const auto& e : listed_exceptions())
    if (e.scenario == scenario && e.field == field) {
      std::cout << "[ listed  ] " << scenario << " " << field << " = " << actual << " (expected " << expected
                << " unless listed: " << e.reason << ")\n";
      return;
    }
  EXPECT_EQ(actual, expected) << scenario << " " << field;
}

state::DataplaneState ConformanceTest::conf_state(const std::vector<state::Member>& web) const {
  using config::Protocol;
  std::vector<state::Frontend> frontends;
  for (const state::IpAddress vip : {state::IpAddress{*net::parse_ipv4(kVip)}, state::IpAddress{*net::parse_ipv6(kVip6)}}) {
    frontends.push_back({{vip, 80, Protocol::tcp}, 7000, "svc/conf/web", "http"});
    frontends.push_back({{vip, 81, Protocol::tcp}, 7100, "svc/conf/web", "admin"});
    frontends.push_back({{vip, 53, Protocol::udp}, 7001, "svc/conf/web", "dns"});
  }
  for (const state::IpAddress empty :
       {state::IpAddress{*net::parse_ipv4(kEmptyVip)}, state::IpAddress{*net::parse_ipv6(kEmptyVip6)}}) {
    frontends.push_back({{empty, 80, Protocol::tcp}, 7000, "svc/conf/empty", "http"});
    frontends.push_back({{empty, 53, Protocol::udp}, 7001, "svc/conf/empty", "dns"});
  }
  return state::DataplaneState::from_parts(
      std::move(frontends),
      {{{kNodePortTcp, Protocol::tcp}, 7000, "svc/conf/web", "http"},
       {{kNodePortUdp, Protocol::udp}, 7001, "svc/conf/web", "dns"}},
      {{"svc/conf/web", web}, {"svc/conf/empty", {}}});
}

void ConformanceTest::apply_web(const std::vector<state::Member>& web) { dp_->apply(conf_state(web)); }

std::string ConformanceTest::node_address() const {
  return ipv6() ? net::to_string(topo().node_address6) : net::to_string(topo().node_address);
}

std::string ConformanceTest::sandbox_address(std::size_t i) const {
  return ipv6() ? net::to_string(topo().sandboxes.at(i).address6) : net::to_string(topo().sandboxes.at(i).address);
}

std::string ConformanceTest::gateway(std::size_t i) const {
  return ipv6() ? net::to_string(topo().sandboxes.at(i).gateway6) : net::to_string(topo().sandboxes.at(i).gateway);
}

std::string ConformanceTest::frontend_key(const std::string& addr, std::uint16_t port, const char* proto) const {
  const std::string a = addr.find(':') != std::string::npos ? "[" + addr + "]" : addr;
  return a + ":" + std::to_string(port) + "/" + proto;
}

std::string ConformanceTest::source_role(const std::string& addr) const {
  // Roles of both families: a source of the other family would be a bug the role shows
  // as it is ("client" still, but the scenario's expectations are per family anyway).
  if (addr == net::to_string(topo().client_address) || addr == net::to_string(topo().client_address6)) return "client";
  if (addr == net::to_string(topo().node_address) || addr == net::to_string(topo().node_address6)) return "node";
  for (std::size_t i = 0; i < topo().sandboxes.size(); ++i) {
    const auto& sb = topo().sandboxes[i];
    if (addr == net::to_string(sb.gateway) || addr == net::to_string(sb.gateway6)) return "node";
    if (addr == net::to_string(sb.address) || addr == net::to_string(sb.address6)) return "sandbox:sb" + std::to_string(i);
  }
  return "other:" + addr;
}

INSTANTIATE_TEST_SUITE_P(Dataplane, ConformanceTest,
                         ::testing::Combine(::testing::Values(dataplane::Kind::xdp, dataplane::Kind::nft),
                                            ::testing::Values(Family::ipv4, Family::ipv6)),
                         [](const auto& p) {
                           return std::string(dataplane::to_string(std::get<0>(p.param))) + "_" +
                                  std::string(to_string(std::get<1>(p.param)));
                         });

}  // namespace portway::conformance
