#include "support/frame_replay.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "frame_replay.skel.h"
#include "loader/error.h"
#include "loader/skeleton.h"

namespace portway::test {

// Named, not in an anonymous namespace: FrameReplay::Loaded, a type with linkage, holds it.
PORTWAY_SKELETON_TRAITS(FrameReplayTraits, frame_replay);

struct FrameReplay::Loaded {
  loader::Skeleton<FrameReplayTraits> skel;
};

FrameReplay::FrameReplay(std::span<const std::uint8_t> frame) {
  if (frame.size() < 8) {
    throw std::invalid_argument("frame replay: a frame of at least 8 bytes is needed");
  }
  bytes_ = std::min(frame.size(), kMaxBytes);
  auto skel = loader::Skeleton<FrameReplayTraits>::open_and_load([&](frame_replay& s) {
    static_assert(sizeof(s.rodata->replay_head) == kMaxBytes);
    std::memcpy(s.rodata->replay_head, frame.data(), bytes_);
    s.rodata->replay_len = static_cast<std::uint32_t>(bytes_);
  });
  loaded_ = std::make_unique<Loaded>(Loaded{std::move(skel)});
}

FrameReplay::~FrameReplay() = default;

void FrameReplay::aim(int prog_fd) {
  const std::uint32_t slot = 0;
  if (bpf_map_update_elem(bpf_map__fd(loaded_->skel->maps.replay_target), &slot, &prog_fd, BPF_ANY) != 0) {
    throw loader::Error("frame replay: set the program to replay into", errno);
  }
}

int FrameReplay::fd() const { return bpf_program__fd(loaded_->skel->progs.frame_replay); }

}  // namespace portway::test
