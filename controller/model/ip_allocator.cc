#include "model/ip_allocator.h"

#include <algorithm>
#include <iterator>

#include "model/errors.h"

namespace portway::model {
namespace {

constexpr std::size_t kBatch = 256;

// The first `limit` of (allocated ∪ excluded) in [from, to]. `allocated` is the store's first
// `limit`, so every one of the result is at most its last: the result is a true prefix of the
// union, which is what first_free needs.
std::vector<std::uint64_t> merge_excluded(std::vector<std::uint64_t> allocated,
                                          const std::vector<std::uint64_t>& excluded,
                                          std::uint64_t from, std::uint64_t to, std::size_t limit) {
  const auto lo = std::lower_bound(excluded.begin(), excluded.end(), from);
  const auto hi = std::upper_bound(excluded.begin(), excluded.end(), to);
  if (lo == hi) return allocated;
  std::vector<std::uint64_t> out;
  std::set_union(allocated.begin(), allocated.end(), lo, hi, std::back_inserter(out));
  if (out.size() > limit) out.resize(limit);
  return out;
}

template <class Pool, class Fetch, class Address>
auto allocate(const Pool& pool, std::string_view service_id, const char* family, Fetch fetch,
              const std::vector<Address>& never) {
  std::vector<std::uint64_t> excluded;
  for (const auto& a : never)
    if (const auto off = pool.offset_of(a)) excluded.push_back(*off);
  std::sort(excluded.begin(), excluded.end());
  const AllocatedOffsets allocated = [&](std::uint64_t from, std::uint64_t to, std::size_t limit) {
    std::vector<std::uint64_t> out;
    for (const auto& a : fetch(pool.address(from), pool.address(to), limit)) {
      // Every address in [address(from), address(to)] is a usable one of this pool.
      const auto off = pool.offset_of(a);
      if (!off) throw store::StoreError("the store returned an address outside the probed range");
      out.push_back(*off);
    }
    return merge_excluded(std::move(out), excluded, from, to, limit);
  };
  const auto offset = probe(pool.first(), pool.last(), pool.preferred(service_id), allocated);
  if (!offset) {
    throw AllocationError("no free " + std::string(family) + " address: all " +
                          std::to_string(pool.usable()) +
                          " usable addresses of " + pool.describe() +
                          " are allocated (widen it in the node settings, or delete an app)");
  }
  return pool.address(*offset);
}

}  // namespace

std::optional<std::uint64_t> first_free(std::uint64_t from, std::uint64_t to,
                                        const AllocatedOffsets& allocated) {
  if (from > to) return std::nullopt;
  std::uint64_t cursor = from;
  for (;;) {
    const auto batch = allocated(cursor, to, kBatch);
    for (const std::uint64_t a : batch) {
      if (a != cursor) return cursor;  // a gap just before `a`
      if (cursor == to) return std::nullopt;
      ++cursor;
    }
    if (batch.size() < kBatch) return cursor;  // nothing allocated in [cursor, to]
  }
}

std::optional<std::uint64_t> probe(std::uint64_t first, std::uint64_t last, std::uint64_t preferred,
                                   const AllocatedOffsets& allocated) {
  if (auto o = first_free(preferred, last, allocated)) return o;
  if (preferred > first) return first_free(first, preferred - 1, allocated);
  return std::nullopt;
}

net::Ipv4 allocate_ipv4(store::Transaction& tx, const Ipv4Pool& pool, std::string_view service_id,
                        const std::vector<net::Ipv4>& never) {
  return allocate(pool, service_id, "IPv4", [&](net::Ipv4 lo, net::Ipv4 hi, std::size_t limit) {
    return tx.allocated_ipv4(lo, hi, limit);
  }, never);
}

net::Ipv6 allocate_ipv6(store::Transaction& tx, const Ipv6Pool& pool, std::string_view service_id,
                        const std::vector<net::Ipv6>& never) {
  return allocate(pool, service_id, "IPv6", [&](const net::Ipv6& lo, const net::Ipv6& hi, std::size_t limit) {
    return tx.allocated_ipv6(lo, hi, limit);
  }, never);
}

}  // namespace portway::model
