#include "loader/map_info.h"

#include <linux/bpf.h>

#include <bpf/bpf.h>

#include "loader/error.h"

namespace portway::loader {

MapInfo map_info(int map_fd) {
  bpf_map_info info{};
  __u32 len = sizeof(info);
  check(bpf_obj_get_info_by_fd(map_fd, &info, &len), "BPF_OBJ_GET_INFO_BY_FD (map)");
  MapInfo out;
  out.name = info.name;
  out.type = info.type;
  out.key_size = info.key_size;
  out.value_size = info.value_size;
  out.max_entries = info.max_entries;
  out.map_flags = info.map_flags;
  return out;
}

}  // namespace portway::loader
