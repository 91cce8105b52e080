// Typed single-map operations shared by LbMaps' files (lb_maps.cc, lb_maps6.cc): lookups,
// updates, walks and batches over one map fd, all failing with loader::Error. Internal to the
// loader.
#pragma once

#include <linux/bpf.h>

#include <bpf/bpf.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "loader/error.h"
#include "loader/map_info.h"

namespace portway::loader::map_ops {

inline std::uint32_t checked_map(int fd, const char* name, std::uint32_t type, std::size_t key_size,
                          std::size_t value_size) {
  const std::string step = std::string{"LB map "} + name;
  if (fd < 0) {
    throw Error(step, EBADF, "no fd (skeleton not loaded?)");
  }
  const MapInfo info = map_info(fd);
  if (info.type != type) {
    throw Error(step, EINVAL,
                "map type " + std::to_string(info.type) + ", expected " + std::to_string(type));
  }
  if (info.key_size != key_size || info.value_size != value_size) {
    throw Error(step, EINVAL,
                "key/value " + std::to_string(info.key_size) + "/" +
                    std::to_string(info.value_size) + " bytes in the kernel, " +
                    std::to_string(key_size) + "/" + std::to_string(value_size) + " in C++");
  }
  return info.max_entries;
}

template <typename K, typename V>
void update(int fd, const K& key, const V& value, const char* what) {
  check(bpf_map_update_elem(fd, &key, &value, BPF_ANY), what);
}

template <typename K>
bool erase(int fd, const K& key, const char* what) {
  const int ret = bpf_map_delete_elem(fd, &key);
  if (ret == -ENOENT) {
    return false;
  }
  check(ret, what);
  return true;
}

template <typename K, typename V>
std::optional<V> lookup(int fd, const K& key, const char* what) {
  V value{};
  const int ret = bpf_map_lookup_elem(fd, &key, &value);
  if (ret == -ENOENT) {
    return std::nullopt;
  }
  check(ret, what);
  return value;
}

// Calls visit(key) for every key of a hash map, in bpf_map_get_next_key order.
template <typename K, typename Visit>
void for_each_key(int fd, const char* what, Visit&& visit) {
  K cur{};
  K next{};
  const K* prev = nullptr;
  for (;;) {
    const int ret = bpf_map_get_next_key(fd, prev, &next);
    if (ret == -ENOENT) {
      return;
    }
    check(ret, what);
    visit(next);
    cur = next;
    prev = &cur;
  }
}

// All entries of a hash map. Entries deleted concurrently (LRU eviction) are skipped.
template <typename K, typename V>
std::vector<std::pair<K, V>> dump(int fd, const char* what) {
  std::vector<std::pair<K, V>> out;
  for_each_key<K>(fd, what, [&](const K& key) {
    V value{};
    if (bpf_map_lookup_elem(fd, &key, &value) == 0) {
      out.emplace_back(key, value);
    }
  });
  return out;
}

template <typename K>
std::size_t count_keys(int fd, const char* what) {
  std::size_t n = 0;
  for_each_key<K>(fd, what, [&](const K&) { ++n; });
  return n;
}

// Returns how many entries it deleted.
template <typename K>
std::size_t clear(int fd, const char* what) {
  // Collect first: deleting the key get_next_key stands on restarts the walk.
  std::vector<K> keys;
  for_each_key<K>(fd, what, [&](const K& key) { keys.push_back(key); });
  std::size_t n = 0;
  for (const K& k : keys) {
    n += erase(fd, k, what) ? 1 : 0;
  }
  return n;
}

// BPF_MAP_UPDATE_BATCH: one syscall for many elements (kernel >= 5.6 for arrays and hashes).
// The kernel stops at the first element it cannot write and reports how many it wrote.
template <typename K, typename V>
void update_batch(int fd, const std::vector<K>& keys, const std::vector<V>& values,
                  const char* what) {
  if (keys.empty()) {
    return;
  }
  __u32 count = static_cast<__u32>(keys.size());
  bpf_map_batch_opts opts{};
  opts.sz = sizeof(opts);
  const int ret = bpf_map_update_batch(fd, keys.data(), values.data(), &count, &opts);
  if (ret < 0 || count != keys.size()) {
    throw Error(what, ret < 0 ? ret : EIO,
                std::to_string(count) + " of " + std::to_string(keys.size()) + " written");
  }
}

inline void check_index(std::uint32_t index, std::uint32_t limit, const char* step, const char* what) {
  if (index >= limit) {
    throw Error(step, EINVAL,
                std::string{what} + " " + std::to_string(index) + " >= capacity " +
                    std::to_string(limit));
  }
}

// Every value of an ARRAY map of `entries` elements, in index order, read with batched
// lookups (arrays hand out every index in order; the batch cursor is opaque, an index here).
template <typename V>
std::vector<V> read_array(int fd, std::uint32_t entries, const char* step) {
  std::vector<V> out(entries);
  std::vector<std::uint32_t> keys(entries);
  std::uint32_t cursor = 0;
  bool first = true;
  std::size_t done = 0;
  while (done < out.size()) {
    __u32 count = static_cast<__u32>(out.size() - done);
    bpf_map_batch_opts opts{};
    opts.sz = sizeof(opts);
    std::uint32_t next = 0;
    const int ret = bpf_map_lookup_batch(fd, first ? nullptr : &cursor, &next,
                                         keys.data() + done, out.data() + done, &count, &opts);
    if (ret < 0 && ret != -ENOENT) {
      check(ret, step);
    }
    done += count;
    if (ret == -ENOENT || count == 0) {
      break;
    }
    cursor = next;
    first = false;
  }
  if (done != out.size()) {
    throw Error(step, EIO, std::to_string(done) + " of " + std::to_string(out.size()) + " read");
  }
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (keys[i] != i) {
      throw Error(step, EIO, "batch returned indexes out of order");
    }
  }
  return out;
}

}  // namespace portway::loader::map_ops
