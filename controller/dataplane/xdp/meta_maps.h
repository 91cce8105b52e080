// Metadata the fast path keeps next to its maps, so that what is installed can be read back
// from the kernel alone (installed()), after a restart or another process's sync:
//   pw_meta_sets       set id      -> the Service id it serves (the backend set's name)
//   pw_meta_frontends  frontend id -> the Service port's name
//   pw_meta_tc         ifindex     -> whether portway created that interface's clsact qdisc
//   pw_meta_program    0           -> fingerprint of the loaded BPF object (upgrade detection)
//   pw_meta_tc_uplink  ifindex     -> whether portway created that uplink's clsact qdisc
//                                     (pw_tc_uplink, uplink_delivery.h); absent in pins of
//                                     older versions until the next open_or_create
//   pw_meta_layout     0           -> the layout version of the pinned maps (lb_abi.h
//                                     PW_LAYOUT_VERSION); 0 or no map: layout 1
//                                     (docs/xdp-dataplane.md, "Pinned layout and upgrades")
// These maps are created by the controller, never read by BPF programs.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dataplane/xdp/pin_layout.h"
#include "loader/unique_fd.h"

namespace portway::dataplane::xdp {

inline constexpr std::size_t kMetaNameBytes = 128;  // Service ids: svc/<63>/<63> fit

class MetaMaps {
 public:
  // Opens the pinned metadata maps, creating and pinning missing ones. Throws loader::Error.
  static MetaMaps open_or_create(const PinLayout& pins, std::uint32_t max_sets,
                                 std::uint32_t max_frontends);
  // nullopt when not installed.
  static std::optional<MetaMaps> open_existing(const PinLayout& pins);

  void set_set_name(std::uint32_t set_id, const std::string& name);
  void erase_set(std::uint32_t set_id);
  std::map<std::uint32_t, std::string> set_names() const;

  void set_frontend_name(std::uint32_t frontend_id, const std::string& name);
  // Batched (one syscall each): id -> name.
  void set_set_names(const std::vector<std::pair<std::uint32_t, std::string>>& names);
  void set_frontend_names(const std::vector<std::pair<std::uint32_t, std::string>>& names);
  void erase_frontend(std::uint32_t frontend_id);
  std::map<std::uint32_t, std::string> frontend_names() const;

  void set_tc_owned(std::uint32_t ifindex, bool created_clsact);
  void erase_tc(std::uint32_t ifindex);
  std::map<std::uint32_t, bool> tc_interfaces() const;  // ifindex -> created_clsact

  // Uplinks carrying pw_tc_uplink. Empty when pw_meta_tc_uplink is absent (older pins).
  void set_uplink_tc_owned(std::uint32_t ifindex, bool created_clsact);
  void erase_uplink_tc(std::uint32_t ifindex);
  std::map<std::uint32_t, bool> uplink_tc_interfaces() const;  // ifindex -> created_clsact

  std::uint64_t program_fingerprint() const;  // 0 when none recorded
  void set_program_fingerprint(std::uint64_t fp);

  // The layout the pins under `pins` have: the version record when there is one, else 1 when
  // the fast path's maps are pinned there (layout 1), 0 when nothing is. Reads only.
  static std::uint32_t pinned_layout(const PinLayout& pins);
  void set_layout_version(std::uint32_t version);

 private:
  MetaMaps() = default;
  loader::UniqueFd sets_, frontends_, tc_, program_, tc_uplink_, layout_;
};

}  // namespace portway::dataplane::xdp
