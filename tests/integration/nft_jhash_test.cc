// The fact behind docs/nftables.md "Backend choice": nft's `jhash ... mod M seed S` (what the
// pick chains use) is the fast path's flow hash and slot formula (Bob Jenkins' lookup3 over
// 32-bit words, then reciprocal_scale) when it hashes ip saddr . ip daddr . @th,0,32 . meta
// l4proto; the third word is then the four port bytes as they are on the wire, loaded as one
// native u32, which is NOT lb_abi.h's (sport << 16 | dport). So the same backend on both
// dataplanes would need that change on the BPF side AND a copy of the fast path's Maglev
// tables here (4,093 elements per set: the cost that rules it out at 10,000 services; see
// bench_nft's BM_MaglevSlotElements).
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>

#include "jhash.h"
#include "nft_lab.h"
#include "portway/lb_abi.h"

namespace portway::dataplane::nft::testing {
namespace {

using NftJhashTest = NftLabTest;

constexpr std::uint32_t kM = 4093;
constexpr std::uint16_t kSport = 40000, kDport = 9999;

std::uint32_t wire_u32(const char* a) {
  std::uint32_t v = 0;
  inet_pton(AF_INET, a, &v);
  return v;  // the 4 bytes as on the wire, read as a native u32 (what BPF loads)
}

TEST_F(NftJhashTest, NftJhashIsTheFlowHashWithThePortsAsOneWireWord) {
  const std::uint32_t saddr = wire_u32("198.18.0.2"), daddr = wire_u32("198.18.0.1");
  const unsigned char ports[4] = {kSport >> 8, kSport & 0xff, kDport >> 8, kDport & 0xff};
  std::uint32_t port_word = 0;
  std::memcpy(&port_word, ports, 4);
  std::uint16_t sport_be = 0, dport_be = 0;
  std::memcpy(&sport_be, ports, 2);
  std::memcpy(&dport_be, ports + 2, 2);
  const std::uint32_t as_on_wire =
      pw_reciprocal_scale(pw_jhash_4words(saddr, daddr, port_word, IPPROTO_UDP, PW_FLOW_HASH_SEED), kM);
  const std::uint32_t as_abi =
      pw_reciprocal_scale(pw_flow_hash(saddr, daddr, sport_be, dport_be, IPPROTO_UDP, PW_FLOW_HASH_SEED), kM);
  ASSERT_NE(as_on_wire, as_abi) << "pick another tuple: the two layouts must be told apart";

  char seed[16];
  std::snprintf(seed, sizeof seed, "0x%08x", PW_FLOW_HASH_SEED);
  nft_cli("add table inet pwjhash");
  nft_cli("add chain inet pwjhash c { type filter hook prerouting priority -300 ; policy accept ; }");
  nft_cli("add rule inet pwjhash c udp dport " + std::to_string(kDport) +
          " meta mark set jhash ip saddr . ip daddr . @th,0,32 . meta l4proto mod " + std::to_string(kM) + " seed " +
          seed);
  nft_cli("add rule inet pwjhash c udp dport " + std::to_string(kDport) + " meta mark " + std::to_string(as_on_wire) +
          " counter");
  nft_cli("add rule inet pwjhash c udp dport " + std::to_string(kDport) + " meta mark " + std::to_string(as_abi) +
          " counter");

  lab::udp_probe(topo_.client_netns, net::to_string(topo_.node_address), kDport, "x",
                  std::chrono::milliseconds(300), kSport);
  const std::string rules = nft_cli("list chain inet pwjhash c");
  const auto counted = [&](std::uint32_t slot) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%08x", slot);
    const std::string prefix = std::string("meta mark ") + hex + " counter packets ";
    const auto at = rules.find(prefix);
    return at == std::string::npos ? -1 : std::stoi(rules.substr(at + prefix.size()));
  };
  EXPECT_EQ(counted(as_on_wire), 1) << rules;
  EXPECT_EQ(counted(as_abi), 0) << rules;
}

}  // namespace
}  // namespace portway::dataplane::nft::testing
