// The engines of `portway pktgen send` a test can send with here: the packet-socket engine on
// every kernel, the live-frames engine only where the kernel runs BPF_PROG_RUN with live frames
// (loader/xdp_features.h). A test of the live-frames engine on a kernel that refuses them
// skips with that reason, also under CI=true, since no privilege or setup of the test's could
// make it run; PktgenCli.LiveFramesSayWhenTheKernelRefusesThem checks what such a kernel gets
// instead.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "loader/xdp_features.h"
#include "pktgen/generator.h"

#define PORTWAY_REQUIRE_ENGINE(engine)                                                              \
  do {                                                                                             \
    if ((engine) == ::portway::pktgen::Engine::live_frames &&                                      \
        !::portway::loader::xdp_live_frames_supported()) {                                         \
      GTEST_SKIP() << "this kernel refuses BPF_PROG_RUN with live frames "                         \
                      "(BPF_F_TEST_XDP_LIVE_FRAMES): the live-frames engine cannot send here "     \
                      "(loader/xdp_features.h); the packet-socket cases run instead";             \
    }                                                                                              \
  } while (false)

namespace portway::test {

inline const auto kEngines = ::testing::Values(pktgen::Engine::live_frames, pktgen::Engine::packet_socket);

// For test names: LiveFrames, PacketSocket.
inline std::string engine_test_name(pktgen::Engine e) {
  return e == pktgen::Engine::live_frames ? "LiveFrames" : "PacketSocket";
}

}  // namespace portway::test
