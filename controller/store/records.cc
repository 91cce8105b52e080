#include "store/records.h"

namespace portway::store {

std::string_view to_string(SandboxState s) {
  switch (s) {
    case SandboxState::running: return "running";
    case SandboxState::draining: return "draining";
    case SandboxState::stopped: return "stopped";
  }
  return "?";
}

std::optional<SandboxState> parse_sandbox_state(std::string_view s) {
  if (s == "running") return SandboxState::running;
  if (s == "draining") return SandboxState::draining;
  if (s == "stopped") return SandboxState::stopped;
  return std::nullopt;
}

}  // namespace portway::store
