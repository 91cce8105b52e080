// Runs the calling thread in another network namespace for a scope, named the iproute2 way
// (/run/netns/NAME) or by a path (/proc/PID/ns/net). setns keeps the mounts, unlike
// `ip netns exec`, which remounts /sys and hides bpffs.
#pragma once

#include <string>

namespace portway::pktgen {

class NetnsEnter {
 public:
  // "" stays where it is. Throws std::system_error naming the namespace.
  explicit NetnsEnter(const std::string& name_or_path);
  ~NetnsEnter();
  NetnsEnter(const NetnsEnter&) = delete;
  NetnsEnter& operator=(const NetnsEnter&) = delete;

 private:
  int previous_ = -1;
};

}  // namespace portway::pktgen
