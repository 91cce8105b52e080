// The sink's skeleton type, shared by the tests that load it.
#pragma once

#include "loader/skeleton.h"
#include "xdp_sink.skel.h"

namespace portway::test {

PORTWAY_SKELETON_TRAITS(XdpSinkTraits, xdp_sink);
using XdpSink = loader::Skeleton<XdpSinkTraits>;

}  // namespace portway::test
