#include "dataplane/xdp/socket_hooks.h"

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <arpa/inet.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <filesystem>

#include "dataplane/xdp/pin_repair.h"
#include "loader/cgroup_link.h"
#include "loader/error.h"
#include "loader/prog_info.h"
#include "loader/sock_maps.h"
#include "loader/xdp_link.h"
#include "netlink/inet_sockets.h"

namespace portway::dataplane::xdp {

const std::array<SocketHook, 8> kSocketHooks{{
    {"connect4", "pw_sock_connect4", BPF_CGROUP_INET4_CONNECT},
    {"sendmsg4", "pw_sock_sendmsg4", BPF_CGROUP_UDP4_SENDMSG},
    {"recvmsg4", "pw_sock_recvmsg4", BPF_CGROUP_UDP4_RECVMSG},
    {"getpeername4", "pw_sock_getpeername4", BPF_CGROUP_INET4_GETPEERNAME},
    {"connect6", "pw_sock_connect6", BPF_CGROUP_INET6_CONNECT},
    {"sendmsg6", "pw_sock_sendmsg6", BPF_CGROUP_UDP6_SENDMSG},
    {"recvmsg6", "pw_sock_recvmsg6", BPF_CGROUP_UDP6_RECVMSG},
    {"getpeername6", "pw_sock_getpeername6", BPF_CGROUP_INET6_GETPEERNAME},
}};

std::string socket_hook_cgroup(const config::NodeSettings& settings) {
  if (!settings.cgroup.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_directory(settings.cgroup, ec))
      throw loader::Error("socket hooks", ENOENT, "cgroup " + settings.cgroup + " does not exist");
    if (!loader::is_cgroup2(settings.cgroup))
      throw loader::Error("socket hooks", ENOTDIR,
                          "the node setting cgroup = \"" + settings.cgroup +
                              "\" is not a cgroup v2 directory (it must be in the cgroup2 hierarchy, "
                              "e.g. /sys/fs/cgroup or a cgroup below it)");
    return settings.cgroup;
  }
  return loader::ensure_cgroup2();
}

void attach_socket_hooks(const PinLayout& pins, const SocketPrograms& progs,
                         const std::string& cgroup, std::vector<std::string>& notes) {
  const std::uint64_t want_cgroup = loader::cgroup_id_of(cgroup);
  for (std::size_t i = 0; i < kSocketHooks.size(); ++i) {
    const SocketHook& hook = kSocketHooks[i];
    const std::string pin = pins.cgroup_link(hook.name);
    const std::uint32_t want_prog = loader::program_info(progs[i].get()).id;
    std::error_code ec;
    if (!std::filesystem::exists(pin, ec) && adopt_cgroup_link(pin, want_cgroup, hook.attach_type, hook.program))
      notes.push_back(std::string("repaired: re-pinned the socket hook ") + hook.name + " (its pin was missing)");
    loader::UniqueFd old = loader::open_pinned(pin);
    if (old) {
      const auto info = loader::cgroup_link_info(old.get());
      if (info.cgroup_id == want_cgroup && info.attach_type == hook.attach_type) {
        if (info.prog_id != want_prog) {
          loader::update_link_program(old.get(), progs[i].get());
          notes.push_back(std::string("upgraded the socket hook ") + hook.name);
        }
        continue;
      }
    }
    // The setting moved the hooks, or the cgroup was removed (a defunct link reports id 0).
    // The new link first: if it cannot attach, the old one keeps working.
    loader::UniqueFd link = loader::attach_cgroup_link(progs[i].get(), cgroup, hook.attach_type);
    if (old) loader::unpin_and_detach(pin);
    loader::pin_object(link.get(), pin);
    notes.push_back(std::string("attached socket hook ") + hook.name + " to cgroup " + cgroup);
  }
  loader::UniqueFd config = loader::open_pinned(pins.map("pw_sock_config"));
  loader::UniqueFd reverse = loader::open_pinned(pins.map("pw_sock_reverse"));
  if (!config || !reverse) throw loader::Error("socket hooks", ENOENT, "maps not pinned under " + pins.maps());
  loader::SockMaps maps({config.get(), reverse.get()});
  const std::uint64_t cookie = loader::current_netns_cookie();
  if (maps.netns_cookie() != cookie) maps.set_netns_cookie(cookie);
}

