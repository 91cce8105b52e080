// `portway probe`: the kernel features the XDP/tc fast path needs, each yes/no with the
// reason, found by asking the kernel (libbpf's probe API loads tiny programs and creates
// tiny maps; XDP driver support comes from the netdev netlink family), never by guessing
// from version numbers alone. Nothing is attached anywhere: probing is safe on a live node.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <string>
#include <vector>

#include "config/node_settings.h"

namespace portway::dataplane::probe {

struct Feature {
  std::string name;    // stable, e.g. "bpf_syscall", "xdp_native:eth0"
  bool ok = false;
  bool required = true;  // false: the fast path works without it (e.g. generic XDP)
  std::string reason;    // why yes or why not, in words
};

struct ProbeReport {
  std::vector<Feature> features;

  bool fast_path_possible() const;  // every required feature is there
  const Feature* first_missing() const;  // the first required feature that is not; or null
};

ProbeReport probe_kernel(const config::NodeSettings& settings);

// {"fast_path": bool, "features": [{"name", "ok", "required", "reason"}]}
nlohmann::json to_json(const ProbeReport& r);

// What `--dataplane auto` would say: "" when the fast path can be tried, else why not.
std::string unavailable_reason(const ProbeReport& r);

}  // namespace portway::dataplane::probe
