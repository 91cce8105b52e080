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
                      "(loader/xdp_features.h); the other engines' cases run instead";             \
    }                                                                                              \
  } while (false)

namespace portway::test {

inline const auto kEngines =
    ::testing::Values(pktgen::Engine::live_frames, pktgen::Engine::packet_socket, pktgen::Engine::xdp_loop);

// For test names: LiveFrames, PacketSocket, XdpLoop.
inline std::string engine_test_name(pktgen::Engine e) {
  return e == pktgen::Engine::live_frames ? "LiveFrames" : e == pktgen::Engine::packet_socket ? "PacketSocket" : "XdpLoop";
}

// One letter per engine, for namespace names that must differ between instances.
inline const char* engine_tag(pktgen::Engine e) {
  return e == pktgen::Engine::live_frames ? "l" : e == pktgen::Engine::packet_socket ? "s" : "x";
}

}  // namespace portway::test
