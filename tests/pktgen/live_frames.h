// Tests that send through `portway pktgen send` (BPF_PROG_RUN with live frames) need a kernel
// that runs live frames. One that refuses them (loader/xdp_features.h) cannot run these
// tests at all: they skip with that reason, also under CI=true, since no privilege or setup
// of the test's could make them run. PktgenCli.SendSaysWhenTheKernelRefusesLiveFrames checks
// what such a kernel gets instead.
#pragma once

#include <gtest/gtest.h>

#include "loader/xdp_features.h"

#define PORTWAY_REQUIRE_LIVE_FRAMES()                                                               \
  do {                                                                                             \
    if (!::portway::loader::xdp_live_frames_supported()) {                                         \
      GTEST_SKIP() << "this kernel refuses BPF_PROG_RUN with live frames "                         \
                      "(BPF_F_TEST_XDP_LIVE_FRAMES): nothing can be sent (loader/xdp_features.h)"; \
    }                                                                                              \
  } while (false)
