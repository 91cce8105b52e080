// The frames of bpf/pktgen.bpf.c, written in user space: what the packet-socket engine of
// `portway pktgen send` sends on kernels that refuse live frames (docs/performance.md "Packet
// rig"). The same bytes as the program for the same flow and stamp; tests/pktgen/
// frame_writer_test.cc holds the two side by side, frame by frame.
#pragma once

#include <cstdint>
#include <span>

#include "portway/pktgen_abi.h"

namespace portway::pktgen {

class FrameWriter {
 public:
  // `config` as to_config() made it (checked there).
  explicit FrameWriter(const portway_pktgen_config& config) : config_(config) {}

  [[nodiscard]] std::size_t frame_size() const { return config_.frame_len; }
  // Whether frames carry the stamp: asked for, and room after the headers.
  [[nodiscard]] bool stamped() const;

  // Every header byte of flow `flow`'s frame, and the stamp when stamped(); `frame` must be
  // frame_size() bytes. The bytes after the stamp are left as they are: zeros from the start,
  // as the program leaves them (it says why the checksum relies on that).
  void write(std::uint64_t flow, std::span<std::uint8_t> frame, std::uint32_t cpu, std::uint64_t sent_ns) const;

 private:
  portway_pktgen_config config_;
};

}  // namespace portway::pktgen
