#include "pktgen/frame_spec.h"

#include <cstring>
#include <stdexcept>
#include <string>

namespace portway::pktgen {
namespace {

// Above this BPF_PROG_RUN hands the program a linear head plus fragments (loader's
// prog_test_run.h), and the generator writes only linear data.
constexpr std::uint16_t kMaxFrameSize = 3520;

bool is_v6(const Address& a) { return std::holds_alternative<net::Ipv6>(a); }

std::uint32_t last32(const Address& a) {
  if (const auto* v4 = std::get_if<net::Ipv4>(&a)) return v4->value;
  const auto& b = std::get<net::Ipv6>(a).bytes;
  return std::uint32_t{b[12]} << 24 | std::uint32_t{b[13]} << 16 | std::uint32_t{b[14]} << 8 | b[15];
}

void put_address(const Address& a, std::uint8_t* out) {
  if (const auto* v4 = std::get_if<net::Ipv4>(&a)) {
    const std::uint32_t v = v4->value;
    const std::uint8_t be[4] = {static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16),
                                static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
    std::memcpy(out, be, 4);
    return;
  }
  std::memcpy(out, std::get<net::Ipv6>(a).bytes.data(), 16);
}

}  // namespace

std::uint16_t header_size(const FrameSpec& spec) {
  const int l3 = is_v6(spec.src) ? 40 : 20;
  const int l4 = spec.l4 == L4::udp ? 8 : 20;
  return static_cast<std::uint16_t>(14 + l3 + l4);
}

std::uint64_t flow_space(const FrameSpec& spec) {
  const std::uint64_t all = std::uint64_t{spec.src_count} * spec.src_port_count;
  return spec.flows != 0 ? spec.flows : all;
}

portway_pktgen_config to_config(const FrameSpec& spec) {
  if (is_v6(spec.src) != is_v6(spec.dst))
    throw std::invalid_argument("source and destination addresses are of different families");
  if (spec.src_count == 0) throw std::invalid_argument("the source address count must be at least 1");
  if (spec.src_port_count == 0 || spec.src_port_count > 65535 || spec.src_port + std::uint64_t{spec.src_port_count} - 1 > 65535)
    throw std::invalid_argument("source ports " + std::to_string(spec.src_port) + " + " +
                                std::to_string(spec.src_port_count) + " go past 65535");
  if (std::uint64_t{last32(spec.src)} + spec.src_count - 1 > 0xffffffffu)
    throw std::invalid_argument("the source address range wraps around the address's last 32 bits");
  if (spec.frame_size < header_size(spec) || spec.frame_size > kMaxFrameSize)
    throw std::invalid_argument("frame size " + std::to_string(spec.frame_size) + " is outside " +
                                std::to_string(header_size(spec)) + ".." + std::to_string(kMaxFrameSize) +
                                " for these headers");
  const std::uint64_t all = std::uint64_t{spec.src_count} * spec.src_port_count;
  if (spec.flows > all)
    throw std::invalid_argument(std::to_string(spec.flows) + " flows need more than the " + std::to_string(all) +
                                " (address, port) pairs of the source ranges");
  if (all > 0xffffffffu && spec.flows == 0)
    throw std::invalid_argument("the source ranges hold more than 2^32 flows; give a flow count");

  portway_pktgen_config c{};
  std::memcpy(c.dst_mac, spec.dst_mac.data(), 6);
  std::memcpy(c.src_mac, spec.src_mac.data(), 6);
  c.family = is_v6(spec.src) ? 6 : 4;
  c.l4 = spec.l4 == L4::udp ? PORTWAY_PKTGEN_UDP
         : spec.l4 == L4::tcp_syn ? PORTWAY_PKTGEN_TCP_SYN
                                  : PORTWAY_PKTGEN_TCP_ACK;
  c.new_flow_per_frame = spec.new_flow_per_frame ? 1 : 0;
  c.stamp = spec.stamp ? 1 : 0;
  c.frame_len = spec.frame_size;
  c.dst_port = spec.dst_port;
  c.src_port_min = spec.src_port;
  c.src_port_count = static_cast<std::uint16_t>(spec.src_port_count);
  c.src_addr_count = spec.src_count;
  c.flows = static_cast<std::uint32_t>(flow_space(spec));
  put_address(spec.src, c.src_addr);
  put_address(spec.dst, c.dst_addr);
  return c;
}

std::vector<std::uint8_t> initial_frame(const FrameSpec& spec) {
  return std::vector<std::uint8_t>(spec.frame_size, 0);
}

}  // namespace portway::pktgen
