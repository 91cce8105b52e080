// Finding BPF objects that lost their pin: the kernel still holds them (a link keeps its
// program, a program keeps its maps), reachable by id. That is how portway re-pins what an operator
// or a script deleted from the pin folder without reloading anything (docs/operations.md
// "Repairs").
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "loader/unique_fd.h"

namespace portway::loader {

struct OwnedMap {
  std::string name;  // as the kernel keeps it: at most 15 characters (BPF_OBJ_NAME_LEN - 1)
  UniqueFd fd;
};

// The maps a program uses (bpf_prog_info.map_ids), opened by id. Throws loader::Error.
std::vector<OwnedMap> maps_of_program(int prog_fd);

// The program a link runs, opened by id; invalid when the link has none (defunct).
UniqueFd program_of_link(int link_fd);

struct LinkFacts {
  std::uint32_t type = 0;       // BPF_LINK_TYPE_*
  std::uint32_t prog_id = 0;
  std::string prog_name;        // at most 15 characters
  std::uint32_t ifindex = 0;    // XDP links
  std::uint64_t cgroup_id = 0;  // cgroup links
  std::uint32_t attach_type = 0;
};

// Every link in the kernel (bpf_link_get_next_id) for which `wanted` is true, opened. Links
// that go away while walking are skipped.
std::vector<UniqueFd> find_links(const std::function<bool(const LinkFacts&)>& wanted);

// The kernel-wide id of a link (bpf_link_info.id); 0 when the fd is no link.
std::uint32_t link_id(int link_fd);

// A kernel object name is the first 15 characters of the name the object file gave it.
bool kernel_name_matches(const std::string& kernel_name, const std::string& full_name);

}  // namespace portway::loader
