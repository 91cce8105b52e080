// XDP attachment as a bpf_link pinned in bpffs, so it outlives the process that made it (the
// daemon restarts without unloading the fast path) and a new program version replaces the old
// one atomically (bpf_link_update), with no window in which packets see no program.
#pragma once

#include <cstdint>
#include <string>

#include "loader/unique_fd.h"

namespace portway::loader {

enum class XdpMode : std::uint8_t { native, generic };
const char* to_string(XdpMode m);

struct XdpLink {
  UniqueFd fd;
  XdpMode mode = XdpMode::native;
  std::string fallback_reason;  // why native failed, when mode == generic
};

// Native (driver) mode first; if the driver refuses and `allow_generic`, generic (skb) mode,
// recording why. Throws loader::Error (EBUSY when another XDP program is attached).
XdpLink attach_xdp_link(int prog_fd, int ifindex, bool allow_generic);

// bpf_obj_pin / bpf_obj_get for links (and any other BPF object).
void pin_object(int fd, const std::string& path);
UniqueFd open_pinned(const std::string& path);  // invalid UniqueFd when the pin is absent

// Swaps the program behind a link atomically.
void update_link_program(int link_fd, int prog_fd);

// The ifindex an XDP link is attached to, and its program id (bpf_link_get_info_by_fd).
struct XdpLinkInfo {
  std::uint32_t ifindex = 0;
  std::uint32_t prog_id = 0;
};
XdpLinkInfo xdp_link_info(int link_fd);

// Detaches (the link stops when its pin and last fd are gone): unpins and detaches.
void unpin_and_detach(const std::string& path);

}  // namespace portway::loader
