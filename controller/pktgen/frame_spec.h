// What `portway pktgen send` puts on the wire (docs/performance.md "Packet rig"): one frame
// layout, many flows. to_config() checks it and turns it into the generator program's rodata.
#pragma once

#include <array>
#include <cstdint>
#include <variant>
#include <vector>

#include "net/ip_prefix.h"
#include "portway/pktgen_abi.h"

namespace portway::pktgen {

enum class L4 : std::uint8_t { udp, tcp_syn, tcp_ack };

using Mac = std::array<std::uint8_t, 6>;
using Address = std::variant<net::Ipv4, net::Ipv6>;

struct FrameSpec {
  L4 l4 = L4::udp;
  Mac src_mac{};
  Mac dst_mac{};
  Address src = net::Ipv4{0xC6120002u};  // 198.18.0.2; its family is the frames' family
  std::uint32_t src_count = 1;           // source addresses src, src+1, ... (last 32 bits)
  std::uint16_t src_port = 1024;
  std::uint32_t src_port_count = 1024;   // source ports src_port .. src_port+count-1
  Address dst = net::Ipv4{0xC6130001u};  // 198.19.0.1
  std::uint16_t dst_port = 9000;
  std::uint16_t frame_size = 64;         // Ethernet frame without FCS
  std::uint32_t flows = 0;               // 0: every (address, port) pair; else the first N
  bool new_flow_per_frame = false;       // a 5-tuple not used before on every frame
  bool stamp = true;                     // the send timestamp for the sink's latency
};

// Header bytes of the frames (Ethernet + IP + UDP/TCP): the smallest frame_size; with
// stamp, frames shorter than this + 16 carry no timestamp.
std::uint16_t header_size(const FrameSpec& spec);

// The flows the spec cycles over (src_count * src_port_count, or `flows` when set).
std::uint64_t flow_space(const FrameSpec& spec);

// The generator's rodata. Throws
// std::invalid_argument naming the bad setting (families differ, ports past 65535, frame
// too short or over 3520 bytes, flows beyond the space, address range past the family's end).
portway_pktgen_config to_config(const FrameSpec& spec);

// The buffer BPF_PROG_RUN starts every frame from: frame_size zero bytes. The program writes
// every header and the stamp; the rest stays zero (pktgen.bpf.c says why that matters).
std::vector<std::uint8_t> initial_frame(const FrameSpec& spec);

}  // namespace portway::pktgen
