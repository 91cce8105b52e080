// `--dataplane auto|xdp|nft` with fake dataplanes: which one ends up active, that it is made
// complete before what the other one had installed is removed (never both, and never neither),
// the reason a fallback gives, and that auto keeps a running fast path.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "dataplane/newer_layout.h"
#include "dataplane/probe/choose.h"

namespace portway::dataplane::probe {
namespace {

// What happened, in order, across the fakes.
struct Journal {
  std::vector<std::string> events;
};

class FakeDataplane final : public Dataplane {
 public:
  FakeDataplane(Kind k, Journal& j) : kind_(k), j_(j) {}
  Kind kind() const override { return kind_; }
  bool is_installed() override { return false; }
  state::DataplaneState installed() override { return {}; }
  ApplyReport apply(const state::DataplaneState&) override { return {}; }
  ApplyReport apply_changes(const state::StateDiff&, const state::DataplaneState&) override { return {}; }
  Repairs repair(const KernelReading*, const state::DataplaneState&) override { return {}; }
  void remove_all() override { j_.events.push_back(std::string("remove ") + std::string(to_string(kind_))); }
  Stats stats() override { return {}; }

 private:
  Kind kind_;
  Journal& j_;
};

// `running`: a fast path is installed and attached before the sync.
DataplaneFactories factories(Journal& j, const char* xdp_failure = nullptr, bool running = false) {
  return {
      [&j, xdp_failure]() -> std::unique_ptr<Dataplane> {
        j.events.push_back("try xdp");
        if (xdp_failure) throw std::runtime_error(xdp_failure);
        return std::make_unique<FakeDataplane>(Kind::xdp, j);
      },
      [&j] {
        j.events.push_back("make nft");
        return std::make_unique<FakeDataplane>(Kind::nft, j);
      },
      [&j] { j.events.push_back("remove xdp"); },
      [&j] { j.events.push_back("remove nft"); },
      [running] { return running; },
  };
}

ProbeReport all_there() {
  return {{{"bpf_syscall", true, true, "ok"}, {"xdp_native:eth0", false, false, "generic only"}}};
}

ProbeReport missing_btf() {
  return {{{"bpf_syscall", true, true, "ok"}, {"btf_vmlinux", false, true, "/sys/kernel/btf/vmlinux is missing"}}};
}

config::NodeSettings with(config::DataplaneChoice c) {
  config::NodeSettings s;
  s.dataplane = c;
  return s;
}

// Which dataplane ended up active, whether that was a fallback, and what the fakes saw.
void expect_choice(const DataplaneChoiceResult& r, const Journal& j, Kind kind, bool fell_back,
                   const std::vector<std::string>& events, const char* why = "") {
  ASSERT_TRUE(r.dataplane);
  EXPECT_EQ(r.dataplane->kind(), kind);
  EXPECT_EQ(r.fell_back, fell_back);
  EXPECT_EQ(j.events, events) << why;
}

TEST(DataplaneChoice, AutoUsesTheFastPathWhenItStartsAndRemovesTheTable) {
  Journal j;
  const auto r = choose_dataplane(with(config::DataplaneChoice::automatic), all_there(), factories(j));
  expect_choice(r, j, Kind::xdp, false, {"try xdp", "remove nft"});
  EXPECT_NE(r.reason.find("xdp"), std::string::npos);
}

TEST(DataplaneChoice, AutoFallsBackWhenTheFastPathFailsToStart) {
  Journal j;
  const auto r = choose_dataplane(with(config::DataplaneChoice::automatic), all_there(),
                                  factories(j, "attach eth0: native XDP not supported by the driver"));
  expect_choice(r, j, Kind::nft, true, {"try xdp", "make nft", "remove xdp"}, "the table is left as it was");
  EXPECT_NE(r.reason.find("native XDP not supported by the driver"), std::string::npos) << r.reason;
  EXPECT_EQ(r.reason.rfind("nft: fallback", 0), 0u) << r.reason;
}

TEST(DataplaneChoice, AutoDoesNotEvenTryWhenTheProbeSaysNo) {
  Journal j;
  const auto r = choose_dataplane(with(config::DataplaneChoice::automatic), missing_btf(), factories(j));
  expect_choice(r, j, Kind::nft, true, {"make nft", "remove xdp"});
  EXPECT_NE(r.reason.find("btf_vmlinux"), std::string::npos) << r.reason;
}

TEST(DataplaneChoice, ExplicitNftRemovesTheFastPath) {
  Journal j;
  const auto r = choose_dataplane(with(config::DataplaneChoice::nft), all_there(), factories(j));
  expect_choice(r, j, Kind::nft, false, {"make nft", "remove xdp"}, "complete before the fast path goes");
}

TEST(DataplaneChoice, ExplicitXdpNeverFallsBack) {
  Journal j;
  try {
    choose_dataplane(with(config::DataplaneChoice::xdp), missing_btf(), factories(j, "verifier said no"));
    FAIL() << "expected DataplaneUnavailable";
  } catch (const DataplaneUnavailable& e) {
    EXPECT_NE(std::string(e.what()).find("verifier said no"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("btf_vmlinux"), std::string::npos);
  }
  EXPECT_EQ(j.events, (std::vector<std::string>{"try xdp"})) << "nothing of the table is touched";

  Journal ok;
  const auto r = choose_dataplane(with(config::DataplaneChoice::xdp), all_there(), factories(ok));
  expect_choice(r, ok, Kind::xdp, false, {"try xdp", "remove nft"}, "complete before the table goes");
}

// A fast path that runs is kept when refreshing it fails or the probe now says no: no
// fallback, nothing removed, an error that says so.
TEST(DataplaneChoice, AutoKeepsARunningFastPathWhoseRefreshFails) {
  Journal j;
  try {
    choose_dataplane(with(config::DataplaneChoice::automatic), all_there(),
                     factories(j, "map sizes differ", /*running=*/true));
    FAIL() << "expected DataplaneUnavailable";
  } catch (const DataplaneUnavailable& e) {
    EXPECT_NE(std::string(e.what()).find("map sizes differ"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("running fast path was kept"), std::string::npos) << e.what();
  }
  EXPECT_EQ(j.events, (std::vector<std::string>{"try xdp"})) << "neither removed nor replaced";
}

// Pins of a newer build's layout: even a fast path that is not attached (no link pins) stays,
// since falling back would remove it (docs/xdp-dataplane.md, "Pinned layout and upgrades").
TEST(DataplaneChoice, AutoNeverFallsBackFromANewerPinnedLayout) {
  Journal j;
  DataplaneFactories f = factories(j, nullptr, /*running=*/false);
  f.make_xdp = [&j]() -> std::unique_ptr<Dataplane> {
    j.events.push_back("try xdp");
    throw NewerLayout("the pins have layout 3");
  };
  try {
    choose_dataplane(with(config::DataplaneChoice::automatic), all_there(), f);
    FAIL() << "expected NewerLayout";
  } catch (const NewerLayout& e) {
    EXPECT_EQ(e.exit_code(), kExitEnvironment);
    EXPECT_NE(std::string(e.what()).find("layout 3"), std::string::npos) << e.what();
  }
  EXPECT_EQ(j.events, (std::vector<std::string>{"try xdp"})) << "neither removed nor replaced";
}

TEST(DataplaneChoice, AutoKeepsARunningFastPathTheProbeRefuses) {
  Journal j;
  EXPECT_THROW(choose_dataplane(with(config::DataplaneChoice::automatic), missing_btf(),
                                factories(j, nullptr, /*running=*/true)),
               DataplaneUnavailable);
  EXPECT_TRUE(j.events.empty());
}

TEST(DataplaneChoice, AnExplicitNftStillReplacesARunningFastPath) {
  Journal j;
  const auto r = choose_dataplane(with(config::DataplaneChoice::nft), all_there(), factories(j, nullptr, true));
  expect_choice(r, j, Kind::nft, false, {"make nft", "remove xdp"});
}

TEST(DataplaneChoice, ProbeReportJsonAndReason) {
  const ProbeReport r = missing_btf();
  EXPECT_FALSE(r.fast_path_possible());
  const auto j = to_json(r);
  EXPECT_EQ(j["fast_path"], false);
  EXPECT_EQ(j["features"][1]["name"], "btf_vmlinux");
  EXPECT_EQ(j["features"][1]["ok"], false);
  EXPECT_EQ(j["features"][1]["required"], true);
  EXPECT_EQ(unavailable_reason(all_there()), "") << "an optional feature does not block the fast path";
}

}  // namespace
}  // namespace portway::dataplane::probe
