#include "loader/sock_maps.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <gtest/gtest.h>

#include "loader/lb_skeleton.h"
#include "loader/libbpf_log.h"
#include "support/root.h"

namespace portway::loader {
namespace {

// translated_backends() lists every backend some socket was translated to, once each: what
// lets a member removal skip the socket dumps when no node socket uses that member.
TEST(SockMapsTest, TranslatedBackendsListsEachBackendOfTheReverseEntriesOnce) {
  PORTWAY_REQUIRE_ROOT();
  route_libbpf_logs_to_spdlog();
  auto skel = open_and_load_lb({.frontends = 16,
                                .service_addrs = 16,
                                .node_addrs = 4,
                                .backends = 16,
                                .backend_sets = 4,
                                .maglev_slots = 1024,
                                .flows = 64,
                                .fragments = 16});
  const SockMaps maps({bpf_map__fd(skel->maps.pw_sock_config), bpf_map__fd(skel->maps.pw_sock_reverse)});
  EXPECT_TRUE(maps.translated_backends().empty());

  const std::uint32_t a = htonl(0xC6120102u);  // 198.18.1.2
  const std::uint32_t b = htonl(0xC6120103u);  // 198.18.1.3
  std::uint64_t cookie = 100;
  for (const std::uint32_t backend : {a, a, b}) {
    pw_sock_reverse_key key{};
    key.cookie = cookie++;
    key.backend_addr = backend;
    key.backend_port = htons(8080);
    pw_sock_reverse value{};
    value.frontend_addr = htonl(0xC6130001u);
    value.frontend_port = htons(80);
    ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel->maps.pw_sock_reverse), &key, &value, BPF_ANY), 0);
  }
  EXPECT_EQ(maps.translated_backends(), (std::set<std::uint32_t>{a, b}));
  EXPECT_EQ(maps.reverse_count(), 3u);
}

}  // namespace
}  // namespace portway::loader
