// The lab configuration of a test process: a name prefix and a run directory of its own (the
// pid in both, so concurrent test processes never share namespaces, pins or cgroups), the
// example apps and the test app of this build, and apps that stop by themselves after 5
// minutes should the test die without taking the lab down.
#pragma once

#include <unistd.h>

#include <string>

#include "lab/lab.h"
#include "lab/node_file_writer.h"

namespace portway::itest {

inline lab::LabConfig lab_test_config(const std::string& prefix_stem, const std::string& dir_stem) {
  lab::LabConfig cfg;
  cfg.prefix = prefix_stem + std::to_string(getpid() % 100000);
  cfg.dir = "/run/portway-" + dir_stem + "-" + std::to_string(getpid());
  cfg.examples_dir = PORTWAY_SOURCE_DIR "/testdata/apps";
  cfg.testapp = PORTWAY_TESTAPP;
  cfg.app_lifetime_seconds = 300;
  return cfg;
}

// The lab's node settings with a `conntrack` map size other than the running maps' (what an
// upgrade must refuse to load), written beside its node file with the mode node files need.
inline std::string node_file_with_other_map_sizes(const lab::LabConfig& cfg) {
  config::NodeSettings settings = lab::lab_node_settings(cfg);
  settings.maps.conntrack = 8192;
  const std::string path = cfg.dir + "/node-bad.toml";
  lab::write_node_file(path, settings);
  return path;
}

}  // namespace portway::itest
