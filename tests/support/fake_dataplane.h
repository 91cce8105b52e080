// A Dataplane whose "kernel" is a struct the test holds: what each kind has installed, and a
// journal of every call, in order, naming the object (#n) that made it. For the owner's logic
// (agent::NodeDataplane) without namespaces: which object programs, in which order a switch
// runs, what a check reads and repairs.
#pragma once

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "dataplane/dataplane.h"
#include "state/diff.h"

namespace portway::test {

struct FakeKernel {
  std::optional<state::DataplaneState> xdp, nft;  // installed, per kind
  std::vector<std::string> journal;
  int made = 0;                     // objects made so far
  bool fail_apply_changes = false;  // the next apply_changes throws (nothing written)

  std::optional<state::DataplaneState>& of(dataplane::Kind k) { return k == dataplane::Kind::xdp ? xdp : nft; }
};

class FakeDataplane final : public dataplane::Dataplane {
 public:
  FakeDataplane(dataplane::Kind kind, FakeKernel& kernel) : kind_(kind), k_(kernel), id_(++kernel.made) {}

  dataplane::Kind kind() const override { return kind_; }
  bool is_installed() override { return k_.of(kind_).has_value(); }
  state::DataplaneState installed() override { return k_.of(kind_).value_or(state::DataplaneState{}); }

  dataplane::ApplyReport apply(const state::DataplaneState& desired) override {
    log("apply");
    dataplane::ApplyReport r;
    r.applied = state::diff(installed(), desired);
    k_.of(kind_) = desired;
    return r;
  }
  dataplane::ApplyReport apply_changes(const state::StateDiff& d, const state::DataplaneState&) override {
    if (k_.fail_apply_changes) {
      k_.fail_apply_changes = false;
      throw std::runtime_error("fake kernel refused the change");
    }
    log("apply_changes");
    k_.of(kind_) = state::patch(installed(), d);
    return {d, {}};
  }
  dataplane::ApplyReport take_over(const state::DataplaneState& desired, bool other_installed) override {
    log(std::string("take_over") + (other_installed ? " from the other" : ""));
    return apply(desired);
  }
  void hand_over(std::vector<std::string>&) override {
    log("hand_over");
    k_.of(kind_).reset();
  }
  void remove_all() override {
    log("remove_all");
    k_.of(kind_).reset();
  }
  dataplane::Stats stats() override { return {}; }

  // The reading is a copy of what is installed when read() runs.
  struct Reading final : dataplane::KernelReading {
    state::DataplaneState seen;
  };
  std::unique_ptr<dataplane::KernelReader> make_reader(const state::DataplaneState&) override {
    struct Reader final : dataplane::KernelReader {
      FakeDataplane* dp;
      explicit Reader(FakeDataplane* d) : dp(d) {}
      std::unique_ptr<dataplane::KernelReading> read() override {
        auto r = std::make_unique<Reading>();
        r->seen = dp->installed();
        return r;
      }
    };
    return std::make_unique<Reader>(this);
  }
  dataplane::Repairs repair(const dataplane::KernelReading* reading, const state::DataplaneState& desired) override {
    log(reading ? "repair with a reading" : "repair reading now");
    const state::DataplaneState seen = reading ? static_cast<const Reading*>(reading)->seen : installed();
    dataplane::Repairs out;
    // The drift is what the reading shows; the repair re-asserts desired.
    if (seen != desired || !is_installed()) {
      out.add("fake_drift", "fake: the kernel differed");
      k_.of(kind_) = desired;
    }
    return out;
  }

 private:
  void log(const std::string& what) {
    k_.journal.push_back(std::string(dataplane::to_string(kind_)) + " #" + std::to_string(id_) + " " + what);
  }

  dataplane::Kind kind_;
  FakeKernel& k_;
  int id_;
};

}  // namespace portway::test
