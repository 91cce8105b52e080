#include "loader/mapped_array.h"

#include <linux/bpf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>

#include "loader/error.h"
#include "loader/map_info.h"

namespace portway::loader {

MappedArray::MappedArray(int map_fd, const std::string& what) {
  const std::string step = "mmap " + what;
  const MapInfo info = map_info(map_fd);
  if (info.type != BPF_MAP_TYPE_ARRAY || (info.map_flags & BPF_F_MMAPABLE) == 0) {
    throw Error(step, EINVAL, "not a BPF_F_MMAPABLE array");
  }
  if (info.value_size % 8 != 0) {
    throw Error(step, EINVAL, "value size " + std::to_string(info.value_size) +
                                  " is not a multiple of 8 (the kernel's element stride)");
  }
  const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  const std::size_t bytes = std::size_t{info.value_size} * info.max_entries;
  const std::size_t length = (bytes + page - 1) / page * page;
  void* base = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
  if (base == MAP_FAILED) {
    throw Error(step, errno, std::to_string(length) + " bytes");
  }
  base_ = base;
  length_ = length;
  value_size_ = info.value_size;
  entries_ = info.max_entries;
}

void MappedArray::unmap() noexcept {
  if (base_ != nullptr) {
    // munmap of a mapping we made cannot fail in a way we could act on.
    (void)munmap(base_, length_);
    base_ = nullptr;
  }
}

}  // namespace portway::loader
