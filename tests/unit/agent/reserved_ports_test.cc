// The node-port reservation's pure parts: the kernel's port-list format both ways, and the
// plan that shares net.ipv4.ip_local_reserved_ports with the administrator.
#include "agent/reserved_ports.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace portway::agent {
namespace {

TEST(ReservedPorts, ParsesTheKernelsFormat) {
  EXPECT_EQ(parse_port_ranges(""), PortSet{});
  EXPECT_EQ(parse_port_ranges("\n"), PortSet{});
  EXPECT_EQ(parse_port_ranges("8080"), (PortSet{8080}));
  EXPECT_EQ(parse_port_ranges("22, 30000-30002,65535\n"), (PortSet{22, 30000, 30001, 30002, 65535}));
  EXPECT_EQ(parse_port_ranges("5-5"), (PortSet{5}));
}

TEST(ReservedPorts, RejectsAnythingElse) {
  for (const char* bad : {"x", "1,,2", "3-1", "65536", "-4", "1-", ",", "1 2", "0x10"})
    EXPECT_THROW(parse_port_ranges(bad), std::invalid_argument) << bad;
}

TEST(ReservedPorts, FormatsRunsAsRangesAndRoundTrips) {
  EXPECT_EQ(format_port_ranges({}), "");
  EXPECT_EQ(format_port_ranges({7000}), "7000");
  EXPECT_EQ(format_port_ranges({1, 2, 3, 5, 7, 8, 65535}), "1-3,5,7-8,65535");
  const PortSet many{22, 53, 5353, 6697, 7000, 7001, 7002, 27015};
  EXPECT_EQ(parse_port_ranges(format_port_ranges(many)), many);
}

TEST(ReservedPorts, AddsOursAndKeepsTheAdministrators) {
  const auto plan = plan_reserved_ports(/*current=*/{22, 9000}, /*previously_ours=*/{}, /*wanted=*/{7000, 27015});
  EXPECT_EQ(plan.value, (PortSet{22, 7000, 9000, 27015}));
  EXPECT_EQ(plan.ours, (PortSet{7000, 27015}));
}

TEST(ReservedPorts, RemovesOnlyWhatItAddedAndNoLongerClaims) {
  // Last run added 7000 and 27015; 27015 is released now, 5353 is new.
  const auto plan = plan_reserved_ports({22, 7000, 9000, 27015}, {7000, 27015}, {7000, 5353});
  EXPECT_EQ(plan.value, (PortSet{22, 5353, 7000, 9000}));
  EXPECT_EQ(plan.ours, (PortSet{5353, 7000}));
}

TEST(ReservedPorts, APortTheAdministratorReservedIsNeverOurs) {
  // 9000 was reserved by hand before portway claimed it: releasing the claim must keep it.
  const auto claimed = plan_reserved_ports({9000}, {}, {9000});
  EXPECT_EQ(claimed.value, (PortSet{9000}));
  EXPECT_EQ(claimed.ours, PortSet{});
  const auto released = plan_reserved_ports(claimed.value, claimed.ours, {});
  EXPECT_EQ(released.value, (PortSet{9000}));
}

TEST(ReservedPorts, AnAdministratorsRemovalOfOurPortIsRepairedWhileClaimed) {
  const auto plan = plan_reserved_ports({22}, {7000}, {7000});
  EXPECT_EQ(plan.value, (PortSet{22, 7000}));
  EXPECT_EQ(plan.ours, (PortSet{7000}));
}

}  // namespace
}  // namespace portway::agent
