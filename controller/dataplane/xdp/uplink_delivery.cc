#include "dataplane/xdp/uplink_delivery.h"

#include <net/if.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "loader/error.h"
#include "loader/prog_info.h"
#include "loader/tc_filter.h"
#include "loader/unique_fd.h"
#include "netlink/links.h"

namespace portway::dataplane::xdp {

std::array<std::uint8_t, 6> interface_mac(const std::string& ifname) {
  if (ifname.size() >= IFNAMSIZ) throw loader::Error("read MAC", ENAMETOOLONG, ifname);
  loader::UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock) throw loader::Error("read MAC", errno, ifname);
  ifreq req{};
  std::memcpy(req.ifr_name, ifname.data(), ifname.size());
  if (::ioctl(sock.get(), SIOCGIFHWADDR, &req) != 0) throw loader::Error("read MAC", errno, ifname);
  if (req.ifr_hwaddr.sa_family != ARPHRD_ETHER)
    throw loader::Error("read MAC", EINVAL, ifname + " is not an Ethernet interface");
  std::array<std::uint8_t, 6> mac{};
  std::memcpy(mac.data(), req.ifr_hwaddr.sa_data, mac.size());
  return mac;
}

void prepare_uplink(loader::LbMaps& maps, MetaMaps& meta, int tc_uplink_prog,
                    const std::string& ifname, unsigned ifindex, std::vector<std::string>& notes) {
  pw_interface entry{};
  const auto mac = interface_mac(ifname);
  std::memcpy(entry.mac, mac.data(), mac.size());
  entry.flags = PW_IF_UPLINK;
  maps.set_interface(ifindex, entry);

  const int idx = static_cast<int>(ifindex);
  const std::uint32_t want = loader::program_info(tc_uplink_prog).id;
  if (loader::tc_program_id(idx, loader::TcDirection::ingress) == want) return;
  const auto owned = meta.uplink_tc_interfaces();
  const auto result = loader::attach_tc(idx, loader::TcDirection::ingress, tc_uplink_prog);
  // A re-attach finds our own qdisc: keep what the first attach learned.
  const auto it = owned.find(ifindex);
  meta.set_uplink_tc_owned(ifindex, it != owned.end() ? it->second : result.created_clsact);
  notes.push_back("attached tc ingress (XDP hand-off) to " + ifname);
}

void prepare_uplinks(loader::LbMaps& maps, MetaMaps& meta, int tc_uplink_prog,
                     const std::vector<std::string>& uplinks, std::vector<std::string>& notes) {
  std::vector<unsigned> present;
  for (const auto& name : uplinks) {
    const unsigned ifindex = netlink::ifindex_of(name);
    if (ifindex == 0) continue;
    prepare_uplink(maps, meta, tc_uplink_prog, name, ifindex, notes);
    present.push_back(ifindex);
  }
  release_uplinks(&maps, meta, present, loader::program_info(tc_uplink_prog).id, notes);
}

namespace {

// Whether the program on the interface's tc ingress is pw_tc_uplink: the loaded one (`ours`,
// known by id without any privilege), or one of an older load, told by its name, which needs
// the program looked up by id (CAP_SYS_ADMIN; without it that filter stays, docs/operations.md).
bool hand_off_attached(int ifindex, std::uint32_t ours) {
  const std::uint32_t id = loader::tc_program_id(ifindex, loader::TcDirection::ingress);
  if (id == 0) return false;
  if (id == ours) return true;
  loader::UniqueFd fd(bpf_prog_get_fd_by_id(id));
  if (!fd) return false;  // gone meanwhile
  return loader::program_info(fd.get()).name == "pw_tc_uplink";
}

}  // namespace

void release_uplinks(loader::LbMaps* maps, MetaMaps& meta, const std::vector<unsigned>& keep,
                     std::uint32_t hand_off_prog_id, std::vector<std::string>& notes,
                     CreatedQdiscs qdiscs) {
  for (const auto& [ifindex, created] : meta.uplink_tc_interfaces()) {
    if (std::find(keep.begin(), keep.end(), ifindex) != keep.end()) continue;
    const int idx = static_cast<int>(ifindex);
    char name_buf[IF_NAMESIZE] = {};
    const std::string name = ::if_indextoname(ifindex, name_buf) ? name_buf : "ifindex " + std::to_string(ifindex);
    // A former uplink that became a sandbox interface has the sandbox program in our filter's
    // place (same handle): detaching, or deleting the clsact qdisc under it, would cut that
    // sandbox off. Only the hand-off program itself is ours to remove.
    if (hand_off_attached(idx, hand_off_prog_id)) {
      loader::detach_tc(idx, loader::TcDirection::ingress, created && qdiscs == CreatedQdiscs::remove);
      notes.push_back("detached tc ingress (XDP hand-off) from " + name);
    }
    if (maps) (void)maps->erase_interface(ifindex);
    meta.erase_uplink_tc(ifindex);
  }
}

}  // namespace portway::dataplane::xdp
