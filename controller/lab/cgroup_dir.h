// A cgroup v2 directory owned by the lab or a test: where the fast path's socket hooks are
// attached, so that they act on the lab's "node" processes only, never on the host's (the node
// setting `cgroup`). Probes "from the node" run in a child process placed in it.
#pragma once

#include <functional>
#include <string>

#include "lab/probe_client.h"

namespace portway::lab {

// <cgroup v2 mount>/portway-<name>, or "" when no cgroup v2 hierarchy is mounted.
std::string cgroup_path_for(const std::string& name);

class CgroupDir {
 public:
  // Creates the directory (an existing one is reused: a crashed run's leftover).
  explicit CgroupDir(std::string path);
  CgroupDir(CgroupDir&& other) noexcept;
  CgroupDir& operator=(CgroupDir&&) = delete;
  CgroupDir(const CgroupDir&) = delete;
  CgroupDir& operator=(const CgroupDir&) = delete;
  ~CgroupDir();  // removes it (remove_cgroup_dir)

  const std::string& path() const { return path_; }
  // Gives up ownership: the directory stays (the lab keeps it between `up` and `down`).
  std::string release();

 private:
  std::string path_;
};

// Kills what still runs in it (only probe children ever do), then removes it. False when it
// could not be removed; absent is fine.
bool remove_cgroup_dir(const std::string& path);

// Runs a probe in a forked child that joins `cgroup` first; the result comes back through a
// pipe. The probe functions enter their namespace themselves.
ProbeResult probe_in_cgroup(const std::string& cgroup, const std::function<ProbeResult()>& probe);

}  // namespace portway::lab
