#include "dataplane/xdp/pin_repair.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <filesystem>
#include <map>
#include <set>

#include "loader/kernel_objects.h"
#include "loader/lb_skeleton.h"
#include "loader/map_info.h"
#include "loader/xdp_link.h"

namespace portway::dataplane::xdp {
namespace {

constexpr const char* kUplinkProgram = "pw_xdp_uplink";

std::uint32_t xdp_prog_id(unsigned ifindex) {
  bpf_xdp_query_opts q{};
  q.sz = sizeof q;
  if (bpf_xdp_query(static_cast<int>(ifindex), 0, &q) != 0) return 0;
  return q.prog_id;
}

// Every program the fast path has running or pinned.
std::vector<loader::UniqueFd> programs_of(const PinLayout& pins, const std::vector<unsigned>& uplinks) {
  std::vector<loader::UniqueFd> progs;
  std::error_code ec;
  for (const auto& dir : {pins.progs(), pins.links()}) {
    if (!std::filesystem::is_directory(dir, ec)) continue;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
      loader::UniqueFd fd = loader::open_pinned(entry.path().string());
      if (!fd) continue;
      if (dir == pins.links()) fd = loader::program_of_link(fd.get());
      if (fd) progs.push_back(std::move(fd));
    }
  }
  for (const unsigned ifindex : uplinks)
    if (const std::uint32_t id = xdp_prog_id(ifindex))
      if (loader::UniqueFd fd{bpf_prog_get_fd_by_id(id)}) progs.push_back(std::move(fd));
  return progs;
}

// The kernel keeps 15 characters of a map's name, so pw_service_addrs and pw_service_addrs6
// (pw_sock_reverse and pw_sock_reverse6) read the same there: a running map is taken for a
// name only when its type, key and value size are the ones the object declares for it.
struct Declared {
  std::uint32_t type, key, value;
};
std::map<std::string, Declared> declared_shapes(const std::set<std::string>& names) {
  std::map<std::string, Declared> out;
  auto skel = loader::LbSkeleton::open();
  for (const auto& name : names)
    if (const bpf_map* m = bpf_object__find_map_by_name(skel->obj, name.c_str()))
      out[name] = {static_cast<std::uint32_t>(bpf_map__type(m)), bpf_map__key_size(m), bpf_map__value_size(m)};
  return out;
}

bool has_shape(int map_fd, const std::map<std::string, Declared>& declared, const std::string& name) {
  const auto it = declared.find(name);
  if (it == declared.end()) return true;
  const loader::MapInfo info = loader::map_info(map_fd);
  return info.type == it->second.type && info.key_size == it->second.key && info.value_size == it->second.value;
}

}  // namespace

std::vector<std::string> repin_missing_maps(const PinLayout& pins, const std::vector<std::string>& names,
                                            const std::vector<unsigned>& uplink_ifindexes) {
  std::set<std::string> missing;
  std::error_code ec;
  for (const auto& name : names)
    if (!std::filesystem::exists(pins.map(name), ec)) missing.insert(name);
  std::vector<std::string> notes;
  if (missing.empty() || !std::filesystem::is_directory(pins.dir, ec)) return notes;
  const std::map<std::string, Declared> declared = declared_shapes(missing);
  for (const auto& prog : programs_of(pins, uplink_ifindexes)) {
    for (const auto& map : loader::maps_of_program(prog.get())) {
      for (auto it = missing.begin(); it != missing.end(); ++it) {
        if (!loader::kernel_name_matches(map.name, *it) || !has_shape(map.fd.get(), declared, *it)) continue;
        std::filesystem::create_directories(pins.maps(), ec);
        loader::pin_object(map.fd.get(), pins.map(*it));
        notes.push_back("repaired: re-pinned the map " + *it + " from the running programs (its pin was missing)");
        missing.erase(it);
        break;
      }
    }
    if (missing.empty()) break;
  }
  return notes;
}

bool adopt_xdp_link(const std::string& pin, unsigned ifindex) {
  const std::uint32_t running = xdp_prog_id(ifindex);
  if (running == 0) return false;
  // Link ifindexes are per network namespace: the program running on this namespace's
  // interface must be the link's.
  auto found = loader::find_links([&](const loader::LinkFacts& l) {
    return l.type == BPF_LINK_TYPE_XDP && l.ifindex == ifindex && l.prog_id == running &&
           loader::kernel_name_matches(l.prog_name, kUplinkProgram);
  });
  if (found.size() != 1) return false;
  loader::pin_object(found.front().get(), pin);
  return true;
}

bool adopt_cgroup_link(const std::string& pin, std::uint64_t cgroup_id, std::uint32_t attach_type,
                       const std::string& program) {
  auto found = loader::find_links([&](const loader::LinkFacts& l) {
    return l.type == BPF_LINK_TYPE_CGROUP && l.cgroup_id == cgroup_id && l.attach_type == attach_type &&
           loader::kernel_name_matches(l.prog_name, program);
  });
  // Several: another instance's hooks may be among them; none is known to be ours.
  if (found.size() != 1) return false;
  loader::pin_object(found.front().get(), pin);
  return true;
}

}  // namespace portway::dataplane::xdp
