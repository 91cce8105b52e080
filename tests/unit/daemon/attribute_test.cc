// dataplane::attribute: counters of either dataplane placed in the programmed state, so the
// nft read-back's generated set names become Service ids like the fast path's.
#include <gtest/gtest.h>

#include "dataplane/dataplane.h"

namespace portway::dataplane {
namespace {

state::DataplaneState programmed() {
  state::Member a{net::Ipv4{0xC6120102}, std::nullopt, state::MemberState::running};  // 198.18.1.2
  state::Member b{net::Ipv4{0xC6120202}, std::nullopt, state::MemberState::draining};  // 198.18.2.2
  state::Frontend fe{{net::Ipv4{0xC6120007}, 6667, config::Protocol::tcp}, 6667, "svc/irc/irc", "irc"};
  state::NodePort np{{6697, config::Protocol::tcp}, 6697, "svc/irc/irc", "irc-tls"};
  return state::DataplaneState::from_parts({fe}, {np}, {{"svc/irc/irc", {a, b}}});
}

TEST(Attribute, FrontendsGetServicePortAndProtocol) {
  Stats s;
  s.frontends["198.18.0.7:6667/tcp"] = {1, 2, 3, 4};
  s.frontends["node:6697/tcp"] = {5, 6, 7, 8};
  s.frontends["198.18.0.8:80/tcp"] = {};
  attribute(s, programmed());
  EXPECT_EQ(s.frontend_owners["198.18.0.7:6667/tcp"], (FrontendOwner{"svc/irc/irc", "irc", "tcp"}));
  EXPECT_EQ(s.frontend_owners["node:6697/tcp"], (FrontendOwner{"svc/irc/irc", "irc-tls", "tcp"}));
  EXPECT_FALSE(s.frontend_owners.count("198.18.0.8:80/tcp")) << "not programmed: no owner";
  EXPECT_EQ(s.frontends.size(), 3u) << "frontend keys stay as they are";
}

TEST(Attribute, BackendsOfBothDataplanesEndUpUnderTheServiceId) {
  Stats xdp, nft;
  xdp.backends["svc/irc/irc 198.18.1.2"] = {1, 2, 3, 0};
  xdp.backends["svc/irc/irc 198.18.2.2"] = {4, 5, 6, 0};
  nft.backends["nft-set-c8f41972 198.18.1.2"] = {1, 2, 3, 0};
  nft.backends["nft-set-c8f41972 198.18.2.2"] = {4, 5, 6, 0};
  attribute(xdp, programmed());
  attribute(nft, programmed());
  EXPECT_EQ(xdp.backends, nft.backends);
  EXPECT_EQ(xdp.backend_owners, nft.backend_owners);
  EXPECT_EQ(nft.backend_owners["svc/irc/irc 198.18.2.2"], (BackendOwner{"svc/irc/irc", "198.18.2.2"}));
}

TEST(Attribute, ABackendNobodyProgrammedKeepsItsKey) {
  Stats s;
  s.backends["nft-set-00000001 198.18.9.9"] = {1, 1, 1, 0};
  attribute(s, programmed());
  EXPECT_TRUE(s.backends.count("nft-set-00000001 198.18.9.9"));
  EXPECT_TRUE(s.backend_owners.empty());
}

}  // namespace
}  // namespace portway::dataplane
