#include "loader/sock_maps.h"

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <cerrno>
#include <string>

#include "loader/error.h"
#include "loader/lb_map_ops.h"
#include "loader/map_info.h"

namespace portway::loader {
namespace {

void expect_map(int fd, const char* name, std::uint32_t type, std::size_t key, std::size_t value) {
  const std::string step = std::string{"socket-hook map "} + name;
  if (fd < 0) throw Error(step, EBADF, "no fd");
  const MapInfo info = map_info(fd);
  if (info.type != type || info.key_size != key || info.value_size != value)
    throw Error(step, EINVAL, "type or key/value sizes differ from lb_abi.h");
}

}  // namespace

SockMaps::SockMaps(const SockMapFds& fds) : fds_(fds) {
  expect_map(fds.config, "pw_sock_config", BPF_MAP_TYPE_ARRAY, sizeof(std::uint32_t),
             sizeof(pw_sock_config));
  expect_map(fds.reverse, "pw_sock_reverse", BPF_MAP_TYPE_LRU_HASH, sizeof(pw_sock_reverse_key),
             sizeof(pw_sock_reverse));
  if (fds.reverse6 >= 0)
    expect_map(fds.reverse6, "pw_sock_reverse6", BPF_MAP_TYPE_LRU_HASH, sizeof(pw_sock_reverse6_key),
               sizeof(pw_sock_reverse6));
}

void SockMaps::set_netns_cookie(std::uint64_t cookie) {
  const std::uint32_t zero = 0;
  const pw_sock_config cfg{cookie};
  check(bpf_map_update_elem(fds_.config, &zero, &cfg, BPF_ANY), "set the socket hooks' netns");
}

std::uint64_t SockMaps::netns_cookie() const {
  const std::uint32_t zero = 0;
  pw_sock_config cfg{};
  check(bpf_map_lookup_elem(fds_.config, &zero, &cfg), "read the socket hooks' netns");
  return cfg.netns_cookie;
}

bool SockMaps::translated(std::uint64_t cookie, std::uint32_t backend_addr,
                          std::uint16_t backend_port) const {
  pw_sock_reverse_key key{};
  key.cookie = cookie;
  key.backend_addr = backend_addr;
  key.backend_port = backend_port;
  pw_sock_reverse value{};
  return bpf_map_lookup_elem(fds_.reverse, &key, &value) == 0;
}

std::set<std::uint32_t> SockMaps::translated_backends() const {
  std::set<std::uint32_t> out;
  map_ops::for_each_key<pw_sock_reverse_key>(fds_.reverse, "list socket reverse entries",
                                             [&](const pw_sock_reverse_key& k) { out.insert(k.backend_addr); });
  return out;
}

std::set<std::array<std::uint32_t, 4>> SockMaps::translated_backends6() const {
  std::set<std::array<std::uint32_t, 4>> out;
  if (fds_.reverse6 < 0) return out;
  map_ops::for_each_key<pw_sock_reverse6_key>(
      fds_.reverse6, "list IPv6 socket reverse entries", [&](const pw_sock_reverse6_key& k) {
        out.insert({k.backend_addr.w[0], k.backend_addr.w[1], k.backend_addr.w[2], k.backend_addr.w[3]});
      });
  return out;
}

std::size_t SockMaps::reverse_count() const {
  return map_ops::count_keys<pw_sock_reverse_key>(fds_.reverse, "count socket reverse entries");
}

std::size_t SockMaps::reverse6_count() const {
  return fds_.reverse6 < 0 ? 0 : map_ops::count_keys<pw_sock_reverse6_key>(fds_.reverse6, "count IPv6 socket reverse entries");
}

bool SockMaps::translated6(std::uint64_t cookie, const pw_in6& backend_addr,
                           std::uint16_t backend_port) const {
  if (fds_.reverse6 < 0) return false;
  pw_sock_reverse6_key key{};
  key.cookie = cookie;
  key.backend_addr = backend_addr;
  key.backend_port = backend_port;
  pw_sock_reverse6 value{};
  return bpf_map_lookup_elem(fds_.reverse6, &key, &value) == 0;
}

}  // namespace portway::loader
