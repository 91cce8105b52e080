#include "loader/kernel_objects.h"

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <cerrno>

#include "loader/error.h"

namespace portway::loader {
namespace {

bool prog_name_of(std::uint32_t prog_id, std::string& name) {
  UniqueFd prog(bpf_prog_get_fd_by_id(prog_id));
  if (!prog) return false;
  bpf_prog_info info{};
  std::uint32_t len = sizeof info;
  if (bpf_obj_get_info_by_fd(prog.get(), &info, &len) != 0) return false;
  name = info.name;
  return true;
}

}  // namespace

bool kernel_name_matches(const std::string& kernel_name, const std::string& full_name) {
  return kernel_name == full_name.substr(0, BPF_OBJ_NAME_LEN - 1);
}

std::vector<OwnedMap> maps_of_program(int prog_fd) {
  bpf_prog_info info{};
  std::uint32_t len = sizeof info;
  check(bpf_obj_get_info_by_fd(prog_fd, &info, &len), "program info");
  std::vector<std::uint32_t> ids(info.nr_map_ids);
  if (!ids.empty()) {
    bpf_prog_info again{};
    again.nr_map_ids = static_cast<std::uint32_t>(ids.size());
    again.map_ids = reinterpret_cast<std::uintptr_t>(ids.data());
    len = sizeof again;
    check(bpf_obj_get_info_by_fd(prog_fd, &again, &len), "program map ids");
    ids.resize(std::min<std::size_t>(ids.size(), again.nr_map_ids));
  }
  std::vector<OwnedMap> out;
  for (const std::uint32_t id : ids) {
    UniqueFd fd(bpf_map_get_fd_by_id(id));
    if (!fd) throw Error("open map by id", errno, std::to_string(id));
    bpf_map_info m{};
    std::uint32_t mlen = sizeof m;
    check(bpf_obj_get_info_by_fd(fd.get(), &m, &mlen), "map info");
    out.push_back({m.name, std::move(fd)});
  }
  return out;
}

UniqueFd program_of_link(int link_fd) {
  bpf_link_info info{};
  std::uint32_t len = sizeof info;
  if (bpf_obj_get_info_by_fd(link_fd, &info, &len) != 0 || info.prog_id == 0) return UniqueFd{};
  return UniqueFd(bpf_prog_get_fd_by_id(info.prog_id));
}

std::vector<UniqueFd> find_links(const std::function<bool(const LinkFacts&)>& wanted) {
  std::vector<UniqueFd> out;
  std::uint32_t id = 0;
  while (bpf_link_get_next_id(id, &id) == 0) {
    UniqueFd link(bpf_link_get_fd_by_id(id));
    if (!link) continue;
    bpf_link_info info{};
    std::uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(link.get(), &info, &len) != 0) continue;
    LinkFacts facts;
    facts.type = info.type;
    facts.prog_id = info.prog_id;
    if (info.type == BPF_LINK_TYPE_XDP) facts.ifindex = info.xdp.ifindex;
    if (info.type == BPF_LINK_TYPE_CGROUP) {
      facts.cgroup_id = info.cgroup.cgroup_id;
      facts.attach_type = info.cgroup.attach_type;
    }
    if (!prog_name_of(info.prog_id, facts.prog_name)) continue;
    if (wanted(facts)) out.push_back(std::move(link));
  }
  return out;
}

}  // namespace portway::loader
