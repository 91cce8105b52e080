// Two network namespaces of the test's own joined by a veth pair: the generator's end "gen0"
// in one, the sink's end "sink0" in the other. Named after the pid (other test processes run
// at the same time); both removed when the object goes, also when a test fails.
#pragma once

#include <string>

#include "pktgen/frame_spec.h"

namespace portway::test {

class VethPair {
 public:
  explicit VethPair(const std::string& tag);
  ~VethPair();
  VethPair(const VethPair&) = delete;
  VethPair& operator=(const VethPair&) = delete;

  const std::string& gen_netns() const { return gen_; }
  const std::string& sink_netns() const { return sink_; }
  static constexpr const char* kGenLink = "gen0";
  static constexpr const char* kSinkLink = "sink0";
  pktgen::Mac sink_mac() const { return sink_mac_; }
  pktgen::Mac gen_mac() const { return gen_mac_; }

 private:
  std::string gen_, sink_;
  pktgen::Mac sink_mac_{}, gen_mac_{};
};

}  // namespace portway::test
