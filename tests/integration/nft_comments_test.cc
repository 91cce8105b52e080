// The nft table names Services in element comments (docs/nftables.md "Comments"): applied in
// the lab's node namespace with names docs/config.md accepts but that push its rules (longest
// labels, digits only, runs of '-', a Service id longer than a comment), the table serves
// traffic as with plain names, and libnftables' JSON listing shows each element's Service and
// port.
#include <gtest/gtest.h>

#include "config/name_rules.h"
#include "dataplane/nft/comment.h"
#include "dataplane/nft/nft_context.h"
#include "dataplane/nft/readback.h"
#include "model/wanted.h"
#include "nft_lab.h"

namespace portway::dataplane::nft::testing {
namespace {

using config::Protocol;
using lab::ProbeStatus;

using NftCommentsTest = NftLabTest;

TEST_F(NftCommentsTest, HostileButValidNamesAppearAsCommentsAndChangeNothingElse) {
  const std::string long_app = "a" + std::string(61, '-') + "9";  // 63: the longest label
  const std::string long_service = std::string(63, '7');           // digits only
  const std::string port = "x-" + std::string(11, '0') + "-y";     // 15: the longest port name
  for (const auto& n : {long_app, long_service, std::string("0"), std::string("a--b")})
    ASSERT_TRUE(config::is_dns_label(n)) << n;
  ASSERT_TRUE(config::is_port_name(port));
  const std::string web = model::service_id(long_app, long_service);  // 131 bytes: cut in comments
  const std::string empty = model::service_id("0", "a--b");
  const auto vip = *net::parse_ipv4(kVip);
  const auto empty_vip = *net::parse_ipv4(kEmptyVip);
  const auto s = state::DataplaneState::from_parts(
      {{{vip, 80, Protocol::tcp}, 7000, web, port}, {{empty_vip, 80, Protocol::tcp}, 7000, empty, "h"}},
      {{{kNodePort, Protocol::tcp}, 7000, web, port}}, {{web, all_members()}, {empty, {}}});
  dp_->apply(s);
  EXPECT_EQ(lab::tcp_probe(topo_.client_netns, kVip, 80).status, ProbeStatus::ok);
  EXPECT_EQ(lab::tcp_probe(topo_.client_netns, kEmptyVip, 80).status, ProbeStatus::refused);

  ReadBack rb;
  in_node([&] { rb = parse_listing(NftContext().list_json("list table inet portway")); });
  const std::string web_port = element_comment(web, port);
  ASSERT_EQ(web_port.size(), kCommentMaxBytes);
  EXPECT_TRUE(web_port.ends_with(":" + port));
  const std::string fe = std::string(kVip) + " . tcp . 80";
  for (const char* set : {"svc_fe", "svc_rej", "svc_tport", "svc_disp"}) {
    EXPECT_EQ(rb.sets[set].comments[fe], web_port) << set;
  }
  EXPECT_EQ(rb.sets["svc_addrs"].comments[kVip], element_comment(web, ""));
  EXPECT_EQ(rb.sets["np_fe"].comments["tcp . " + std::to_string(kNodePort)], web_port);
  EXPECT_EQ(rb.sets["svc_noep"].comments[std::string(kEmptyVip) + " . tcp . 80"], "svc/0/a--b:h");
  EXPECT_TRUE(rb.sets["svc_slots"].comments.empty()) << "slots carry no comment";

  // Applying the same state again finds the comments in place: nothing is rewritten.
  dp_->apply(s);
  EXPECT_EQ(dp_->last_transaction().elements_added, 0u);
  // The text listing shows them where an operator looks.
  EXPECT_NE(nft_cli("list set inet portway svc_fe").find("comment \"" + web_port + "\""), std::string::npos);
}

}  // namespace
}  // namespace portway::dataplane::nft::testing
