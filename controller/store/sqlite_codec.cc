#include "store/sqlite_codec.h"

#include <cstring>
#include <nlohmann/json.hpp>

#include "store/store.h"

namespace portway::store::sqlite {

std::array<std::uint8_t, 4> encode(net::Ipv4 a) {
  return {static_cast<std::uint8_t>(a.value >> 24), static_cast<std::uint8_t>(a.value >> 16),
          static_cast<std::uint8_t>(a.value >> 8), static_cast<std::uint8_t>(a.value)};
}

const std::array<std::uint8_t, 16>& encode(const net::Ipv6& a) { return a.bytes; }

net::Ipv4 decode_ipv4(const std::vector<std::uint8_t>& b) {
  if (b.size() != 4) throw StoreError("corrupt state database: IPv4 address of " + std::to_string(b.size()) + " bytes");
  return net::Ipv4{(std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) |
                   (std::uint32_t{b[2]} << 8) | b[3]};
}

net::Ipv6 decode_ipv6(const std::vector<std::uint8_t>& b) {
  if (b.size() != 16) throw StoreError("corrupt state database: IPv6 address of " + std::to_string(b.size()) + " bytes");
  net::Ipv6 a;
  std::memcpy(a.bytes.data(), b.data(), 16);
  return a;
}

std::string encode_labels(const Labels& labels) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : labels) j[k] = v;
  return j.dump();
}

Labels decode_labels(std::string_view text) {
  const auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) throw StoreError("corrupt state database: labels are not a JSON object");
  Labels out;
  for (const auto& [k, v] : j.items()) {
    if (!v.is_string()) throw StoreError("corrupt state database: label " + k + " is not a string");
    out.emplace(k, v.get<std::string>());
  }
  return out;
}

config::Protocol decode_protocol(std::string_view s) {
  if (auto p = config::parse_protocol(s)) return *p;
  throw StoreError("corrupt state database: protocol \"" + std::string(s) + "\"");
}

config::PortType decode_port_type(std::string_view s) {
  if (auto t = config::parse_port_type(s)) return *t;
  throw StoreError("corrupt state database: port type \"" + std::string(s) + "\"");
}

SandboxState decode_sandbox_state(std::string_view s) {
  if (auto st = parse_sandbox_state(s)) return *st;
  throw StoreError("corrupt state database: sandbox state \"" + std::string(s) + "\"");
}

std::uint16_t decode_port(std::int64_t v) {
  if (v < 0 || v > 65535) throw StoreError("corrupt state database: port " + std::to_string(v));
  return static_cast<std::uint16_t>(v);
}

}  // namespace portway::store::sqlite
