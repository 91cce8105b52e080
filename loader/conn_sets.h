// User space's side of the set-associative connection tables pw_conn_sets and pw_conn_sets6
// (lb_abi.h, layout 5). Reads copy a whole set under its lock (BPF_F_LOCK), so no way is seen
// half written; writes go through the programs pw_conn_ctl4/6 (BPF_PROG_TEST_RUN), which take
// the set's lock as the packet path's own writes do: a read-modify-write of a set from here
// would lose what the programs wrote into its other ways in between. Internal to the loader.
#pragma once

#include <linux/bpf.h>

#include <bpf/bpf.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "loader/error.h"
#include "loader/prog_test_run.h"
#include "portway/conn_hash.h"
#include "portway/lb_abi.h"

namespace portway::loader::conn_sets {

// One family's table: the map, the program that writes it, and its set count (the map's
// max_entries, which the programs were loaded with). map < 0: the pins have no such table.
struct Table {
  int map = -1;
  int ctl = -1;
  std::uint32_t sets = 0;
  const char* family = "";  // "" or "IPv6 ", for messages
};

// The family's structs and hash (portway/conn_hash.h, as the programs compute it).
template <typename ConnKey>
struct Shape;

template <>
struct Shape<pw_conn_key> {
  using Set = pw_conn_set;
  using Conn = pw_conn;
  using Ctl = pw_conn_ctl;
  static std::uint32_t hash(const pw_conn_key& k) { return pw_conn_hash4(k.client_addr, k.client_port, k.proto); }
};

template <>
struct Shape<pw_conn6_key> {
  using Set = pw_conn6_set;
  using Conn = pw_conn6;
  using Ctl = pw_conn6_ctl;
  static std::uint32_t hash(const pw_conn6_key& k) { return pw_conn_hash6(k.client_addr.w, k.client_port, k.proto); }
};

inline std::string step(const Table& t, const char* what) { return std::string(what) + " " + t.family + "connections"; }

// The key as the ways hold it: the reserved byte 0.
template <typename ConnKey>
ConnKey normalized(ConnKey k) {
  k.reserved = 0;
  return k;
}

// The connection of a client, or nullopt.
template <typename ConnKey>
std::optional<typename Shape<ConnKey>::Conn> lookup(const Table& t, const ConnKey& key) {
  const ConnKey k = normalized(key);
  const std::uint32_t h = Shape<ConnKey>::hash(k);
  std::uint32_t index = pw_conn_set_index(h, t.sets);
  typename Shape<ConnKey>::Set set{};
  check(bpf_map_lookup_elem_flags(t.map, &index, &set, BPF_F_LOCK), step(t, "look up").c_str());
  for (std::uint32_t w = 0; w < PW_CONN_WAYS; ++w) {
    if (set.tag[w] == pw_conn_tag(h) && std::memcmp(&set.way[w].key, &k, sizeof(k)) == 0) return set.way[w].conn;
  }
  return std::nullopt;
}

// Calls visit(key, conn) for every connection, set by set; each set is read whole under its
// lock, a batch of sets per syscall (bounded memory: a table is tens of MiB).
template <typename ConnKey, typename Visit>
void for_each(const Table& t, Visit&& visit) {
  using Set = typename Shape<ConnKey>::Set;
  constexpr std::uint32_t kBatch = 512;
  std::vector<Set> sets(kBatch);
  std::vector<std::uint32_t> keys(kBatch);
  std::uint32_t cursor = 0;
  bool first = true;
  std::uint32_t done = 0;
  while (done < t.sets) {
    __u32 count = std::min(kBatch, t.sets - done);
    bpf_map_batch_opts opts{};
    opts.sz = sizeof(opts);
    opts.elem_flags = BPF_F_LOCK;
    std::uint32_t next = 0;
    const int ret = bpf_map_lookup_batch(t.map, first ? nullptr : &cursor, &next, keys.data(), sets.data(),
                                         &count, &opts);
    if (ret < 0 && ret != -ENOENT) throw Error(step(t, "list"), ret);
    for (std::uint32_t i = 0; i < count; ++i) {
      for (std::uint32_t w = 0; w < PW_CONN_WAYS; ++w) {
        if (sets[i].tag[w] != 0) visit(sets[i].way[w].key, sets[i].way[w].conn);
      }
    }
    done += count;
    if (ret == -ENOENT || count == 0) break;
    cursor = next;
    first = false;
  }
}

template <typename ConnKey>
std::size_t count(const Table& t) {
  std::size_t n = 0;
  for_each<ConnKey>(t, [&](const ConnKey&, const typename Shape<ConnKey>::Conn&) { ++n; });
  return n;
}

// Runs the operations through the table's program, PW_CONN_CTL_BATCH per run, and returns
// them with their results. An operation left PW_CONN_CTL_PENDING (the program stopped short)
// is an error: it would mean a frame the program did not read whole.
template <typename Ctl>
std::vector<Ctl> run(const Table& t, std::vector<Ctl> ops) {
  const std::string what = step(t, "write");
  if (t.ctl < 0) throw Error(what, EBADF, "no pw_conn_ctl program");
  for (std::size_t at = 0; at < ops.size(); at += PW_CONN_CTL_BATCH) {
    const std::size_t n = std::min<std::size_t>(PW_CONN_CTL_BATCH, ops.size() - at);
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(ops.data() + at);
    const TestRunResult r = test_run(t.ctl, std::span(bytes, n * sizeof(Ctl)));
    if (r.output.size() < n * sizeof(Ctl)) throw Error(what, EIO, "the program returned a shorter frame");
    std::memcpy(ops.data() + at, r.output.data(), n * sizeof(Ctl));
    for (std::size_t i = at; i < at + n; ++i) {
      if (ops[i].result == PW_CONN_CTL_PENDING || ops[i].result == PW_CONN_CTL_INVALID)
        throw Error(what, EINVAL, "operation " + std::to_string(i) + " not done (result " +
                                      std::to_string(ops[i].result) + ")");
    }
  }
  return ops;
}

// Empties every set, each under its lock (batches of zeroed sets; the kernel's copy leaves
// the lock word alone); returns how many connections they held.
template <typename ConnKey>
std::size_t clear(const Table& t) {
  constexpr std::uint32_t kBatch = 512;
  const std::size_t n = count<ConnKey>(t);
  const std::vector<typename Shape<ConnKey>::Set> empty(kBatch);
  std::vector<std::uint32_t> keys(kBatch);
  for (std::uint32_t at = 0; at < t.sets; at += kBatch) {
    __u32 count = std::min(kBatch, t.sets - at);
    for (std::uint32_t i = 0; i < count; ++i) keys[i] = at + i;
    bpf_map_batch_opts opts{};
    opts.sz = sizeof(opts);
    opts.elem_flags = BPF_F_LOCK;
    const __u32 wanted = count;
    const int ret = bpf_map_update_batch(t.map, keys.data(), empty.data(), &count, &opts);
    if (ret < 0 || count != wanted) throw Error(step(t, "clear"), ret < 0 ? ret : EIO);
  }
  return n;
}

}  // namespace portway::loader::conn_sets
