// The lab configuration of a test process: a name prefix and a run directory of its own (the
// pid in both, so concurrent test processes never share namespaces, pins or cgroups), the
// example apps and the test app of this build, and apps that stop by themselves after 5
// minutes should the test die without taking the lab down.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "lab/lab.h"

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

// A copy of the lab's node file whose `conntrack` map size differs from the running maps'
// (what an upgrade must refuse to load), written beside it with the mode node files need.
inline std::string node_file_with_other_map_sizes(const lab::LabConfig& cfg) {
  std::ifstream in(cfg.dir + "/node.toml");
  std::stringstream text;
  text << in.rdbuf();
  std::string toml = text.str();
  const auto at = toml.find("conntrack = ");
  if (at == std::string::npos) throw std::runtime_error("the lab's node.toml has no conntrack size");
  toml.replace(at, toml.find('\n', at) - at, "conntrack = 8192");
  const std::string path = cfg.dir + "/node-bad.toml";
  {
    std::ofstream out(path);
    out << toml;
  }
  ::chmod(path.c_str(), 0600);
  return path;
}

}  // namespace portway::itest
