// One client frame, replayed on every repeat of a BPF_PROG_TEST_RUN (bpf/frame_replay.bpf.c):
// with `repeat` = N, the program under measurement sees the same packet N times, instead of
// its own previous output. bench_xdp times one established connection with it.
//
//   FrameReplay replay(frame);        // the frame's first bytes() bytes are restored
//   replay.aim(lb.xdp_fd());          // "xdp.frags" programs only (a prog array's kind)
//   test_run(replay.fd(), frame, {.repeat = 200});
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace portway::test {

class FrameReplay {
 public:
  // Restores the first min(frame size, kMaxBytes) bytes of `frame`: the headers of any TCP or
  // UDP frame without options. Throws std::invalid_argument for a frame shorter than 8 bytes,
  // and loader::Error when the object does not load.
  explicit FrameReplay(std::span<const std::uint8_t> frame);
  ~FrameReplay();
  FrameReplay(const FrameReplay&) = delete;
  FrameReplay& operator=(const FrameReplay&) = delete;

  static constexpr std::size_t kMaxBytes = 80;  // PW_REPLAY_MAX

  // The program the replay tail-calls after each restore.
  void aim(int prog_fd);
  [[nodiscard]] int fd() const;
  [[nodiscard]] std::size_t bytes() const { return bytes_; }

 private:
  struct Loaded;
  std::unique_ptr<Loaded> loaded_;
  std::size_t bytes_ = 0;
};

}  // namespace portway::test
