// Typed, size-checked reads of BPF_MAP_TYPE_PERCPU_ARRAY entries.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

struct bpf_map;

namespace portway::loader {

namespace detail {

struct PerCpuArrayShape {
  std::string name;
  std::uint32_t max_entries = 0;
  std::size_t cpus = 0;    // libbpf_num_possible_cpus(): the kernel returns one slot per possible CPU
  std::size_t stride = 0;  // value size rounded up to 8: the kernel's per-CPU slot size
};

// Checks that `map_fd` is a per-CPU array with 4-byte keys whose value_size is exactly
// `value_size`; throws loader::Error (EINVAL) naming both sizes otherwise.
PerCpuArrayShape check_percpu_array(int map_fd, std::size_t value_size);

// Copies all per-CPU slots of entry `index` into `out` (cpus * stride bytes).
void lookup_percpu(int map_fd, const PerCpuArrayShape& shape, std::uint32_t index,
                   std::span<std::byte> out);

int map_fd_of(const bpf_map* map);

}  // namespace detail

// A view of a per-CPU array whose values are `T`, the struct from the shared C header. It
// borrows the map fd: it must not outlive the skeleton (or UniqueFd) that owns the map.
//
// The value size is checked once against the kernel's map, so a C header and a BPF object
// that disagree fail loudly here instead of reading garbage.
template <typename T>
  requires std::is_trivially_copyable_v<T>
class PerCpuArray {
 public:
  explicit PerCpuArray(int map_fd)
      : fd_(map_fd), shape_(detail::check_percpu_array(map_fd, sizeof(T))) {}
  explicit PerCpuArray(const bpf_map* map) : PerCpuArray(detail::map_fd_of(map)) {}

  // One value per possible CPU, indexed by CPU number.
  [[nodiscard]] std::vector<T> read(std::uint32_t index) const {
    std::vector<std::byte> raw(shape_.cpus * shape_.stride);
    detail::lookup_percpu(fd_, shape_, index, raw);
    std::vector<T> values(shape_.cpus);
    for (std::size_t cpu = 0; cpu < shape_.cpus; ++cpu) {
      std::memcpy(&values[cpu], raw.data() + cpu * shape_.stride, sizeof(T));
    }
    return values;
  }

  // The entry summed over all CPUs with T's operator+= (e.g. the one next to the struct in
  // its C header).
  [[nodiscard]] T sum(std::uint32_t index) const
    requires requires(T& a, const T& b) { a += b; }
  {
    T total{};
    for (const T& v : read(index)) {
      total += v;
    }
    return total;
  }

  [[nodiscard]] std::uint32_t size() const noexcept { return shape_.max_entries; }
  [[nodiscard]] std::size_t cpus() const noexcept { return shape_.cpus; }
  [[nodiscard]] const std::string& name() const noexcept { return shape_.name; }

 private:
  int fd_;
  detail::PerCpuArrayShape shape_;
};

}  // namespace portway::loader
