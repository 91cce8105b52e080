// A service address pool (docs/model.md "Address allocation") seen as a range of offsets from its
// prefix's base address, so one probing algorithm serves IPv4 and IPv6.
//
// Usable offsets:
//   IPv4: [1, size - 2]: never the network (offset 0) or broadcast (size - 1) address.
//   IPv6: [1, min(2^host_bits, 2^32) - 1]: never offset 0 (the Subnet-Router anycast
//         address, RFC 4291 2.6.1); capped at 32 bits of host space, which is 4 billion
//         services and keeps addresses short and well clear of RFC 2526's reserved anycast
//         identifiers at the top of a /64.
//
// The preferred offset of a Service is first + SipHash-2-4(kServiceAddressKey, id) mod usable:
// the same id gives the same preferred address on every build and platform, so a deleted and
// re-created Service tends to get its old address back.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "model/siphash.h"
#include "net/ip_prefix.h"

namespace portway::model {

// Fixed for ever: changing it would move the preferred address of every future Service.
// The 16 ASCII bytes "portway/svc-ip/1".
inline constexpr SipKey kServiceAddressKey{'p', 'o', 'r', 't', 'w', 'a', 'y', '/',
                                           's', 'v', 'c', '-', 'i', 'p', '/', '1'};

std::uint64_t service_address_hash(std::string_view service_id);

class Ipv4Pool {
 public:
  // Throws AllocationError when the prefix holds no usable address (/31, /32).
  explicit Ipv4Pool(const net::Ipv4Prefix& prefix);

  std::uint64_t first() const { return 1; }
  std::uint64_t last() const { return last_; }
  std::uint64_t usable() const { return last_; }
  net::Ipv4 address(std::uint64_t offset) const;
  std::optional<std::uint64_t> offset_of(net::Ipv4 a) const;  // nullopt: not usable here
  std::uint64_t preferred(std::string_view service_id) const;
  std::string describe() const;  // "service_cidr 198.18.0.0/30"

 private:
  net::Ipv4Prefix prefix_;
  std::uint64_t last_;
};

class Ipv6Pool {
 public:
  explicit Ipv6Pool(const net::Ipv6Prefix& prefix);

  std::uint64_t first() const { return 1; }
  std::uint64_t last() const { return last_; }
  std::uint64_t usable() const { return last_; }
  net::Ipv6 address(std::uint64_t offset) const;
  std::optional<std::uint64_t> offset_of(const net::Ipv6& a) const;
  std::uint64_t preferred(std::string_view service_id) const;
  std::string describe() const;  // "service_cidr6 2001:2::/48"

 private:
  net::Ipv6Prefix prefix_;
  std::uint64_t last_;
};

}  // namespace portway::model
