// ConntrackTable::seed (what a switch to nftables carries the fast path's flows with) against
// the kernel, in the lab node's namespace with a nat chain loaded (nf_nat). Each query must
// read its own answer: an entry that is already there is looked up with a callback, and a
// lookup that stopped reading before the kernel's acknowledgement left it for the next query,
// which then took it for its own (every later create "refused", outcomes shifted by one).
#include <netinet/in.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "dataplane/conntrack/conntrack_table.h"
#include "net/ip_prefix.h"
#include "nft_lab.h"

namespace portway::dataplane::nft::testing {
namespace {

using conntrack::ConntrackTable;
using conntrack::NatFlow;
using conntrack::SeedCounts;
using conntrack::SeedTimeouts;
using ConntrackSeedTest = NftLabTest;

NatFlow flow(std::uint16_t client_port) {
  NatFlow f;
  f.protocol = IPPROTO_TCP;
  f.client = *net::parse_ipv4("198.18.0.2");
  f.client_port = client_port;
  f.frontend = *net::parse_ipv4("198.19.77.1");
  f.frontend_port = 80;
  f.backend = *net::parse_ipv4("198.18.10.2");
  f.backend_port = 7000;
  return f;
}

// The seeded entries of the flows above (frontend 198.19.77.1), by client port.
std::vector<std::uint16_t> seeded_ports(ConntrackTable& table) {
  std::vector<std::uint16_t> ports;
  for (const NatFlow& f : table.nat_flows()) {
    if (f.frontend == *net::parse_ipv4("198.19.77.1") && f.backend == *net::parse_ipv4("198.18.10.2")) {
      ports.push_back(f.client_port);
    }
  }
  std::sort(ports.begin(), ports.end());
  return ports;
}

TEST_F(ConntrackSeedTest, AnEntryAlreadyThereLeavesTheOtherFlowsCountedAsTheyWere) {
  nft_cli("add table ip pwseed");
  nft_cli("add chain ip pwseed pre { type nat hook prerouting priority -100 ; }");
  in_node([] {
    ConntrackTable table;
    const SeedTimeouts timeouts;
    const std::vector<NatFlow> first{flow(41000)};
    SeedCounts c = table.seed(first, timeouts);
    EXPECT_EQ(c.created, 1u);
    EXPECT_EQ(c.failed, 0u);

    // 41000 is there with the same translation: refreshed; the two after it are new.
    const std::vector<NatFlow> three{flow(41000), flow(41001), flow(41002)};
    c = table.seed(three, timeouts);
    EXPECT_EQ(c.refreshed, 1u);
    EXPECT_EQ(c.created, 2u);
    EXPECT_EQ(c.failed, 0u);

    // All three there: all refreshed, and nothing else in the table changed.
    c = table.seed(three, timeouts);
    EXPECT_EQ(c.refreshed, 3u);
    EXPECT_EQ(c.created + c.replaced + c.failed, 0u);
    EXPECT_EQ(seeded_ports(table), (std::vector<std::uint16_t>{41000, 41001, 41002}));
  });
  nft_cli("delete table ip pwseed");
}

// An entry with another translation gives way to the flow's, and the flows after it are
// still created.
TEST_F(ConntrackSeedTest, AnotherTranslationIsReplacedAndTheNextFlowsAreCreated) {
  nft_cli("add table ip pwseed");
  nft_cli("add chain ip pwseed pre { type nat hook prerouting priority -100 ; }");
  in_node([] {
    ConntrackTable table;
    const SeedTimeouts timeouts;
    NatFlow elsewhere = flow(42000);
    elsewhere.backend = *net::parse_ipv4("198.18.11.2");
    const std::vector<NatFlow> old{elsewhere};
    ASSERT_EQ(table.seed(old, timeouts).created, 1u);

    const std::vector<NatFlow> now{flow(42000), flow(42001)};
    const SeedCounts c = table.seed(now, timeouts);
    EXPECT_EQ(c.replaced, 1u);
    EXPECT_EQ(c.created, 1u);
    EXPECT_EQ(c.failed, 0u);
    EXPECT_EQ(seeded_ports(table), (std::vector<std::uint16_t>{42000, 42001}));
  });
  nft_cli("delete table ip pwseed");
}

}  // namespace
}  // namespace portway::dataplane::nft::testing
