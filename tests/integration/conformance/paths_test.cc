// Conformance scenarios about packet sizes: ICMP frag-needed about a translated flow reaches
// the client about the address it used (PMTU discovery works through the DNAT), and datagrams
// the client fragments reach one backend whole.
#include <cerrno>
#include <cstring>
#include <random>

#include "conformance_fixture.h"
#include "udp_paths.h"

namespace portway::conformance {
namespace {

using namespace std::chrono_literals;

TEST_P(ConformanceTest, IcmpFragNeeded) {
  const std::string s = "icmp_frag_needed";
  apply_web(ground_->members({0}));
  // A narrower node <-> sb0 link, on both ends as on a real link (the sandbox then also
  // fragments its own big replies instead of having veth drop them).
  set_link_mtu(topo().node_netns, topo().sandboxes[0].host_link, 1280);
  set_link_mtu(topo().sandboxes[0].netns, "eth0", 1280);
  const auto big = udp_send_df(client(), vip(), 53, 1400, 1500ms);
  record(s, "oversize_df.client_error", big.error ? std::strerror(big.error) : "none");
  record(s, "oversize_df.path_mtu_to_service_ip", std::to_string(big.path_mtu));
  EXPECT_FALSE(big.echoed) << "a 1400-byte DF datagram crossed a 1280 link";
  EXPECT_EQ(big.error, EMSGSIZE) << "the frag-needed did not reach the client's socket: " << std::strerror(big.error);
  EXPECT_EQ(big.path_mtu, 1280) << "the client's route to the SERVICE address learned the link's MTU";
  // After PMTU discovery, datagrams that fit go through.
  const auto fits = udp_send_df(client(), vip(), 53, 1200, 1500ms);
  record(s, "fitting_df.answered", yes_no(fits.echoed));
  EXPECT_TRUE(fits.echoed) << std::strerror(fits.error);
}

TEST_P(ConformanceTest, FragmentedUdp) {
  const std::string s = "fragmented_udp";
  apply_web(ground_->all_members());
  std::mt19937 rng(7);
  int whole = 0;
  constexpr int kDatagrams = 8;  // different client ports: different flows, different backends
  for (int i = 0; i < kDatagrams; ++i) {
    std::string payload(3000 + i * 500, '\0');  // 3-4 fragments at MTU 1500
    for (auto& c : payload) c = static_cast<char>('a' + rng() % 26);
    whole += udp_echo_df_off(client(), vip(), 53, payload, 1500ms) == payload;
  }
  record(s, "big_datagrams.echoed_whole", std::to_string(whole) + "/" + std::to_string(kDatagrams));
  EXPECT_EQ(whole, kDatagrams) << "every fragment of a datagram must reach the same backend";
}

}  // namespace
}  // namespace portway::conformance
