// What the kernel says about a map fd (not what the object file declared).
#pragma once

#include <cstdint>
#include <string>

namespace portway::loader {

struct MapInfo {
  std::string name;
  std::uint32_t type = 0;  // BPF_MAP_TYPE_*
  std::uint32_t key_size = 0;
  std::uint32_t value_size = 0;
  std::uint32_t max_entries = 0;
  std::uint32_t map_flags = 0;  // BPF_F_*
};

// Throws loader::Error if the fd is not a BPF map.
[[nodiscard]] MapInfo map_info(int map_fd);

}  // namespace portway::loader
