#include "dataplane/handoff/switching_fast_path.h"

#include "dataplane/handoff/switch_steps.h"

namespace portway::dataplane::handoff {

ApplyReport SwitchingFastPath::take_over(const state::DataplaneState& desired, bool other_installed) {
  return start_fast_path(*this, desired, other_installed);
}

void SwitchingFastPath::hand_over(std::vector<std::string>& notes) { retire_fast_path(*this, notes); }

}  // namespace portway::dataplane::handoff
