// A scoped XDP attachment: attached on construction, detached on destruction.
#pragma once

#include <cstdint>

#include "loader/unique_fd.h"

namespace portway::loader {

class XdpAttachment {
 public:
  // Attaches `prog_fd` to `ifindex` with XDP_FLAGS_* `mode` (e.g. XDP_FLAGS_SKB_MODE or
  // XDP_FLAGS_DRV_MODE). Refuses (EBUSY) to replace a program someone else attached. Keeps
  // its own duplicate of the program fd, so it may outlive the skeleton it came from.
  // Throws loader::Error.
  XdpAttachment(int ifindex, int prog_fd, std::uint32_t mode);

  // Detaches only if our program is still the one attached (an admin may have replaced it).
  // A device that disappeared first took the attachment with it; that is not an error.
  ~XdpAttachment();

  XdpAttachment(const XdpAttachment&) = delete;
  XdpAttachment& operator=(const XdpAttachment&) = delete;
  XdpAttachment(XdpAttachment&& other) noexcept;
  XdpAttachment& operator=(XdpAttachment&&) = delete;

  [[nodiscard]] int ifindex() const noexcept { return ifindex_; }

 private:
  int ifindex_;
  std::uint32_t mode_;
  UniqueFd prog_;
};

}  // namespace portway::loader
