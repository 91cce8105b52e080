// Service address allocation (docs/model.md "Address allocation"): preferred offset from the stable
// hash of the Service id, then deterministic linear probing upwards with wrap-around, over the
// allocations recorded in the store. Exhaustion is an AllocationError, never a loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "model/address_pool.h"
#include "store/store.h"

namespace portway::model {

// The allocated offsets in [from, to], ascending, at most `limit` of them.
using AllocatedOffsets =
    std::function<std::vector<std::uint64_t>(std::uint64_t from, std::uint64_t to, std::size_t limit)>;

// The lowest offset in [from, to] that is not allocated. Reads the allocations in batches,
// so its cost is the length of the allocated run starting at `from`, not the pool size.
std::optional<std::uint64_t> first_free(std::uint64_t from, std::uint64_t to,
                                        const AllocatedOffsets& allocated);

// Linear probing: the first free offset in [preferred, last], else in [first, preferred).
std::optional<std::uint64_t> probe(std::uint64_t first, std::uint64_t last, std::uint64_t preferred,
                                   const AllocatedOffsets& allocated);

// A free address for `service_id`, never one of `never` (the node's own addresses: a Service
// on one would take the node's traffic). The caller records it (put_service) in the same
// transaction. Throws AllocationError when the pool is full.
net::Ipv4 allocate_ipv4(store::Transaction& tx, const Ipv4Pool& pool, std::string_view service_id,
                        const std::vector<net::Ipv4>& never = {});
net::Ipv6 allocate_ipv6(store::Transaction& tx, const Ipv6Pool& pool, std::string_view service_id,
                        const std::vector<net::Ipv6>& never = {});

}  // namespace portway::model
