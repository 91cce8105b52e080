// What `--version` says about the fast path installed on this node (docs/cli.md "--version"):
// each program pinned under <bpffs_dir>/progs with the kernel's id and tag (the figures
// `bpftool prog show` prints), and whether the installed BPF object is the one built into
// this binary. It only reads, and never throws: what cannot be read is said in its line.
#pragma once

#include <string>
#include <vector>

namespace portway::cli {

std::vector<std::string> describe_installed_programs(const std::string& bpffs_dir);

}  // namespace portway::cli
