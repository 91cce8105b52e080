#include "loader/lb_drop_reasons.h"
#include "loader/lb_events.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace portway::test {
namespace {

TEST(LbDropReasons, EveryReasonHasAUniqueName) {
  std::set<std::string_view> names;
  for (std::uint32_t r = 0; r < PW_DROP_REASONS; ++r) {
    const auto name = loader::drop_reason_name(r);
    EXPECT_FALSE(name.empty());
    EXPECT_NE(name, "unknown");
    EXPECT_TRUE(names.insert(name).second) << name;
    for (const char c : name) {
      EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_') << name;
    }
  }
  EXPECT_EQ(loader::drop_reason_name(PW_DROP_REASONS), "unknown");
  EXPECT_EQ(loader::drop_reason_name(PW_DROP_IP_BAD_IHL), "ip_bad_ihl");
  EXPECT_EQ(loader::drop_reason_name(PW_DROP_INTERNAL), "internal");
}

TEST(LbEvents, EveryEventHasAUniqueName) {
  std::set<std::string_view> names;
  for (std::uint32_t e = 0; e < PW_EVENTS; ++e) {
    const auto name = loader::event_name(e);
    EXPECT_NE(name, "unknown");
    EXPECT_TRUE(names.insert(name).second) << name;
  }
  EXPECT_EQ(loader::event_name(PW_EVENTS), "unknown");
  EXPECT_EQ(loader::event_name(PW_EV_XDP_TC_HANDOFF), "xdp_tc_handoff");
}

}  // namespace
}  // namespace portway::test
