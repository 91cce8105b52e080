// Where the node settings meet the store's claims: sync's reserved-port refusal.
#include "cli/node_file.h"

#include <gtest/gtest.h>

namespace portway::cli {
namespace {

state::DataplaneState with_node_ports(std::vector<state::NodePort> ports) {
  return state::DataplaneState::from_parts({}, std::move(ports), {{"svc/a/ssh", {}}, {"svc/a/web", {}}});
}

TEST(ReservedNodePortClaims, EveryClaimOnAReservedPortIsNamed) {
  const auto desired = with_node_ports({{{22, state::Protocol::tcp}, 2222, "svc/a/ssh", "ssh"},
                                        {{30080, state::Protocol::tcp}, 80, "svc/a/web", "http"},
                                        {{443, state::Protocol::udp}, 443, "svc/a/web", "quic"}});
  const auto out = reserved_node_port_claims(desired, {22, 80, 443, 8443});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0], "node_port 22/tcp of svc/a/ssh is reserved on this node (reserved_node_ports); "
                    "nothing was programmed: move the app's node_port (portway apply) or change the "
                    "node's reserved_node_ports");
  EXPECT_EQ(out[1].substr(0, 30), "node_port 443/udp of svc/a/web");
  EXPECT_TRUE(reserved_node_port_claims(desired, {}).empty());
  EXPECT_TRUE(reserved_node_port_claims(desired, {80, 8443}).empty());
}

}  // namespace
}  // namespace portway::cli