namespace {

// The IPv6 form of a removed member: its IPv6 address, and its IPv4 address as a dual-stack
// socket sees it (::ffff:a.b.c.d, what connect6 wrote for an IPv4-mapped destination).
void add_ipv6_forms(const state::Member& m, std::set<std::array<std::uint32_t, 4>>& out) {
  if (m.ipv4) out.insert({0, 0, htonl(0xffffu), htonl(m.ipv4->value)});
  if (m.ipv6) {
    std::array<std::uint32_t, 4> a{};
    std::memcpy(a.data(), m.ipv6->bytes.data(), sizeof a);
    out.insert(a);
  }
}

}  // namespace

std::size_t end_sockets_of_removed_backends(const PinLayout& pins, const state::StateDiff& applied) {
  std::set<std::uint32_t> removed;  // network order
  std::set<std::array<std::uint32_t, 4>> removed6;
  for (const auto& set : applied.backend_sets.removed)
    for (const auto& m : set.members) {
      if (m.ipv4) removed.insert(htonl(m.ipv4->value));
      add_ipv6_forms(m, removed6);
    }
  for (const auto& change : applied.backend_sets.changed)
    for (const auto& m : change.members.removed) {
      if (m.ipv4) removed.insert(htonl(m.ipv4->value));
      add_ipv6_forms(m, removed6);
    }
  // A member that stays in another set is still a backend there: its sockets may be valid.
  for (const auto& change : applied.backend_sets.changed)
    for (const auto& m : change.after) {
      if (m.ipv4) removed.erase(htonl(m.ipv4->value));
      std::set<std::array<std::uint32_t, 4>> kept;
      add_ipv6_forms(m, kept);
      for (const auto& a : kept) removed6.erase(a);
    }
  if (removed.empty() && removed6.empty()) return 0;

  loader::UniqueFd config = loader::open_pinned(pins.map("pw_sock_config"));
  loader::UniqueFd reverse = loader::open_pinned(pins.map("pw_sock_reverse"));
  loader::UniqueFd reverse6 = loader::open_pinned(pins.map("pw_sock_reverse6"));
  if (!config || !reverse) return 0;
  const loader::SockMaps maps({config.get(), reverse.get(), reverse6 ? reverse6.get() : -1});
  // Most removals have no node socket translated to them: then no socket dump at all.
  const std::set<std::uint32_t> in_use = maps.translated_backends();
  std::erase_if(removed, [&](std::uint32_t addr) { return !in_use.contains(addr); });
  const auto in_use6 = maps.translated_backends6();
  std::erase_if(removed6, [&](const std::array<std::uint32_t, 4>& addr) { return !in_use6.contains(addr); });
  if (removed.empty() && removed6.empty()) return 0;
  std::size_t ended = 0;
  for (const std::uint8_t proto : {std::uint8_t{IPPROTO_TCP}, std::uint8_t{IPPROTO_UDP}}) {
    for (const auto& s : removed.empty() ? std::vector<netlink::InetSocket>{} : netlink::list_inet4_sockets(proto)) {
      if (!removed.count(s.daddr) || !maps.translated(s.cookie, s.daddr, s.dport)) continue;
      if (netlink::destroy_inet_socket(s)) ++ended;
    }
    if (removed6.empty() || !reverse6) continue;
    for (const auto& s : netlink::list_inet6_sockets(proto)) {
      pw_in6 addr{};
      std::memcpy(&addr, s.daddr6.data(), sizeof addr);
      if (!removed6.count(s.daddr6) || !maps.translated6(s.cookie, addr, s.dport)) continue;
      if (netlink::destroy_inet_socket(s)) ++ended;
    }
  }
  return ended;
}

std::vector<SocketHookAttachment> socket_hook_attachments(const PinLayout& pins) {
  std::vector<SocketHookAttachment> out;
  for (const SocketHook& hook : kSocketHooks) {
    loader::UniqueFd link = loader::open_pinned(pins.cgroup_link(hook.name));
    if (!link) continue;
    out.push_back({std::string("cgroup-") + hook.name, loader::cgroup_link_info(link.get()).cgroup_id});
  }
  return out;
}

}  // namespace portway::dataplane::xdp
