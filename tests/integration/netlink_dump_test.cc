// RouteSocket::dump while another thread changes what is being dumped: the kernel flags the
// dump as interrupted (NLM_F_DUMP_INTR), and the dump is started again instead of failing
// with EINTR the way libmnl's own loop does (netlink/answers.h). 1,500 addresses make each
// dump take several reads; the other thread adds and deletes one more all the while.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "loader/unique_fd.h"
#include "netlink/links.h"
#include "netlink/netlink_socket.h"
#include "support/netns.h"
#include "support/root.h"

namespace portway::netlink {
namespace {

using namespace std::chrono_literals;

// 198.18.<n / 250 + 100>.<n % 250 + 1>
net::Ipv4 address(int n) { return net::Ipv4{(198u << 24) | (18u << 16) | ((100u + n / 250) << 8) | (n % 250u + 1)}; }

void change_address(RouteSocket& sock, std::uint16_t type, unsigned ifindex, net::Ipv4 a) {
  sock.request(type, type == RTM_NEWADDR ? NLM_F_CREATE | NLM_F_EXCL : 0, "address change", [&](nlmsghdr* nlh) {
    auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
    ifa->ifa_family = AF_INET;
    ifa->ifa_prefixlen = 32;
    ifa->ifa_index = ifindex;
    mnl_attr_put_u32(nlh, IFA_LOCAL, htonl(a.value));
    mnl_attr_put_u32(nlh, IFA_ADDRESS, htonl(a.value));
  });
}

TEST(RouteSocketDump, ADumpInterruptedByAnAddressChangeIsStartedAgain) {
  PORTWAY_REQUIRE_ROOT();
  test::ScopedNetns netns;
  create_veth("pwdump0", "pwdump1");
  constexpr int kStable = 1500;
  const unsigned ifindex = ifindex_of("pwdump0");
  {
    RouteSocket sock;
    for (int n = 0; n < kStable; ++n) change_address(sock, RTM_NEWADDR, ifindex, address(n));
  }
  const loader::UniqueFd here(open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(here) << "open /proc/thread-self/ns/net";

  std::atomic<bool> stop{false};
  std::atomic<long> changes{0};
  std::thread churn([&] {
    // The changing thread joins the test's namespace; it ends with the test (bounded too).
    if (setns(here.get(), CLONE_NEWNET) != 0) return;
    RouteSocket sock;
    const unsigned other = ifindex_of("pwdump1");
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!stop && std::chrono::steady_clock::now() < deadline) {
      change_address(sock, RTM_NEWADDR, other, address(kStable));
      change_address(sock, RTM_DELADDR, other, address(kStable));
      changes += 2;
    }
  });

  RouteSocket reader;
  int dumps = 0;
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while (reader.interrupted_dumps() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::size_t seen = 0;
    ASSERT_NO_THROW(reader.dump(
        RTM_GETADDR,
        [](nlmsghdr* nlh) {
          static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)))->ifa_family = AF_INET;
        },
        [&](const nlmsghdr* m) { seen += m->nlmsg_type == RTM_NEWADDR; }))
        << "dump " << dumps;
    ++dumps;
    // The stable addresses, the loopback's none (it is down), and at most the changing one.
    EXPECT_GE(seen, static_cast<std::size_t>(kStable)) << "dump " << dumps;
  }
  stop = true;
  churn.join();
  EXPECT_GT(changes.load(), 0) << "the changing thread did not run";
  // Without a single interrupted dump the test would show nothing.
  EXPECT_GT(reader.interrupted_dumps(), 0u) << dumps << " dumps, " << changes.load() << " changes meanwhile";
}

}  // namespace
}  // namespace portway::netlink
