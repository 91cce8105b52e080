#include "model/address_pool.h"

#include "model/errors.h"

namespace portway::model {

std::uint64_t service_address_hash(std::string_view service_id) {
  return siphash24(kServiceAddressKey, service_id);
}

Ipv4Pool::Ipv4Pool(const net::Ipv4Prefix& prefix) : prefix_(prefix) {
  const std::uint64_t size = prefix.size();
  if (size < 4) {
    throw AllocationError(describe() + " holds no usable service address (network and broadcast "
                          "are never handed out; use /30 or larger)");
  }
  last_ = size - 2;
}

net::Ipv4 Ipv4Pool::address(std::uint64_t offset) const {
  return net::Ipv4{prefix_.network.value + static_cast<std::uint32_t>(offset)};
}

std::optional<std::uint64_t> Ipv4Pool::offset_of(net::Ipv4 a) const {
  if (!prefix_.contains(a)) return std::nullopt;
  const std::uint64_t off = a.value - prefix_.network.value;
  if (off < first() || off > last()) return std::nullopt;
  return off;
}

std::uint64_t Ipv4Pool::preferred(std::string_view service_id) const {
  return first() + service_address_hash(service_id) % usable();
}

std::string Ipv4Pool::describe() const { return "service_cidr " + net::to_string(prefix_); }

namespace {

constexpr unsigned kMaxIpv6HostBits = 32;

std::uint64_t low64(const net::Ipv6& a) {
  std::uint64_t v = 0;
  for (int i = 8; i < 16; ++i) v = (v << 8) | a.bytes[i];
  return v;
}

}  // namespace

Ipv6Pool::Ipv6Pool(const net::Ipv6Prefix& prefix) : prefix_(prefix) {
  const unsigned host_bits = 128u - prefix.length;
  if (host_bits < 2) {
    throw AllocationError(describe() + " holds no usable service address (use /126 or larger)");
  }
  const unsigned bits = host_bits < kMaxIpv6HostBits ? host_bits : kMaxIpv6HostBits;
  last_ = (std::uint64_t{1} << bits) - 1;
}

net::Ipv6 Ipv6Pool::address(std::uint64_t offset) const {
  // Offsets are below 2^32 and the prefix has no host bits set: adding is OR-ing into the
  // low bytes.
  net::Ipv6 a = prefix_.network;
  for (int i = 15; i >= 8 && offset != 0; --i) {
    a.bytes[i] = static_cast<std::uint8_t>(a.bytes[i] | (offset & 0xFF));
    offset >>= 8;
  }
  return a;
}

std::optional<std::uint64_t> Ipv6Pool::offset_of(const net::Ipv6& a) const {
  if (!prefix_.contains(a)) return std::nullopt;
  // Anything above the cap sits in bytes 0..11 or above bit 32: not an address we hand out.
  for (int i = 0; i < 12; ++i) {
    if (a.bytes[i] != prefix_.network.bytes[i]) return std::nullopt;
  }
  const std::uint64_t off = low64(a) - low64(prefix_.network);
  if (off < first() || off > last()) return std::nullopt;
  return off;
}

std::uint64_t Ipv6Pool::preferred(std::string_view service_id) const {
  return first() + service_address_hash(service_id) % usable();
}

std::string Ipv6Pool::describe() const { return "service_cidr6 " + net::to_string(prefix_); }

}  // namespace portway::model
