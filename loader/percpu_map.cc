#include "loader/percpu_map.h"

#include <linux/bpf.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "loader/error.h"
#include "loader/map_info.h"

namespace portway::loader::detail {

PerCpuArrayShape check_percpu_array(int map_fd, std::size_t value_size) {
  const MapInfo info = map_info(map_fd);
  const std::string step = "per-CPU array '" + info.name + "'";
  if (info.type != BPF_MAP_TYPE_PERCPU_ARRAY) {
    throw Error(step, EINVAL, "map type is " + std::to_string(info.type) +
                                  ", not BPF_MAP_TYPE_PERCPU_ARRAY");
  }
  if (info.key_size != sizeof(std::uint32_t)) {
    throw Error(step, EINVAL, "key_size is " + std::to_string(info.key_size) + ", not 4");
  }
  if (info.value_size != value_size) {
    throw Error(step, EINVAL,
                "value_size is " + std::to_string(info.value_size) +
                    " bytes but the C++ type is " + std::to_string(value_size) + " bytes");
  }
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) {
    throw Error(step, cpus < 0 ? cpus : EINVAL, "cannot count possible CPUs");
  }
  PerCpuArrayShape shape;
  shape.name = info.name;
  shape.max_entries = info.max_entries;
  shape.cpus = static_cast<std::size_t>(cpus);
  // The kernel lays per-CPU values out at 8-byte strides whatever the value size is.
  shape.stride = (value_size + 7) & ~std::size_t{7};
  return shape;
}

void lookup_percpu(int map_fd, const PerCpuArrayShape& shape, std::uint32_t index,
                   std::span<std::byte> out) {
  const std::string step = "lookup in per-CPU array '" + shape.name + "'";
  if (out.size() != shape.cpus * shape.stride) {
    throw Error(step, EINVAL, "buffer size does not match cpus * stride");
  }
  if (index >= shape.max_entries) {
    throw Error(step, ENOENT,
                "index " + std::to_string(index) + " >= max_entries " +
                    std::to_string(shape.max_entries));
  }
  check(bpf_map_lookup_elem(map_fd, &index, out.data()), step);
}

int map_fd_of(const bpf_map* map) {
  const int fd = map != nullptr ? bpf_map__fd(map) : -EINVAL;
  if (fd < 0) {
    // bpf_map__fd is negative before the skeleton is loaded.
    throw Error("per-CPU array fd", fd, "map is null or not loaded yet");
  }
  return fd;
}

}  // namespace portway::loader::detail
