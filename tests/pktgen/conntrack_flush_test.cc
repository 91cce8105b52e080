// The rig's conntrack flush (bench/rig/conntrack_flush.h): in a namespace of the test's own,
// with a rule that makes conntrack track local UDP, datagrams of both families leave entries;
// the flush removes all of them. Without the flush the rig's nftables established figures are
// measured against the table the all-new variant filled.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "dataplane/nft/nft_context.h"
#include "net/ip_prefix.h"
#include "netlink/links.h"
#include "rig/conntrack_flush.h"
#include "support/netns.h"
#include "support/root.h"

namespace portway::test {
namespace {

// One datagram from each of `sources` ports to addr:9 (nothing listens; the entry is made on
// the way out).
void send_udp(int family, const void* addr, int sources) {
  for (int i = 0; i < sources; ++i) {
    const int fd = socket(family, SOCK_DGRAM, 0);
    ASSERT_GE(fd, 0);
    const char byte = 'x';
    ssize_t sent = -1;
    if (family == AF_INET) {
      sockaddr_in to{};
      to.sin_family = AF_INET;
      to.sin_port = htons(9);
      std::memcpy(&to.sin_addr, addr, 4);
      sent = sendto(fd, &byte, 1, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
    } else {
      sockaddr_in6 to{};
      to.sin6_family = AF_INET6;
      to.sin6_port = htons(9);
      std::memcpy(&to.sin6_addr, addr, 16);
      sent = sendto(fd, &byte, 1, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
    }
    close(fd);
    ASSERT_EQ(sent, 1) << "family " << family;
  }
}

TEST(RigConntrackFlush, EmptiesBothFamiliesOfTheNamespacesTable) {
  PORTWAY_REQUIRE_ROOT();
  const ScopedNetns ns;
  netlink::set_link_up("lo");
  const net::Ipv4 v4{0xC6120001u};  // 198.18.0.1
  const auto v6 = net::parse_ipv6("2001:2::1");
  ASSERT_TRUE(v6);
  netlink::add_address("lo", v4, 32);
  netlink::add_address("lo", *v6, 128);
  // Conntrack tracks a namespace's packets once a rule there needs it.
  dataplane::nft::NftContext().run(
      "add table inet pwct\n"
      "add chain inet pwct out { type filter hook output priority 0; }\n"
      "add rule inet pwct out ct state new counter\n");
  EXPECT_EQ(rig::conntrack_entries(), 0u);
  EXPECT_GT(rig::conntrack_max(), 0u);

  const std::uint32_t be4 = htonl(v4.value);
  send_udp(AF_INET, &be4, 3);
  send_udp(AF_INET6, v6->bytes.data(), 2);
  ASSERT_EQ(rig::conntrack_entries(), 5u) << "three IPv4 and two IPv6 entries";

  rig::flush_conntrack();
  EXPECT_EQ(rig::conntrack_entries(), 0u);
  rig::flush_conntrack();  // an empty table flushes too
  EXPECT_EQ(rig::conntrack_entries(), 0u);
}

}  // namespace
}  // namespace portway::test
