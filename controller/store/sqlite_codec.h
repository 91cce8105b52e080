// Column encodings shared by the SQLite store: addresses as network-order BLOBs, labels as
// JSON objects, enums as their spec words. Decoding is strict: a value the schema's CHECKs
// should have kept out means the file was edited by hand or is corrupt.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/app_model.h"
#include "net/ip_prefix.h"
#include "store/records.h"

namespace portway::store::sqlite {

std::array<std::uint8_t, 4> encode(net::Ipv4 a);
const std::array<std::uint8_t, 16>& encode(const net::Ipv6& a);
net::Ipv4 decode_ipv4(const std::vector<std::uint8_t>& blob);
net::Ipv6 decode_ipv6(const std::vector<std::uint8_t>& blob);

std::string encode_labels(const Labels& labels);
Labels decode_labels(std::string_view json);

config::Protocol decode_protocol(std::string_view s);
config::PortType decode_port_type(std::string_view s);
SandboxState decode_sandbox_state(std::string_view s);
std::uint16_t decode_port(std::int64_t v);

}  // namespace portway::store::sqlite
