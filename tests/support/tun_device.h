// A layer-3 TUN device: the test side writes IP packets into the kernel through its fd.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "loader/unique_fd.h"

namespace portway::test {

class TunDevice {
 public:
  // Creates a non-persistent TUN device (IFF_TUN | IFF_NO_PI) named after `name_pattern`
  // (e.g. "pwtun%d") in the calling thread's netns and sets it up. The device goes away when
  // this object does. Throws std::system_error.
  explicit TunDevice(const std::string& name_pattern);

  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] int ifindex() const noexcept { return ifindex_; }

  // Hands one packet to the kernel as if the device had received it. Throws on a short write
  // or error.
  void inject(std::span<const std::uint8_t> packet) const;

 private:
  loader::UniqueFd fd_;
  std::string name_;
  int ifindex_ = 0;
};

}  // namespace portway::test
