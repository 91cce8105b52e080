// A BPF_F_MMAPABLE array map's values, mapped into this process (read-write, shared with the
// kernel): user space reads and writes them with plain memory accesses instead of one
// syscall per element. The mapping keeps the map alive on its own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>

namespace portway::loader {

class MappedArray {
 public:
  MappedArray() noexcept = default;
  // Maps all values of the array behind `map_fd` (which must be BPF_F_MMAPABLE, opened
  // read-write and not frozen). Throws loader::Error.
  MappedArray(int map_fd, const std::string& what);
  MappedArray(const MappedArray&) = delete;
  MappedArray& operator=(const MappedArray&) = delete;
  MappedArray(MappedArray&& o) noexcept
      : base_(std::exchange(o.base_, nullptr)), length_(std::exchange(o.length_, 0)),
        value_size_(o.value_size_), entries_(o.entries_) {}
  MappedArray& operator=(MappedArray&& o) noexcept {
    if (this != &o) {
      unmap();
      base_ = std::exchange(o.base_, nullptr);
      length_ = std::exchange(o.length_, 0);
      value_size_ = o.value_size_;
      entries_ = o.entries_;
    }
    return *this;
  }
  ~MappedArray() { unmap(); }

  // The values as one contiguous array of T. The kernel lays array values out back to back
  // with a stride of round_up(value_size, 8); the constructor insists that equals value_size,
  // so the view has no holes.
  template <typename T>
  [[nodiscard]] std::span<T> as() const noexcept {
    return {static_cast<T*>(base_), value_size_ * entries_ / sizeof(T)};
  }
  [[nodiscard]] std::uint32_t entries() const noexcept { return entries_; }

 private:
  void unmap() noexcept;

  void* base_ = nullptr;
  std::size_t length_ = 0;
  std::size_t value_size_ = 0;
  std::uint32_t entries_ = 0;
};

}  // namespace portway::loader
